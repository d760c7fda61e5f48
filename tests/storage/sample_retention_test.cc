// SampleStore::ApplyRetention: deletion by age, downsampling to the last sample per bucket,
// incremental progress, removal of empty series, chunked transactions, policy validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>

#include "embedded-state/test_util.h"
#include "statewatch/storage/sample_store.h"
#include "storage/raw_sqlite.h"

namespace statewatch::storage {
namespace {

using statewatch::testing::RawExec;
using statewatch::testing::RawQuery;
using statewatch::testing::TempDir;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using ::testing::ElementsAre;

constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

rules::Sample S(const std::string& state, int64_t t, double v) {
  return rules::Sample{"statewatch_state_expired_total", {{"state", state}}, t, v};
}

// One sample per minute for `state` over [from, to], value = t (a counter: always rising).
std::vector<rules::Sample> PerMinute(const std::string& state, int64_t from, int64_t to) {
  std::vector<rules::Sample> out;
  for (int64_t t = from; t <= to; t += kMin) out.push_back(S(state, t, static_cast<double>(t)));
  return out;
}

std::vector<int64_t> Times(SampleStore& store, const std::string& state) {
  std::vector<int64_t> out;
  auto points =
      store.Query("statewatch_state_expired_total", {{"state", state}},
                  std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(points.ok()) << points.status().ToString();
  for (const rules::Point& p : *points) {
    EXPECT_EQ(p.value, static_cast<double>(p.t_millis));  // values stay with their times
    out.push_back(p.t_millis);
  }
  return out;
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SampleStore::Open(dir_.Sub("samples.db"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  RetentionStats Apply(int64_t now, const RetentionPolicy& policy) {
    auto stats = store_->ApplyRetention(now, policy);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.value_or(RetentionStats{});
  }

  TempDir dir_;
  std::unique_ptr<SampleStore> store_;
  // Keep 8 h, thin after 4 h to 1 h buckets.
  const RetentionPolicy policy_{hours(8), hours(4), hours(1)};
  // Nothing old enough to delete or thin: only the move out of `head` has work.
  const RetentionPolicy keep_all_{hours(240), hours(120), minutes(1)};
};

TEST_F(RetentionTest, DeletesOldSamplesAndKeepsTheLastSampleOfEachOldBucket) {
  ASSERT_SW_OK(store_->Append(PerMinute("orders", 0, 10 * kHour)));
  const RetentionStats stats = Apply(10 * kHour, policy_);
  // [0, 2 h) is past the retention: 120 samples. [2 h, 6 h) is thinned: 4 buckets of 60 samples
  // keep one each. [6 h, 10 h] stays as it was: 241 samples.
  EXPECT_EQ(stats.deleted, 120);
  EXPECT_EQ(stats.downsampled, 4 * 59);
  EXPECT_EQ(stats.series_removed, 0);
  std::vector<int64_t> times = Times(*store_, "orders");
  ASSERT_EQ(times.size(), 4u + 241u);
  // The last of each bucket (a counter keeps its exact value at the bucket end).
  EXPECT_THAT(std::vector<int64_t>(times.begin(), times.begin() + 5),
              ElementsAre(3 * kHour - kMin, 4 * kHour - kMin, 5 * kHour - kMin, 6 * kHour - kMin,
                          6 * kHour));
  EXPECT_EQ(times.back(), 10 * kHour);
}

TEST_F(RetentionTest, ThinsOnlyWholeBucketsSoABucketIsNeverThinnedTwice) {
  ASSERT_SW_OK(store_->Append(PerMinute("orders", 0, 10 * kHour)));
  // now - downsample_after = 6 h 30 min: the bucket [6 h, 7 h) is not whole yet, so it is left
  // alone. (Retention starts at 2 h 30 min: the rest of [2 h, 3 h) is 30 samples, one kept.)
  const RetentionStats stats = Apply(10 * kHour + 30 * kMin, policy_);
  EXPECT_EQ(stats.deleted, 150);
  EXPECT_EQ(stats.downsampled, 29 + 3 * 59);
  // Once it is whole it is thinned, in full, exactly once.
  const RetentionStats later = Apply(11 * kHour, policy_);
  EXPECT_EQ(later.downsampled, 59);
  std::vector<int64_t> times = Times(*store_, "orders");
  EXPECT_EQ(std::count_if(times.begin(), times.end(),
                          [](int64_t t) { return t >= 6 * kHour && t < 7 * kHour; }),
            1);
}

TEST_F(RetentionTest, EachCallOnlyThinsWhatIsNewSinceTheLast) {
  ASSERT_SW_OK(store_->Append(PerMinute("orders", 0, 10 * kHour)));
  Apply(10 * kHour, policy_);
  // Nothing new: nothing to do.
  const RetentionStats again = Apply(10 * kHour, policy_);
  EXPECT_EQ(again.deleted, 0);
  EXPECT_EQ(again.downsampled, 0);
  // Samples written late into an already-thinned bucket are left alone: the recorded progress,
  // not a rescan, decides what is thinned.
  ASSERT_SW_OK(store_->Append({S("orders", 4 * kHour + 10 * kMin, 4 * kHour + 10 * kMin),
                               S("orders", 4 * kHour + 20 * kMin, 4 * kHour + 20 * kMin)}));
  const RetentionStats next_hour = Apply(11 * kHour, policy_);
  EXPECT_EQ(next_hour.deleted, 1);       // the one sample left of [2 h, 3 h)
  EXPECT_EQ(next_hour.downsampled, 59);  // only [6 h, 7 h)
  std::vector<int64_t> times = Times(*store_, "orders");
  EXPECT_EQ(std::count_if(times.begin(), times.end(),
                          [](int64_t t) { return t >= 4 * kHour && t < 5 * kHour; }),
            3);
}

TEST_F(RetentionTest, ProgressSurvivesReopen) {
  ASSERT_SW_OK(store_->Append(PerMinute("orders", 0, 10 * kHour)));
  Apply(10 * kHour, policy_);
  store_.reset();
  auto store = SampleStore::Open(dir_.Sub("samples.db"));
  ASSERT_TRUE(store.ok());
  store_ = std::move(*store);
  ASSERT_SW_OK(store_->Append({S("orders", 4 * kHour + 10 * kMin, 4 * kHour + 10 * kMin)}));
  EXPECT_EQ(Apply(10 * kHour, policy_).downsampled, 0);
}

TEST_F(RetentionTest, ANewResolutionRethinsFromTheOldestSample) {
  ASSERT_SW_OK(store_->Append(PerMinute("orders", 0, 10 * kHour)));
  Apply(10 * kHour, policy_);
  // 2 h buckets: [2 h, 4 h) and [4 h, 6 h) each held two 1 h survivors; one of each goes.
  // Thinning stops at now - 4 h = 6 h, as before.
  const RetentionPolicy coarser{hours(8), hours(4), hours(2)};
  const RetentionStats stats = Apply(10 * kHour, coarser);
  EXPECT_EQ(stats.downsampled, 2);
  std::vector<int64_t> times = Times(*store_, "orders");
  EXPECT_THAT(std::vector<int64_t>(times.begin(), times.begin() + 3),
              ElementsAre(4 * kHour - kMin, 6 * kHour - kMin, 6 * kHour));
}

TEST_F(RetentionTest, RemovesSeriesWithNothingLeftAndAcceptsThemAgainLater) {
  ASSERT_SW_OK(store_->Append(PerMinute("gone", 0, kHour)));
  ASSERT_SW_OK(store_->Append(PerMinute("orders", 0, 10 * kHour)));
  const RetentionStats stats = Apply(10 * kHour, policy_);
  EXPECT_EQ(stats.series_removed, 1);
  auto series = store_->ListSeries();
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 1u);
  EXPECT_EQ((*series)[0].labels, (rules::Labels{{"state", "orders"}}));
  // The store must not keep the removed series' id: a new sample recreates the series.
  ASSERT_SW_OK(store_->Append({S("gone", 10 * kHour, 10 * kHour)}));
  EXPECT_THAT(Times(*store_, "gone"), ElementsAre(10 * kHour));
}

TEST_F(RetentionTest, WorksInBoundedChunksAcrossManySeries) {
  // 3 series × 12 h of one sample per 10 s = 12 963 samples, more than one chunk's worth.
  std::vector<rules::Sample> batch;
  for (const char* state : {"a", "b", "c"}) {
    for (int64_t t = 0; t <= 12 * kHour; t += 10'000) {
      batch.push_back(S(state, t, static_cast<double>(t)));
    }
  }
  ASSERT_SW_OK(store_->Append(batch));
  const RetentionStats stats = Apply(12 * kHour, policy_);
  // Per series: [0, 4 h) deleted (1440), [4 h, 8 h) thinned to 4 (4 × 359 away).
  EXPECT_EQ(stats.deleted, 3 * 1440);
  EXPECT_EQ(stats.downsampled, 3 * 4 * 359);
  EXPECT_GT(stats.chunks, 2);
  for (const char* state : {"a", "b", "c"}) {
    std::vector<int64_t> times = Times(*store_, state);
    ASSERT_EQ(times.size(), 4u + 1441u) << state;
    EXPECT_EQ(times[0], 5 * kHour - 10'000);
    EXPECT_EQ(times[3], 8 * kHour - 10'000);
    EXPECT_EQ(times[4], 8 * kHour);
  }
}

TEST_F(RetentionTest, RejectsInvalidPolicies) {
  const RetentionPolicy bad[] = {
      {hours(1), hours(1), minutes(1)},          // retention must exceed downsample_after
      {hours(1), hours(2), minutes(1)},          //
      {hours(1), milliseconds(0), minutes(1)},   // downsample_after must be positive
      {hours(1), minutes(10), milliseconds(0)},  // resolution must be positive
      {hours(1), minutes(10), minutes(-1)},
  };
  for (const RetentionPolicy& p : bad) {
    auto stats = store_->ApplyRetention(10 * kHour, p);
    ASSERT_FALSE(stats.ok());
    EXPECT_TRUE(stats.status().IsInvalidArgument()) << stats.status().ToString();
  }
  EXPECT_TRUE(store_->ApplyRetention(10 * kHour, RetentionPolicy{}).ok());  // the defaults
}

TEST_F(RetentionTest, SealingMovesSamplesOutOfHeadInChunksKeepingEveryOne) {
  const std::string path = dir_.Sub("samples.db");
  // 3 x 2 000 samples: more than one chunk of the move.
  for (const char* state : {"orders", "seen", "sessions"}) {
    ASSERT_SW_OK(store_->Append(PerMinute(state, 0, 1999 * kMin)));
  }
  const RetentionStats stats = Apply(1999 * kMin, keep_all_);
  // Everything older than 15 minutes moves; the last 15 minutes (and the sample at now - 15 min)
  // stay in `head`.
  EXPECT_EQ(stats.sealed, 3 * (2000 - 16));
  EXPECT_GT(stats.chunks, 2);
  EXPECT_EQ(stats.deleted + stats.downsampled + stats.series_removed, 0);
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM head"), std::to_string(3 * 16));
  EXPECT_EQ(RawQuery(path, "SELECT min(t) FROM head"), std::to_string(1984 * kMin));
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM samples"), std::to_string(3 * (2000 - 16)));
  for (const char* state : {"orders", "seen", "sessions"}) {
    std::vector<int64_t> times = Times(*store_, state);
    ASSERT_EQ(times.size(), 2000u) << state;
    EXPECT_TRUE(std::is_sorted(times.begin(), times.end())) << state;
    EXPECT_EQ(std::adjacent_find(times.begin(), times.end()), times.end()) << state;
  }
  // Sealing again up to the same point has nothing to move.
  EXPECT_EQ(Apply(1999 * kMin, keep_all_).sealed, 0);
}

// The reason `head` exists: with samples clustered by series, one scrape of N series dirtied
// about one B-tree leaf per series (an 8 KiB write per sample, measured by bench/agent_soak).
// Clustered by time, a scrape appends to the right edge of one tree.
TEST_F(RetentionTest, AScrapeOfManySeriesWritesAFewPagesNotOnePerSeries) {
  const std::string path = dir_.Sub("samples.db");
  constexpr int kSeries = 1000;
  constexpr int kMinutes = 60;
  for (int m = 0; m < kMinutes; ++m) {
    std::vector<rules::Sample> scrape;
    for (int i = 0; i < kSeries; ++i)
      scrape.push_back(S("s" + std::to_string(i), m * kMin, m * kMin));
    ASSERT_SW_OK(store_->Append(scrape));
  }
  const uint64_t page = std::stoull(RawQuery(path, "PRAGMA page_size"));
  const auto wal_frames_since_checkpoint = [&] {
    return std::filesystem::file_size(path + "-wal") / (page + 24);
  };
  const auto checkpoint = [&] {
    RawExec(path, "PRAGMA wal_checkpoint(TRUNCATE)");
    ASSERT_EQ(std::filesystem::file_size(path + "-wal"), 0u);
  };

  // An hour of history per series, all of it moved into `samples`: 654 pages when measured (the
  // leaves of 60 000 rows in `samples`, the emptied ones of `head`). Moved in time order, 4 096
  // rows at a time, each of the 15 chunks rewrote the leaves of all series (~5 000 in all).
  checkpoint();
  const int64_t now = kMinutes * kMin + 16 * kMin;
  EXPECT_EQ(Apply(now, keep_all_).sealed, kSeries * kMinutes);
  EXPECT_LT(wal_frames_since_checkpoint(), 2u * kSeries) << "pages written moving an hour";

  checkpoint();
  std::vector<rules::Sample> scrape;
  for (int i = 0; i < kSeries; ++i) scrape.push_back(S("s" + std::to_string(i), now, now));
  ASSERT_SW_OK(store_->Append(scrape));
  // 1 000 samples of ~20 bytes: about 5 leaves. Clustered by series it was one per series,
  // 60 samples each: 246 pages when measured.
  EXPECT_LT(wal_frames_since_checkpoint(), 30u)
      << "pages written for one scrape of " << kSeries << " series";
  EXPECT_EQ(Times(*store_, "s7").size(), static_cast<size_t>(kMinutes) + 1);
}

// A kill between the steps of a move leaves `head` holding samples older than sealed_until, some
// of them already copied to `samples`, and maybe a newer value written to `samples` since.
TEST_F(RetentionTest, AnInterruptedMoveIsFinishedAtOpenKeepingTheNewerValue) {
  const std::string path = dir_.Sub("samples.db");
  ASSERT_SW_OK(store_->Append(PerMinute("orders", 0, 30 * kMin)));
  ASSERT_SW_OK(store_->Append(PerMinute("seen", 0, 30 * kMin)));
  store_.reset();
  // Step 1 done (the boundary at 20 min), step 3 part-way ("orders" up to 10 min copied), and a
  // late write for "seen" at 5 min that went to `samples` after the boundary moved.
  RawExec(path,
          "UPDATE meta SET value = 1200000 WHERE key = 'sealed_until';"
          "INSERT INTO meta(key, value) SELECT 'sealed_until', 1200000 WHERE changes() = 0;"
          "INSERT INTO samples SELECT series_id, t, value FROM head WHERE series_id = 1 AND t <= "
          "600000;"
          "INSERT INTO samples VALUES (2, 300000, 300000);"
          "UPDATE head SET value = -1 WHERE series_id = 2 AND t = 300000;");
  ASSERT_EQ(RawQuery(path, "SELECT count(*) FROM head WHERE t < 1200000"), "40");

  auto store = SampleStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM head WHERE t < 1200000"), "0");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM head"), std::to_string(2 * 11));
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM samples"), std::to_string(2 * 20));
  store_ = std::move(*store);
  // Every sample once, in order, with its value (Times checks value == t: the late write won).
  for (const char* state : {"orders", "seen"}) {
    std::vector<int64_t> times = Times(*store_, state);
    ASSERT_EQ(times.size(), 31u) << state;
    EXPECT_TRUE(std::is_sorted(times.begin(), times.end())) << state;
    EXPECT_EQ(std::adjacent_find(times.begin(), times.end()), times.end()) << state;
  }
  int64_t visited = 0;
  ASSERT_SW_OK(store_->ForEachSample(0, kHour, [&](const rules::Sample& sample) {
    EXPECT_EQ(sample.value, static_cast<double>(sample.t_millis));
    ++visited;
  }));
  EXPECT_EQ(visited, 62);
}

TEST_F(RetentionTest, AnEmptyStoreIsFine) {
  const RetentionStats stats = Apply(10 * kHour, policy_);
  EXPECT_EQ(stats.deleted + stats.downsampled + stats.series_removed, 0);
  EXPECT_EQ(stats.chunks, 2);  // the seal of `head` and the pass over `samples`
}

}  // namespace
}  // namespace statewatch::storage
