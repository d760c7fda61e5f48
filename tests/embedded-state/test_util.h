// Helpers shared by the engine tests: temporary directories, backend construction for both
// backends, and a raw RocksDB reader that counts what is physically stored.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "statewatch/state/keyed_state_backend.h"

namespace statewatch::testing {

#define ASSERT_SW_OK(expr)                       \
  do {                                           \
    const ::statewatch::Status sw_s_ = (expr);   \
    ASSERT_TRUE(sw_s_.ok()) << sw_s_.ToString(); \
  } while (0)
#define EXPECT_SW_OK(expr)                       \
  do {                                           \
    const ::statewatch::Status sw_s_ = (expr);   \
    EXPECT_TRUE(sw_s_.ok()) << sw_s_.ToString(); \
  } while (0)

// Names parameterised tests after the backend ("hashmap", "rocksdb").
inline std::string BackendParamName(const ::testing::TestParamInfo<std::string>& p) {
  return p.param;
}

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Options for `backend` ("hashmap" or "rocksdb") with a manual clock and a working directory.
BackendOptions TestOptions(const std::string& backend, const Clock* clock, const TempDir& dir);

// Creates a backend or fails the test.
std::unique_ptr<KeyedStateBackend> MakeBackend(const BackendOptions& options);

// Opens the RocksDB database in `dir` read-only (after the backend is gone or alongside it) and
// counts the keys physically stored in column family `cf`, bypassing the engine entirely.
// Returns -1 with a test failure when the database or column family cannot be read.
int64_t CountRawKeys(const std::string& dir, const std::string& cf);
// Sum of the serialized list elements stored under all keys of `cf` (raw value bytes).
std::string RawValueOfOnlyKey(const std::string& dir, const std::string& cf);

}  // namespace statewatch::testing
