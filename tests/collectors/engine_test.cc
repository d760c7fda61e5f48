// EngineCollector against real backends: exact key counts, TTL seconds, expired counters and a
// block-cache hit ratio computed from ticker deltas between two collections.
#include "statewatch/collectors/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>

#include "collectors/samples.h"
#include "embedded-state/test_util.h"
#include "statewatch/state/checkpoint.h"

namespace statewatch::collectors {
namespace {

using statewatch::collectors::testing::Find;
using statewatch::testing::MakeBackend;
using statewatch::testing::TempDir;
using statewatch::testing::TestOptions;

TEST(RatioFromCounterDeltasTest, UsesTheIntervalNotTheLifetime) {
  double r = -1;
  // Lifetime 99 % hits, but the last interval had 50 hits and 50 misses.
  ASSERT_TRUE(RatioFromCounterDeltas(9900, 100, 9950, 150, &r));
  EXPECT_DOUBLE_EQ(r, 0.5);
  EXPECT_FALSE(RatioFromCounterDeltas(10, 10, 10, 10, &r));  // no lookups
  EXPECT_FALSE(RatioFromCounterDeltas(10, 10, 5, 12, &r));   // counter reset
}

TEST(EngineCollectorTest, HeapStatesBecomeCanonicalSamples) {
  ManualClock clock(1'000'000);
  TempDir dir;
  auto backend = MakeBackend(TestOptions("hashmap", &clock, dir));
  auto* orders = *backend->GetValueState(ValueStateDescriptor<int64_t>("orders").EnableTimeToLive(
      TtlConfig::Of(std::chrono::hours(24 * 7))));
  auto* seen = *backend->GetValueState(ValueStateDescriptor<int64_t>("seen"));
  for (int64_t k = 0; k < 30; ++k) {
    ASSERT_SW_OK(backend->SetCurrentKey(k));
    ASSERT_SW_OK(orders->Update(k));
    ASSERT_SW_OK(seen->Update(k));
  }
  clock.Advance(std::chrono::hours(24 * 7));
  ASSERT_SW_OK(backend->SetCurrentKey(int64_t{0}));
  EXPECT_TRUE(orders->Value().status().IsNotFound());  // one expired read

  EngineCollector collector("cdc", backend.get(), "orders-pipeline");
  std::vector<rules::Sample> samples;
  ASSERT_SW_OK(collector.Collect(42, &samples));
  // Every sample names the job and the configured source.
  for (const auto& s : samples) {
    EXPECT_TRUE(collectors::testing::HasLabels(s, {{"job", "cdc"}, {"source", "orders-pipeline"}}))
        << s.series;
  }
  EXPECT_EQ(Find(samples, "statewatch_state_keys", {{"state", "orders"}, {"job", "cdc"}}), 29);
  EXPECT_EQ(Find(samples, "statewatch_state_keys", {{"state", "seen"}}), 30);
  EXPECT_EQ(Find(samples, "statewatch_state_ttl_seconds", {{"state", "orders"}}), 7 * 86400);
  EXPECT_EQ(Find(samples, "statewatch_state_ttl_seconds", {{"state", "seen"}}), 0);
  EXPECT_EQ(Find(samples, "statewatch_state_expired_total",
                 {{"state", "orders"}, {"cleanup", "on_read"}}),
            1);
  EXPECT_FALSE(Find(samples, "statewatch_rocksdb_memtable_bytes", {}).has_value());
  for (const auto& s : samples) {
    EXPECT_EQ(s.t_millis, 42);
    EXPECT_TRUE(std::is_sorted(s.labels.begin(), s.labels.end()));
  }
}

TEST(EngineCollectorTest, RocksDbPropertiesAndHitRatioFromDeltas) {
  ManualClock clock(1'000'000);
  TempDir dir;
  auto backend = MakeBackend(TestOptions("rocksdb", &clock, dir));
  auto* v = *backend->GetValueState(ValueStateDescriptor<int64_t>("v"));
  for (int64_t k = 0; k < 2000; ++k) {
    ASSERT_SW_OK(backend->SetCurrentKey(k));
    ASSERT_SW_OK(v->Update(k));
  }
  ASSERT_SW_OK(backend->Flush());
  EngineCollector collector("job", backend.get());
  std::vector<rules::Sample> first;
  ASSERT_SW_OK(collector.Collect(1, &first));
  EXPECT_EQ(Find(first, "statewatch_state_keys", {{"state", "v"}, {"source", "engine"}}), 2000)
      << "the source label defaults to \"engine\"";
  EXPECT_GT(Find(first, "statewatch_rocksdb_estimate_num_keys", {{"cf", "v"}}).value_or(0), 0);
  EXPECT_GT(Find(first, "statewatch_rocksdb_live_data_bytes", {{"cf", "v"}}).value_or(0), 0);
  EXPECT_EQ(Find(first, "statewatch_rocksdb_delayed_write_rate_bytes", {}), 0);
  // No interval yet: no ratio from lifetime totals.
  EXPECT_FALSE(Find(first, "statewatch_rocksdb_block_cache_hit_ratio", {}).has_value());

  for (int round = 0; round < 3; ++round) {  // reads from SST files: the cache warms up
    for (int64_t k = 0; k < 2000; ++k) {
      ASSERT_SW_OK(backend->SetCurrentKey(k));
      ASSERT_TRUE(v->Value().ok());
    }
  }
  std::vector<rules::Sample> second;
  ASSERT_SW_OK(collector.Collect(2, &second));
  auto ratio = Find(second, "statewatch_rocksdb_block_cache_hit_ratio", {{"job", "job"}});
  ASSERT_TRUE(ratio.has_value());
  EXPECT_GT(*ratio, 0.5);
  EXPECT_LE(*ratio, 1.0);
}

TEST(EngineCollectorTest, PinnedMemoryBudgetAndTheFilesystem) {
  for (const size_t budget : {size_t{0}, size_t{64} << 20}) {
    SCOPED_TRACE(budget);
    ManualClock clock(1'000'000);
    TempDir dir;
    BackendOptions options = TestOptions("rocksdb", &clock, dir);
    options.rocksdb.memory_budget_bytes = budget;
    auto backend = MakeBackend(options);
    auto* v = *backend->GetValueState(ValueStateDescriptor<std::string>("v"));
    for (int64_t k = 0; k < 5000; ++k) {  // left in the memtable: not flushed
      ASSERT_SW_OK(backend->SetCurrentKey(k));
      ASSERT_SW_OK(v->Update(std::string(100, 'x')));
    }
    EngineCollector collector("job", backend.get());
    std::vector<rules::Sample> samples;
    ASSERT_SW_OK(collector.Collect(1, &samples));
    const double memtable =
        Find(samples, "statewatch_rocksdb_memtable_bytes", {{"cf", "v"}}).value();
    ASSERT_GT(memtable, 500'000);
    const double pinned = Find(samples, "statewatch_rocksdb_pinned_memory_bytes", {}).value();
    // Without a budget the memtables are added; with one they are the WriteBufferManager's
    // pinned reservations in the cache (taken in whole cache entries, so at least as much).
    EXPECT_GE(pinned, memtable);
    EXPECT_EQ(Find(samples, "statewatch_rocksdb_memory_budget_bytes", {}),
              budget == 0 ? std::nullopt : std::optional<double>(static_cast<double>(budget)));

    struct statvfs fs {};
    ASSERT_EQ(::statvfs(options.rocksdb.local_directory.c_str(), &fs), 0);
    const auto size = Find(samples, "statewatch_filesystem_size_bytes",
                           {{"path", options.rocksdb.local_directory}});
    ASSERT_TRUE(size.has_value());
    EXPECT_EQ(*size, static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize));
    const auto avail = Find(samples, "statewatch_filesystem_avail_bytes", {});
    ASSERT_TRUE(avail.has_value());
    EXPECT_GT(*avail, 0);
    EXPECT_LE(*avail, *size);
  }
}

TEST(EngineCollectorTest, CheckpointStatsBecomeCheckpointSignals) {
  ManualClock clock(1'000'000);
  TempDir dir;
  auto backend = MakeBackend(TestOptions("hashmap", &clock, dir));
  auto* s = *backend->GetValueState(ValueStateDescriptor<int64_t>("orders"));
  EngineCollector collector("cdc", backend.get(), "job");
  std::vector<rules::Sample> before;
  ASSERT_SW_OK(collector.Collect(1, &before));
  // No coordinator yet: no checkpoint signal at all (absent, not zero).
  for (const rules::Sample& x : before) EXPECT_EQ(x.series.find("checkpoint"), std::string::npos);

  CheckpointOptions options;
  options.root = dir.Sub("checkpoints");
  auto coordinator = CheckpointCoordinator::Open(backend.get(), options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().ToString();
  for (int64_t k = 0; k < 100; ++k) {
    ASSERT_SW_OK(backend->SetCurrentKey(k));
    ASSERT_SW_OK(s->Update(k));
  }
  auto m = (*coordinator)->Trigger();
  ASSERT_TRUE(m.ok()) << m.status().ToString();

  std::vector<rules::Sample> after;
  ASSERT_SW_OK(collector.Collect(2, &after));
  const std::map<std::string, std::string> labels = {{"job", "cdc"}, {"source", "job"}};
  auto full = Find(after, "statewatch_checkpoint_full_size_bytes", labels);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(*full, static_cast<double>(m->full_size_bytes()));
  EXPECT_GT(*full, 100.0 * 8);
  // A full checkpoint writes all it holds.
  EXPECT_EQ(Find(after, "statewatch_checkpoint_delta_size_bytes", labels), full);
  EXPECT_TRUE(Find(after, "statewatch_checkpoint_duration_seconds", labels).has_value());
  EXPECT_EQ(Find(after, "statewatch_checkpoints_completed_total", labels), 1.0);
  EXPECT_EQ(Find(after, "statewatch_checkpoints_failed_total", labels), 0.0);
}

}  // namespace
}  // namespace statewatch::collectors
