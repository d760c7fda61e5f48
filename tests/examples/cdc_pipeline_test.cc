// The CDC example end to end on both backends: with TTL the join state plateaus at about a week
// of customers; without TTL (--leaky) it grows with every day — the shape statewatch watches for.
#include "cdc_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "embedded-state/test_util.h"

namespace statewatch::examples {
namespace {

using statewatch::testing::TempDir;

// Keys of `state` in the join backend after each of `days` days.
std::vector<uint64_t> RunDays(CdcPipeline& p, int days, const std::string& state) {
  std::vector<uint64_t> keys;
  for (int d = 0; d < days; ++d) {
    Status s = p.RunDay();
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto stats = p.join_backend().CollectStats();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    for (const auto& st : stats->states) {
      if (st.name == state) keys.push_back(st.keys);
    }
  }
  return keys;
}

CdcPipelineOptions SmallOptions(const std::string& backend, const TempDir& dir) {
  CdcPipelineOptions o;
  o.backend = backend;
  o.directory = dir.Sub("cdc");
  o.new_customers_per_day = 200;
  o.orders_per_day = 2000;
  return o;
}

TEST(CdcPipelineTest, HeapJoinStatePlateausWithTtl) {
  TempDir dir;
  ManualClock clock(1'767'225'600'000);
  auto p = CdcPipeline::Create(SmallOptions("hashmap", dir), &clock);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto keys = RunDays(**p, 14, "customer_segment");
  ASSERT_EQ(keys.size(), 14u);
  EXPECT_EQ(keys[6], 7u * 200);              // a week of customers, none expired yet
  EXPECT_LE(keys[13], keys[7] * 105 / 100);  // then flat: each day expires as many as arrive
  auto revenue = (*p)->RevenueBySegment();
  ASSERT_TRUE(revenue.ok());
  EXPECT_EQ(revenue->size(), 4u);
}

TEST(CdcPipelineTest, LeakyJoinStateGrowsEveryDay) {
  TempDir dir;
  ManualClock clock(1'767'225'600'000);
  CdcPipelineOptions o = SmallOptions("hashmap", dir);
  o.leaky = true;
  auto p = CdcPipeline::Create(o, &clock);
  ASSERT_TRUE(p.ok());
  const auto keys = RunDays(**p, 14, "customer_segment");
  for (size_t d = 1; d < keys.size(); ++d) EXPECT_GT(keys[d], keys[d - 1]) << "day " << d;
  EXPECT_EQ(keys.back(), 14u * 200);
}

TEST(CdcPipelineTest, RocksDbMatchesHeapOnceCompactionsDropExpiredState) {
  TempDir dir;
  ManualClock heap_clock(1'767'225'600'000), rocks_clock(1'767'225'600'000);
  auto heap = CdcPipeline::Create(SmallOptions("hashmap", dir), &heap_clock);
  CdcPipelineOptions ro = SmallOptions("rocksdb", dir);
  ro.directory = dir.Sub("cdc-rocks");
  auto rocks = CdcPipeline::Create(ro, &rocks_clock);
  ASSERT_TRUE(heap.ok() && rocks.ok()) << rocks.status().ToString();
  RunDays(**heap, 12, "customer_segment");
  RunDays(**rocks, 12, "customer_segment");
  // The same input gives the same revenue on both backends.
  EXPECT_EQ(*(*heap)->RevenueBySegment(), *(*rocks)->RevenueBySegment());
  for (const char* state : {"customer_segment", "pending_orders", "order_amounts"}) {
    ASSERT_TRUE((*rocks)->join_backend().CompactState(state).ok());
  }
  auto stats = (*rocks)->join_backend().CollectStats();
  ASSERT_TRUE(stats.ok());
  uint64_t compaction_removed = 0, segment_keys = 0;
  for (const auto& s : stats->states) {
    compaction_removed += s.expired_removed.compaction_filter;
    if (s.name == "customer_segment") segment_keys = s.keys;
  }
  EXPECT_GT(compaction_removed, 0u);
  EXPECT_LE(segment_keys, 7u * 200 + 200);  // about a week of customers left, as on the heap
}

}  // namespace
}  // namespace statewatch::examples
