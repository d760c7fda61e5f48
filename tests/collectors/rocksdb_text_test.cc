// The rocksdb_dir collector's pure parsers on literal inputs: LOG lines as RocksDB 7.8 writes
// them, and OPTIONS file sections.
#include <gtest/gtest.h>

#include "statewatch/collectors/rocksdb_dir.h"

namespace statewatch::collectors {
namespace {

using Kind = LogLine::Kind;

// Captured from a RocksDB 7.8.3 LOG (Debian 12's librocksdb7.8) whose owner was made to stall
// by holding its compaction thread: the format strings are those of db/column_family.cc.
constexpr const char* kRealStallLines[] = {
    "2026/11/25-11:01:49.627535 6816 [WARN] [db/column_family.cc:1001] [default] Stalling writes "
    "because we have 2 level-0 files rate 16777216",
    "2026/11/25-11:01:49.630568 6812 [WARN] [db/column_family.cc:1001] [default] Stalling writes "
    "because we have 3 level-0 files rate 3623878",
    "2026/11/25-11:01:49.631614 6816 [WARN] [db/column_family.cc:958] [default] Stopping writes "
    "because we have 4 level-0 files",
};

TEST(ParseLogLineTest, RealStallLines) {
  LogLine a = ParseLogLine(kRealStallLines[0]);
  EXPECT_EQ(a.kind, Kind::kWritesDelayed);
  EXPECT_EQ(a.cf, "default");
  EXPECT_EQ(a.value, 16777216u);
  EXPECT_EQ(ParseLogLine(kRealStallLines[1]).value, 3623878u);
  LogLine stop = ParseLogLine(kRealStallLines[2]);
  EXPECT_EQ(stop.kind, Kind::kWritesStopped);
  EXPECT_EQ(stop.cf, "default");
}

TEST(ParseLogLineTest, EveryStallCauseOfRocksDb78) {
  // The other four format strings of db/column_family.cc (7.8), with a column family name
  // that has spaces and brackets in it.
  const std::string prefix = "2026/11/25-11:01:49.631614 6816 [WARN] [db/column_family.cc:978] ";
  LogLine memtables = ParseLogLine(
      prefix +
      "[orders [v2]] Stalling writes because we have 3 immutable memtables (waiting for flush), "
      "max_write_buffer_number is set to 4 rate 8388608");
  EXPECT_EQ(memtables.kind, Kind::kWritesDelayed);
  EXPECT_EQ(memtables.cf, "orders [v2]");
  EXPECT_EQ(memtables.value, 8388608u);

  LogLine pending =
      ParseLogLine(prefix +
                   "[orders] Stalling writes because of estimated pending compaction bytes "
                   "68719476736 rate 4194304");
  EXPECT_EQ(pending.kind, Kind::kWritesDelayed);
  EXPECT_EQ(pending.value, 4194304u) << "the rate, not the pending bytes";

  EXPECT_EQ(ParseLogLine(prefix + "[orders] Stopping writes because we have 4 immutable memtables "
                                  "(waiting for flush), max_write_buffer_number is set to 4")
                .kind,
            Kind::kWritesStopped);
  LogLine stop_pending =
      ParseLogLine(prefix +
                   "[orders] Stopping writes because of estimated pending compaction bytes "
                   "274877906944");
  EXPECT_EQ(stop_pending.kind, Kind::kWritesStopped);
  EXPECT_EQ(stop_pending.cf, "orders");
}

TEST(ParseLogLineTest, StatisticsDump) {
  // A real dump (7.8: "STATISTICS:\n %s", tickers first, the first one after a space).
  EXPECT_EQ(
      ParseLogLine("2026/11/25-11:01:35.351754 6749 [db/db_impl/db_impl.cc:788] STATISTICS:").kind,
      Kind::kStatisticsHeader);
  LogLine miss = ParseLogLine(" rocksdb.block.cache.miss COUNT : 5");
  EXPECT_EQ(miss.kind, Kind::kBlockCacheMiss);
  EXPECT_EQ(miss.value, 5u);
  LogLine hit = ParseLogLine("rocksdb.block.cache.hit COUNT : 1234567890123");
  EXPECT_EQ(hit.kind, Kind::kBlockCacheHit);
  EXPECT_EQ(hit.value, 1234567890123u);
  // Look-alikes are not the block-cache tickers.
  EXPECT_EQ(ParseLogLine("rocksdb.sim.block.cache.hit COUNT : 3").kind, Kind::kOther);
  EXPECT_EQ(ParseLogLine("rocksdb.block.cache.index.hit COUNT : 3").kind, Kind::kOther);
  EXPECT_EQ(ParseLogLine("rocksdb.block.cache.hit COUNT : many").kind, Kind::kOther);
  EXPECT_EQ(ParseLogLine("rocksdb.db.get.micros P50 : 0.000000 P95 : 0.000000 P99 : 0.000000 "
                         "P100 : 0.000000 COUNT : 0 SUM : 0")
                .kind,
            Kind::kOther);
}

TEST(ParseLogLineTest, OtherLinesAreIgnored) {
  EXPECT_EQ(ParseLogLine("").kind, Kind::kOther);
  EXPECT_EQ(ParseLogLine("2026/11/25-11:01:34.350807 6749 [db/flush_job.cc:870] [default] "
                         "[JOB 3] Flushing memtable with next log file: 4")
                .kind,
            Kind::kOther);
  EXPECT_EQ(ParseLogLine("** DB Stats **").kind, Kind::kOther);
  EXPECT_EQ(ParseLogLine("Cumulative stall: 00:00:0.000 H:M:S, 0.0 percent").kind, Kind::kOther);
}

// The parts of a real 7.8 OPTIONS file that matter, plus a DBWithTTL section as RocksDB 7.8
// writes it and our engine's factory.
constexpr char kOptionsFile[] = R"(# This is a RocksDB option file.
[Version]
  rocksdb_version=7.8.3
  options_file_version=1.1

[DBOptions]
  max_open_files=-1

[CFOptions "default"]
  ttl=2592000
  periodic_compaction_seconds=0
  num_levels=7
  compaction_filter=nullptr
  compaction_filter_factory=nullptr

[TableOptions/BlockBasedTable "default"]
  block_size=4096

[CFOptions "orders"]
  ttl=2592000
  num_levels=7
  compaction_filter=nullptr
  compaction_filter_factory=statewatch.TtlCompactionFilterFactory

[CFOptions "periodic only"]
  ttl=86400
  compaction_filter=nullptr
  compaction_filter_factory=nullptr

[CFOptions "other"]
  compaction_filter=test.OtherFilter
  compaction_filter_factory=nullptr

[CFOptions "ttl db"]
  num_levels=9
  compaction_filter=nullptr
  compaction_filter_factory={id=TtlCompactionFilterFactory;user_filter_factory=nullptr;ttl=3600;}

[CFOptions "flink\:state"]
  compaction_filter=nullptr
  compaction_filter_factory=FlinkCompactionFilterFactory
)";

TEST(ParseOptionsFileTest, TtlFilterPerColumnFamily) {
  const auto cfs = ParseOptionsFile(kOptionsFile);
  ASSERT_EQ(cfs.size(), 6u);
  EXPECT_FALSE(cfs.at("default").has_ttl_compaction_filter());
  EXPECT_EQ(cfs.at("default").compaction_filter, "nullptr");
  EXPECT_EQ(cfs.at("default").num_levels, 7);
  EXPECT_TRUE(cfs.at("orders").has_ttl_compaction_filter());
  // ttl=86400 is RocksDB's periodic compaction age, not a state TTL.
  EXPECT_FALSE(cfs.at("periodic only").has_ttl_compaction_filter());
  EXPECT_FALSE(cfs.at("other").has_ttl_compaction_filter());
  EXPECT_EQ(cfs.at("other").compaction_filter, "test.OtherFilter");
  EXPECT_EQ(cfs.at("ttl db").compaction_filter_factory, "TtlCompactionFilterFactory");
  EXPECT_TRUE(cfs.at("ttl db").has_ttl_compaction_filter());
  EXPECT_EQ(cfs.at("ttl db").num_levels, 9);
  EXPECT_TRUE(cfs.at("flink:state").has_ttl_compaction_filter());
}

TEST(ParseOptionsSectionsTest, EveryKeyOfVersionDbAndColumnFamilySections) {
  const OptionsSections sections = ParseOptionsSections(kOptionsFile);
  // Version, DBOptions and the six CFOptions sections; TableOptions is skipped.
  ASSERT_EQ(sections.size(), 8u);
  EXPECT_EQ(sections.at("Version").at("rocksdb_version"), "7.8.3");
  EXPECT_EQ(sections.at("DBOptions").at("max_open_files"), "-1");
  EXPECT_EQ(sections.at("CFOptions:default").at("ttl"), "2592000");
  EXPECT_EQ(sections.at("CFOptions:default").count("block_size"), 0u);
  EXPECT_EQ(sections.at("CFOptions:flink:state").at("compaction_filter_factory"),
            "FlinkCompactionFilterFactory");
  // Values stay as written: the customizable form is ParseOptionsFile's to reduce.
  EXPECT_EQ(sections.at("CFOptions:ttl db").at("compaction_filter_factory"),
            "{id=TtlCompactionFilterFactory;user_filter_factory=nullptr;ttl=3600;}");
}

TEST(ParseOptionsFileTest, NestedIdsAndGarbage) {
  // Only the outermost id names the factory; a nested object's id does not.
  const auto cfs = ParseOptionsFile(
      "[CFOptions \"a\"]\n"
      "  compaction_filter_factory={user_filter_factory={id=TtlCompactionFilterFactory;};"
      "id=my.Factory;}\n"
      "garbage line without equals\n"
      "[CFOptions \"unterminated\n"
      "  compaction_filter=TtlCompactionFilter\n");
  ASSERT_EQ(cfs.size(), 1u);
  EXPECT_EQ(cfs.at("a").compaction_filter_factory, "my.Factory");
  EXPECT_FALSE(cfs.at("a").has_ttl_compaction_filter());
  EXPECT_TRUE(ParseOptionsFile("").empty());
}

TEST(KnownTtlFilterNamesTest, ListedNamesMatchExactly) {
  for (const std::string& name : KnownTtlCompactionFilterNames()) {
    EXPECT_TRUE(IsTtlCompactionFilterName(name)) << name;
  }
  EXPECT_FALSE(IsTtlCompactionFilterName("nullptr"));
  EXPECT_FALSE(IsTtlCompactionFilterName("statewatch.TtlCompactionFilterFactoryX"));
  EXPECT_FALSE(IsTtlCompactionFilterName(""));
}

}  // namespace
}  // namespace statewatch::collectors
