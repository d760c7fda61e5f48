// The rocksdb_dir collector reading an owner's LOG: stall lines in RocksDB 7.8's format written
// into a LOG file (no owner is made to stall), incremental reads, partial lines, truncation,
// rotation, and the block-cache hit ratio from consecutive statistics dumps.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>

#include "collectors/samples.h"
#include "embedded-state/test_util.h"
#include "statewatch/collectors/rocksdb_dir.h"

namespace statewatch::collectors {
namespace {

namespace fs = std::filesystem;
using statewatch::collectors::testing::Count;
using statewatch::collectors::testing::Find;
using statewatch::testing::TempDir;

std::string Stall(const std::string& cf, uint64_t rate) {
  return "2026/11/25-11:01:49.627535 6816 [WARN] [db/column_family.cc:1001] [" + cf +
         "] Stalling writes because we have 20 level-0 files rate " + std::to_string(rate) + "\n";
}
std::string Stop(const std::string& cf) {
  return "2026/11/25-11:01:49.631614 6816 [WARN] [db/column_family.cc:958] [" + cf +
         "] Stopping writes because we have 36 level-0 files\n";
}
std::string Dump(uint64_t hits, uint64_t misses) {
  return "2026/11/25-11:11:35.351754 6749 [db/db_impl/db_impl.cc:788] STATISTICS:\n"
         " rocksdb.block.cache.miss COUNT : " +
         std::to_string(misses) + "\nrocksdb.block.cache.hit COUNT : " + std::to_string(hits) +
         "\nrocksdb.block.cache.add COUNT : 0\nrocksdb.sim.block.cache.hit COUNT : 77\n"
         "rocksdb.db.get.micros P50 : 0.000000 P95 : 0.000000 P99 : 0.000000 P100 : 0.000000 "
         "COUNT : 0 SUM : 0\n";
}

void Append(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app | std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << file;
}

// A closed RocksDB with column families "default" and "orders" to point the collector at,
// and a LOG file of our own beside it (option log_file) that the test writes.
class RocksDbLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                        {"orders", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, db_path(), cfs, &handles, &db).ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
    delete db;
  }

  std::string db_path() const { return dir_.Sub("db"); }
  fs::path log() const { return dir_.path() / "owner.LOG"; }

  std::unique_ptr<RocksDbDirCollector> NewCollector() {
    RocksDbDirOptions o;
    o.path = db_path();
    o.log_file = log().string();
    return std::make_unique<RocksDbDirCollector>("job", "db", o);
  }

  std::vector<rules::Sample> Collect(RocksDbDirCollector& c) {
    std::vector<rules::Sample> samples;
    const Status s = c.Collect(++now_, &samples);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return samples;
  }

  static double Stalls(const std::vector<rules::Sample>& s, const std::string& cf,
                       const std::string& kind) {
    return Find(s, "statewatch_rocksdb_write_stalls_total", {{"cf", cf}, {"kind", kind}})
        .value_or(-1);
  }
  static double Rate(const std::vector<rules::Sample>& s) {
    return Find(s, "statewatch_rocksdb_delayed_write_rate_bytes", {}).value_or(-1);
  }

  TempDir dir_;
  int64_t now_ = 0;
};

TEST_F(RocksDbLogTest, HistoryIsNotCountedNewStallsAre) {
  Append(log(), Stall("default", 999) + Stop("default"));  // before the collector started
  auto c = NewCollector();
  auto first = Collect(*c);
  EXPECT_EQ(Stalls(first, "default", "delayed"), 0);
  EXPECT_EQ(Stalls(first, "default", "stopped"), 0);
  EXPECT_EQ(Stalls(first, "orders", "delayed"), 0) << "every open cf has counters from the start";
  EXPECT_EQ(Rate(first), 0);

  Append(log(), Stall("default", 16777216) + Stall("orders", 10066329) + Stall("default", 3623878) +
                    Stop("default") + Stop("default"));
  auto second = Collect(*c);
  EXPECT_EQ(Stalls(second, "default", "delayed"), 2);
  EXPECT_EQ(Stalls(second, "default", "stopped"), 2);
  EXPECT_EQ(Stalls(second, "orders", "delayed"), 1);
  EXPECT_EQ(Rate(second), 3623878) << "the last Stalling line of the interval";

  auto third = Collect(*c);  // nothing new: counters stay, the rate drops to 0
  EXPECT_EQ(Stalls(third, "default", "delayed"), 2);
  EXPECT_EQ(Rate(third), 0);

  // A column family only the LOG knows about (dropped, or created after the open) still counts.
  Append(log(), Stall("gone", 1));
  EXPECT_EQ(Stalls(Collect(*c), "gone", "delayed"), 1);
}

TEST_F(RocksDbLogTest, PartialLineWaitsForItsNewline) {
  auto c = NewCollector();
  Collect(*c);
  std::string line = Stall("default", 12345);
  line.pop_back();
  Append(log(), line.substr(0, 40));
  EXPECT_EQ(Stalls(Collect(*c), "default", "delayed"), 0);
  Append(log(), line.substr(40));
  EXPECT_EQ(Stalls(Collect(*c), "default", "delayed"), 0) << "still no newline";
  Append(log(), "\n");
  auto s = Collect(*c);
  EXPECT_EQ(Stalls(s, "default", "delayed"), 1);
  EXPECT_EQ(Rate(s), 12345);
}

TEST_F(RocksDbLogTest, TruncatedLogIsReadFromTheStart) {
  auto c = NewCollector();
  Collect(*c);
  Append(log(), Stall("default", 1) + Stall("default", 2) + Stall("default", 3));
  EXPECT_EQ(Stalls(Collect(*c), "default", "delayed"), 3);
  // Truncated in place (same inode), then a shorter content written.
  { std::ofstream truncate(log(), std::ios::trunc); }
  Append(log(), Stall("default", 7));
  auto s = Collect(*c);
  EXPECT_EQ(Stalls(s, "default", "delayed"), 4);
  EXPECT_EQ(Rate(s), 7);
}

TEST_F(RocksDbLogTest, RotatedLogIsFinishedThenTheNewOneRead) {
  auto c = NewCollector();
  Collect(*c);
  Append(log(), Stall("default", 1));
  EXPECT_EQ(Stalls(Collect(*c), "default", "delayed"), 1);
  // RocksDB rolls its LOG by renaming it (LOG.old.<time>) and creating a new one; a line
  // written to the old file after our last read must not be lost.
  Append(log(), Stop("default"));
  fs::rename(log(), log().string() + ".old.1764068509000000");
  Append(log(), Stall("default", 2) + Stall("orders", 3));
  auto s = Collect(*c);
  EXPECT_EQ(Stalls(s, "default", "stopped"), 1) << "the old file's last line";
  EXPECT_EQ(Stalls(s, "default", "delayed"), 2);
  EXPECT_EQ(Stalls(s, "orders", "delayed"), 1);
  EXPECT_EQ(Rate(s), 3);

  // A LOG that appears after the collector started is new in its entirety.
  fs::remove(log());
  auto gone = Collect(*c);
  EXPECT_EQ(Count(gone, "statewatch_rocksdb_write_stalls_total"), 0u) << "no LOG, no LOG samples";
  Append(log(), Stall("default", 4));
  EXPECT_EQ(Stalls(Collect(*c), "default", "delayed"), 3);
}

TEST_F(RocksDbLogTest, HitRatioFromConsecutiveDumps) {
  // One dump in the history: the baseline, no ratio yet.
  Append(log(), Dump(/*hits=*/900, /*misses=*/100));
  auto c = NewCollector();
  auto first = Collect(*c);
  EXPECT_EQ(Count(first, "statewatch_rocksdb_block_cache_hit_ratio"), 0u);

  Append(log(), Dump(/*hits=*/930, /*misses=*/130));  // this interval: 30 hits, 30 misses
  EXPECT_EQ(Find(Collect(*c), "statewatch_rocksdb_block_cache_hit_ratio", {}), 0.5)
      << "from the deltas, not the lifetime 88 %";
  EXPECT_EQ(Find(Collect(*c), "statewatch_rocksdb_block_cache_hit_ratio", {}), 0.5)
      << "kept until the next dump: it is the ratio of the latest dump interval";

  Append(log(), Dump(/*hits=*/930, /*misses=*/130));  // no lookups in between
  EXPECT_EQ(Count(Collect(*c), "statewatch_rocksdb_block_cache_hit_ratio"), 0u);

  Append(log(), Dump(/*hits=*/5, /*misses=*/1));  // the owner restarted: counters went back
  EXPECT_EQ(Count(Collect(*c), "statewatch_rocksdb_block_cache_hit_ratio"), 0u);
  Append(log(), Dump(/*hits=*/95, /*misses=*/11));
  EXPECT_EQ(Find(Collect(*c), "statewatch_rocksdb_block_cache_hit_ratio", {}), 0.9);
}

TEST_F(RocksDbLogTest, DumpSplitAcrossReads) {
  auto c = NewCollector();
  Collect(*c);
  Append(log(), Dump(100, 100));
  const std::string dump = Dump(/*hits=*/190, /*misses=*/110);
  const size_t cut = dump.find("rocksdb.block.cache.hit");  // between the miss and hit lines
  Append(log(), dump.substr(0, cut));
  EXPECT_EQ(Count(Collect(*c), "statewatch_rocksdb_block_cache_hit_ratio"), 0u);
  Append(log(), dump.substr(cut));
  EXPECT_EQ(Find(Collect(*c), "statewatch_rocksdb_block_cache_hit_ratio", {}), 0.9);
}

}  // namespace
}  // namespace statewatch::collectors
