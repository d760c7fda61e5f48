// Fixtures shared by the `statewatch inspect` tests (tests/agent/inspect_test.cc, the library;
// tests/integration/inspect_cli_test.cc, the binary): directory snapshots that prove nothing was
// written, files with chosen sizes and times, an engine database, and a RocksDB writer running
// in another process (this test binary re-executed: RocksDB's threads do not survive a fork).
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "embedded-state/test_util.h"
#include "storage/kill_child.h"

namespace statewatch::testing {

// Every entry under `dir` (directories included) with its size and modification time: two
// equal snapshots mean nothing was created, removed, resized or written.
inline std::map<std::string, std::pair<uint64_t, int64_t>> Snapshot(
    const std::filesystem::path& dir) {
  std::map<std::string, std::pair<uint64_t, int64_t>> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat st;
    if (::lstat(entry.path().c_str(), &st) != 0) continue;
    out[std::filesystem::relative(entry.path(), dir).string()] = {
        static_cast<uint64_t>(st.st_size),
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
  return out;
}

inline void SetMtime(const std::filesystem::path& path, double seconds) {
  struct timeval times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(seconds);
  times[0].tv_usec = times[1].tv_usec = 0;
  ASSERT_EQ(::utimes(path.c_str(), times), 0) << path;
}

inline void WriteFile(const std::filesystem::path& path, size_t bytes, double mtime_seconds) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << std::string(bytes, 'x');
  SetMtime(path, mtime_seconds);
}

// A closed engine database: "orders" with a TTL cleaned up in compaction, "seen" without one,
// 3000 keys each, flushed.
inline std::string MakeEngineDatabase(const TempDir& dir) {
  ManualClock clock(1'000'000);
  BackendOptions options = TestOptions("rocksdb", &clock, dir);
  auto backend = MakeBackend(options);
  auto* orders = *backend->GetValueState(ValueStateDescriptor<int64_t>("orders").EnableTimeToLive(
      TtlConfig::Of(std::chrono::hours(24)).CleanupInRocksdbCompactFilter()));
  auto* seen = *backend->GetValueState(ValueStateDescriptor<int64_t>("seen"));
  for (int64_t k = 0; k < 3000; ++k) {
    EXPECT_SW_OK(backend->SetCurrentKey(k));
    EXPECT_SW_OK(orders->Update(k));
    EXPECT_SW_OK(seen->Update(k));
  }
  EXPECT_SW_OK(backend->Flush());
  return options.rocksdb.local_directory;
}

inline constexpr char kWriterVariable[] = "STATEWATCH_INSPECT_TEST_WRITER";

// In the re-executed child: opens `dir` as its owner, writes 5000 keys into "events", flushes,
// stops background work (so nothing changes in the directory from here on), reports, and waits
// to be killed.
[[noreturn]] inline void RunWriter(const std::string& dir) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, o},
                                                      {"events", o}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(o, dir, cfs, &handles, &db).ok()) ::_exit(4);
  for (int k = 0; k < 5000; ++k) {
    if (!db->Put(rocksdb::WriteOptions(), handles[1], "key" + std::to_string(k), "value").ok()) {
      ::_exit(5);
    }
  }
  if (!db->Flush(rocksdb::FlushOptions(), handles).ok()) ::_exit(6);
  if (!db->PauseBackgroundWork().ok()) ::_exit(7);
  ReportFnFromEnvironment()(5000);
  for (;;) ::pause();
}

// This test binary run afresh as the writer (RocksDB's threads do not survive a bare fork).
class WriterProcess {
 public:
  explicit WriterProcess(const std::string& dir) {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string filter =
        std::string("--gtest_filter=") + test->test_suite_name() + "." + test->name();
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      ::setenv(kWriterVariable, dir.c_str(), 1);
      ::setenv(kReportFdVariable, std::to_string(fds[1]).c_str(), 1);
      const char* argv[] = {"/proc/self/exe", filter.c_str(), nullptr};
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(9);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~WriterProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  WriterProcess(const WriterProcess&) = delete;
  WriterProcess& operator=(const WriterProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The writer's report, waited for on the pipe up to `timeout`; nullopt if it died first.
  std::optional<int64_t> WaitReady(std::chrono::milliseconds timeout) {
    int64_t value = 0;
    size_t got = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got < sizeof value) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      struct pollfd p = {fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = ::read(fd_, reinterpret_cast<char*>(&value) + got, sizeof value - got);
      if (n <= 0) return std::nullopt;
      got += static_cast<size_t>(n);
    }
    return value;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

}  // namespace statewatch::testing
