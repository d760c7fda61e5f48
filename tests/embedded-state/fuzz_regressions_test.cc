// Inputs the fuzz targets (tests/fuzz/) found mishandled, each pinned here next to its fix.
// The inputs themselves are in tests/fuzz/corpus/<target>/regression_*.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "embedded-state/test_util.h"
#include "snapshot_codec.h"
#include "statewatch/state/checkpoint.h"
#include "statewatch/state/crc32c.h"
#include "statewatch/state/internal/encoding.h"
#include "statewatch/state/internal/raw_column.h"
#include "statewatch/state/internal/rocksdb_state.h"
#include "statewatch/state/keyed_snapshot.h"

namespace statewatch {
namespace {

// A RawColumn over a std::map: stored bytes exactly as a test puts them.
class MapColumn final : public internal::RawColumn {
 public:
  std::map<std::string, std::string> data;

  Status Get(std::string_view key, std::string* value) override {
    auto it = data.find(std::string(key));
    if (it == data.end()) return Status::NotFound("");
    *value = it->second;
    return Status::OK();
  }
  Status Put(std::string_view key, std::string_view value) override {
    data[std::string(key)] = value;
    return Status::OK();
  }
  Status Merge(std::string_view key, std::string_view operand) override {
    data[std::string(key)] += operand;
    return Status::OK();
  }
  Status Delete(std::string_view key) override {
    data.erase(std::string(key));
    return Status::OK();
  }
  std::unique_ptr<internal::RawIterator> NewIterator(std::string_view lower,
                                                     std::string_view upper) override {
    return std::make_unique<Iterator>(data, std::string(lower), std::string(upper));
  }
  internal::TtlCounters& counters() override { return counters_; }

 private:
  class Iterator final : public internal::RawIterator {
   public:
    Iterator(const std::map<std::string, std::string>& data, std::string lower, std::string upper)
        : data_(data), lower_(std::move(lower)), upper_(std::move(upper)), it_(data_.end()) {}
    void Seek(std::string_view target) override {
      it_ = data_.lower_bound(std::max(std::string(target), lower_));
    }
    bool Valid() const override {
      return it_ != data_.end() && (upper_.empty() || it_->first < upper_);
    }
    void Next() override { ++it_; }
    std::string_view key() const override { return it_->first; }
    std::string_view value() const override { return it_->second; }
    Status status() const override { return Status::OK(); }

   private:
    const std::map<std::string, std::string>& data_;
    const std::string lower_, upper_;
    std::map<std::string, std::string>::const_iterator it_;
  };
  internal::TtlCounters counters_;
};

std::string StoredKey(int key_group, std::string_view key) {
  std::string out;
  internal::PutKeyGroup(&out, key_group);
  internal::AppendComposite(&out, key, "");
  return out;
}

// rocksdb_key_fuzz (corpus/rocksdb_key_fuzz/regression_key_group_beyond_the_last): a scan of a
// range ending at the last key group there can be (2^15 - 1) had no upper bound, so a stored
// key with a larger key group — only a damaged store has one — was visited as inside the
// range, and a savepoint written from it could not be restored ("outside [..]").
TEST(FuzzRegressionTest, ScanOfTheLastKeyGroupsSkipsKeyGroupsBeyondEveryMaxParallelism) {
  MapColumn column;
  column.data[StoredKey(32767, "last")] = "in range";
  column.data[StoredKey(32768, "beyond")] = "damaged";
  column.data[StoredKey(0xffff, "far")] = "damaged";
  StateMeta meta;
  meta.name = "s";
  internal::RawScanOptions scan;
  scan.range = {32512, kUpperBoundMaxParallelism - 1};
  std::vector<int> key_groups;
  uint64_t dropped = 0;
  ASSERT_TRUE(internal::ScanRawColumn(
                  column, meta, scan,
                  [&](const StateEntry& e) {
                    key_groups.push_back(e.key_group);
                    return true;
                  },
                  &dropped)
                  .ok());
  EXPECT_EQ(key_groups, std::vector<int>{32767});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

// Found reading the decoders for checkpoint_metadata_fuzz, confirmed through it under UBSan
// (corpus/checkpoint_metadata_fuzz/regression_*_key_groups_past_int_max; the target makes the
// CRCs right): a key-group range end of 2^31 or more was cast to int and decremented — signed
// overflow, undefined behaviour — in both the _metadata and the keyed snapshot header. Such
// values (key groups lie below 2^15) are now Corruption naming the file.
TEST(FuzzRegressionTest, CheckpointMetadataWithKeyGroupsPastIntMaxIsCorrupt) {
  using internal::PutFixed32;
  using internal::PutFixed64;
  using internal::PutString;
  using internal::PutVarint32;
  testing::TempDir dir;
  for (const uint32_t end : {0x80000000u, (1u << 15) + 1}) {
    std::string bytes("SWCHKMD1");
    PutFixed32(&bytes, kCheckpointMetadataVersion);
    PutFixed64(&bytes, 1);  // id
    PutFixed64(&bytes, 0);  // timestamp
    PutString(&bytes, "hashmap");
    PutVarint32(&bytes, 128);  // max parallelism
    PutVarint32(&bytes, 0);    // range start
    PutVarint32(&bytes, end);  // range end + 1
    bytes.push_back(0);        // CheckpointFormat::kKeyedSnapshot
    PutVarint32(&bytes, 0);    // states
    PutVarint32(&bytes, 0);    // files
    PutFixed32(&bytes, Crc32c(bytes));
    const std::string chk = dir.Sub("chk-" + std::to_string(end));
    std::filesystem::create_directories(chk);
    WriteFile(chk + "/_metadata", bytes);
    const Result<CheckpointMetadata> m = ReadCheckpoint(chk, CheckpointVerify::kNone);
    ASSERT_FALSE(m.ok()) << end;
    EXPECT_TRUE(m.status().IsCorruption()) << m.status().ToString();
    EXPECT_THAT(m.status().message(), ::testing::HasSubstr(chk + "/_metadata"));
    EXPECT_THAT(m.status().message(), ::testing::HasSubstr("key groups"));
  }
}

TEST(FuzzRegressionTest, KeyedSnapshotWithKeyGroupsPastIntMaxIsCorrupt) {
  using internal::PutFixed32;
  using internal::PutString;
  using internal::PutVarint32;
  testing::TempDir dir;
  std::string header;
  PutVarint32(&header, kKeyedSnapshotFormatVersion);
  PutString(&header, "hashmap");
  PutVarint32(&header, 128);          // max parallelism
  PutVarint32(&header, 0);            // range start
  PutVarint32(&header, 0x80000000u);  // range end + 1
  std::string bytes("SWKEYSNP");
  PutFixed32(&bytes, static_cast<uint32_t>(header.size()));
  bytes.push_back(1);  // header record
  bytes += header;
  PutFixed32(&bytes, Crc32c(header, Crc32c(std::string_view("\x01", 1))));
  const std::string path = dir.Sub("keyed-state");
  WriteFile(path, bytes);
  const Result<KeyedSnapshotInfo> info = ReadKeyedSnapshot(path, {});
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(info.status().IsCorruption()) << info.status().ToString();
  EXPECT_THAT(info.status().message(), ::testing::HasSubstr(path));
  EXPECT_THAT(info.status().message(), ::testing::HasSubstr("key groups"));
}

}  // namespace
}  // namespace statewatch
