// The second line of evidence (issue #5, "Heuristics v2") and the forecasts, on synthetic
// series at one-minute steps over simulated days: a TTL whose cleanup never runs, checkpoints
// that only ever add, a disk / checkpoint timeout / memory budget about to run out. Each must
// fire with its numbers, and its look-alikes that are fine must not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rules/simulate.h"
#include "statewatch/rules/rule_engine.h"

namespace statewatch::rules {
namespace {

using namespace statewatch::rules::testing;  // NOLINT: the test vocabulary

constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr int64_t kDayMinutes = 1440;

// statewatch_state_expired_total of a state, one series per cleanup path as the engine
// collector reports it.
Feed Expired(const std::string& state, const std::string& cleanup,
             std::function<double(int64_t)> f) {
  Labels labels = StateLabels(state);
  labels.emplace_back("cleanup", cleanup);
  return {"statewatch_state_expired_total", labels, std::move(f)};
}

Labels JobLabels() {
  return {{"job", "cdc"}, {"source", "chk"}};
}

const Recorded* FirstFiring(const std::vector<Recorded>& rs, const std::string& alert) {
  for (const Recorded& r : rs) {
    if (r.t.alert.rule == alert && r.t.alert.state == AlertState::kFiring) return &r;
  }
  return nullptr;
}

// ---------------------------------------------------------------- TTL set, nothing expires

TEST(TtlCleanupNotRunningTest, FiresWhenTheCounterStaysFlatForATtlPlusAWindow) {
  RuleEngine engine({Named("TtlCleanupNotRunning")});
  const double ttl = 86400;  // one day
  auto rs = Simulate(engine,
                     {Keys("seen", [](int64_t m) { return 1000 + 50.0 * m; }), Ttl("seen", ttl),
                      Expired("seen", "compaction_filter", [](int64_t) { return 0; }),
                      Expired("seen", "full_snapshot", [](int64_t) { return 0; })},
                     0, 4 * kDayMinutes);
  const Recorded* fired = FirstFiring(rs, "TtlCleanupNotRunning");
  ASSERT_NE(fired, nullptr) << Describe(rs);
  // Pending once the counter has been quiet for TTL + window (2 days), firing an hour later.
  EXPECT_EQ(fired->minute, 2 * kDayMinutes + 60) << Describe(rs);
  const Alert& a = fired->t.alert;
  EXPECT_EQ(a.values.at("ttl"), ttl);
  EXPECT_EQ(a.values.at("expired"), 0);
  EXPECT_EQ(a.values.at("seconds_without_expiry"), (2 * kDayMinutes + 60) * 60.0);
  EXPECT_NEAR(a.values.at("slope_per_hour"), 3000, 1e-6);
  const std::string& d = a.annotations.at("description");
  EXPECT_NE(d.find("TTL of 1d"), std::string::npos) << d;
  EXPECT_NE(d.find("has stayed at 0 for 2d 1h"), std::string::npos) << d;
  EXPECT_EQ(a.annotations.at("summary"),
            "State seen of job cdc has a TTL but nothing expires (+3k keys/h)");

  const std::vector<StateVerdict> verdicts = engine.Verdicts(At(4 * kDayMinutes - 1));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].verdict, "growing_ttl_not_expiring");
}

TEST(TtlCleanupNotRunningTest, ExpiringStateDoesNotFireEvenWhileItGrows) {
  RuleEngine engine({Named("TtlCleanupNotRunning")});
  // Keys grow (more arrive than expire) but the counter rises once the first TTL has passed.
  auto rs = Simulate(engine,
                     {Keys("seen", [](int64_t m) { return 1000 + 50.0 * m; }), Ttl("seen", 86400),
                      Expired("seen", "compaction_filter",
                              [](int64_t m) { return m < kDayMinutes ? 0 : 10.0 * m; })},
                     0, 5 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
}

TEST(TtlCleanupNotRunningTest, CounterThatStopsLaterFiresATtlPlusAWindowAfterItStopped) {
  RuleEngine engine({Named("TtlCleanupNotRunning")});
  const int64_t stop = 3 * kDayMinutes;
  auto rs = Simulate(engine,
                     {Keys("seen", [](int64_t m) { return 1000 + 50.0 * m; }), Ttl("seen", 86400),
                      Expired("seen", "incremental",
                              [&](int64_t m) { return 10.0 * std::min<int64_t>(m, stop); })},
                     0, 6 * kDayMinutes);
  const Recorded* fired = FirstFiring(rs, "TtlCleanupNotRunning");
  ASSERT_NE(fired, nullptr) << Describe(rs);
  EXPECT_EQ(fired->minute, stop + 2 * kDayMinutes + 60);
  EXPECT_EQ(fired->t.alert.values.at("expired"), 10.0 * stop);
}

TEST(TtlCleanupNotRunningTest, NoCounterOrNoTtlIsNoEvidence) {
  // No counter at all (a source that does not report one): nothing to conclude.
  RuleEngine without_counter({Named("TtlCleanupNotRunning")});
  auto rs = Simulate(without_counter,
                     {Keys("seen", [](int64_t m) { return 1000 + 50.0 * m; }), Ttl("seen", 86400)},
                     0, 4 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
  // No TTL: StateWithoutTtlGrowing's business, not this rule's.
  RuleEngine without_ttl({Named("TtlCleanupNotRunning")});
  rs = Simulate(without_ttl,
                {Keys("seen", [](int64_t m) { return 1000 + 50.0 * m; }), Ttl("seen", 0),
                 Expired("seen", "compaction_filter", [](int64_t) { return 0; })},
                0, 4 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
}

// ---------------------------------------------------------------- checkpoints only ever add

Feed FullSize(std::function<double(int64_t)> f) {
  return {"statewatch_checkpoint_full_size_bytes", JobLabels(), std::move(f)};
}
Feed DeltaSize(std::function<double(int64_t)> f) {
  return {"statewatch_checkpoint_delta_size_bytes", JobLabels(), std::move(f)};
}

TEST(CheckpointGrowsAppendOnlyTest, GrowingFullSizeWithFlatDeltasFires) {
  RuleEngine engine({Named("CheckpointGrowsAppendOnly")});
  // Each checkpoint adds 8 MiB, give or take 10 %; nothing is ever removed.
  auto rs =
      Simulate(engine,
               {FullSize([](int64_t m) { return 1e9 + 8.0 * (1 << 20) * static_cast<double>(m); }),
                DeltaSize([](int64_t m) { return 8.0 * (1 << 20) * (m % 2 == 0 ? 1.1 : 0.9); })},
               0, 2 * kDayMinutes);
  const Recorded* fired = FirstFiring(rs, "CheckpointGrowsAppendOnly");
  ASSERT_NE(fired, nullptr) << Describe(rs);
  EXPECT_EQ(fired->minute, kDayMinutes + 60);
  const Alert& a = fired->t.alert;
  EXPECT_NEAR(a.values.at("companion_level"), 8.0 * (1 << 20), 0.02 * 8 * (1 << 20));
  EXPECT_LT(a.values.at("companion_change_ratio"), 0.05);
  EXPECT_NE(a.annotations.at("description").find("flat at about 8.001MiB"), std::string::npos)
      << a.annotations.at("description");
  EXPECT_NE(a.annotations.at("summary").find("grow by 480MiB/h"), std::string::npos)
      << a.annotations.at("summary");
}

TEST(CheckpointGrowsAppendOnlyTest, DeltasThatGrowWithTheStateOrNoDeltasDoNotFire) {
  // Deltas rising with the full size: changes (compactions rewriting more as state grows),
  // not a pure append.
  RuleEngine rising({Named("CheckpointGrowsAppendOnly")});
  auto rs = Simulate(rising,
                     {FullSize([](int64_t m) { return 1e9 + 1e6 * static_cast<double>(m); }),
                      DeltaSize([](int64_t m) { return 1e5 + 1e3 * static_cast<double>(m); })},
                     0, 3 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
  // No delta size reported: no evidence.
  RuleEngine alone({Named("CheckpointGrowsAppendOnly")});
  rs = Simulate(alone, {FullSize([](int64_t m) { return 1e9 + 1e6 * static_cast<double>(m); })}, 0,
                3 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
  // A full size at a plateau (TTL in steady state) with flat deltas: bounded.
  RuleEngine plateau({Named("CheckpointGrowsAppendOnly")});
  rs = Simulate(plateau,
                {FullSize([](int64_t m) { return 5e9 + 1e7 * std::sin(static_cast<double>(m)); }),
                 DeltaSize([](int64_t) { return 8e6; })},
                0, 3 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
}

// ---------------------------------------------------------------- forecasts

Feed Avail(std::function<double(int64_t)> f) {
  return {"statewatch_filesystem_avail_bytes",
          {{"job", "cdc"}, {"path", "/var/lib/flink/rocksdb"}, {"source", "db"}},
          std::move(f)};
}

TEST(ForecastTest, DiskFillingAtAGigabyteAnHourAlertsADayAhead) {
  RuleEngine engine({Named("DiskWillFillUp")});
  // 100 GiB free, 1 GiB/h written: empty at hour 100, so 24 h ahead is hour 76.
  auto rs =
      Simulate(engine, {Avail([](int64_t m) { return 100 * kGiB - kGiB * m / 60.0; })}, 0, 80 * 60);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  // At the boundary minute itself the line is 24 h from empty to within rounding.
  EXPECT_NEAR(rs[0].minute, 76 * 60, 1);
  EXPECT_EQ(rs[1].minute, rs[0].minute + 30);  // for: 30m
  const Alert& a = rs[1].t.alert;
  EXPECT_NEAR(a.value, 100 * 3600 - rs[1].minute * 60.0, 1);
  EXPECT_EQ(a.values.at("limit"), 0);
  EXPECT_EQ(a.values.at("horizon_seconds"), 86400);
  EXPECT_NEAR(a.values.at("slope_per_hour"), -kGiB, 1);
  // 23h 30m left when it fires (hour 100 minus 76h 30m), give or take the fit's last bits.
  EXPECT_THAT(a.annotations.at("summary"),
              ::testing::ContainsRegex(
                  "^The disk holding /var/lib/flink/rocksdb fills up in 23h (29m 59s|30m 0s)"));
  // Forecasts are about resources, not states: no verdict.
  EXPECT_TRUE(engine.Verdicts(At(80 * 60 - 1)).empty());
}

TEST(ForecastTest, BoundedOrSlowDiskUseDoesNotAlert) {
  // Compaction sawtooth: space taken and given back every hour.
  RuleEngine sawtooth({Named("DiskWillFillUp")});
  auto rs =
      Simulate(sawtooth, {Avail([](int64_t m) { return 50 * kGiB - 5 * kGiB * (m % 60) / 60.0; })},
               0, 3 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
  // Draining, but full only in 100 days.
  RuleEngine slow({Named("DiskWillFillUp")});
  rs = Simulate(slow, {Avail([](int64_t m) { return 100 * kGiB - kGiB * m / (24.0 * 60); })}, 0,
                3 * kDayMinutes);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
}

TEST(ForecastTest, AlreadyFullFiresWithZeroSeconds) {
  RuleEngine engine({Named("DiskWillFillUp")});
  auto rs = Simulate(engine, {Avail([](int64_t) { return 0; })}, 0, 8 * 60);
  const Recorded* fired = FirstFiring(rs, "DiskWillFillUp");
  ASSERT_NE(fired, nullptr) << Describe(rs);
  EXPECT_EQ(fired->t.alert.value, 0);
}

TEST(ForecastTest, CheckpointDurationReachesTheTimeoutItIsJoinedWith) {
  const Labels job = JobLabels();
  // 60 s growing by 10 s/h against Flink's 10 min timeout: reached at hour 54, so 24 h
  // ahead is hour 30.
  const Feed duration{"statewatch_checkpoint_duration_seconds", job,
                      [](int64_t m) { return 60 + 10.0 * m / 60; }};
  const Feed timeout{"statewatch_checkpoint_timeout_seconds", job, [](int64_t) { return 600; }};
  RuleEngine engine({Named("CheckpointWillTimeOut")});
  auto rs = Simulate(engine, {duration, timeout}, 0, 40 * 60);
  const Recorded* fired = FirstFiring(rs, "CheckpointWillTimeOut");
  ASSERT_NE(fired, nullptr) << Describe(rs);
  EXPECT_NEAR(rs[0].minute, 30 * 60, 1) << Describe(rs);
  EXPECT_EQ(fired->minute, rs[0].minute + 60);  // for: 1h
  EXPECT_EQ(fired->t.alert.values.at("limit"), 600);
  EXPECT_NE(fired->t.alert.annotations.at("description").find("timeout of 10m"), std::string::npos)
      << fired->t.alert.annotations.at("description");
  // Without the timeout reading there is nothing to forecast against.
  RuleEngine alone({Named("CheckpointWillTimeOut")});
  rs = Simulate(alone, {duration}, 0, 40 * 60);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
}

TEST(ForecastTest, PinnedMemoryReachingTheBudget) {
  const Labels engine_labels = {{"job", "cdc"}, {"source", "engine"}};
  const Feed pinned{"statewatch_rocksdb_pinned_memory_bytes", engine_labels,
                    [](int64_t m) { return kGiB + 64.0 * (1 << 20) * m / 60; }};
  const Feed budget{"statewatch_rocksdb_memory_budget_bytes", engine_labels,
                    [](int64_t) { return 2 * kGiB; }};
  RuleEngine engine({Named("MemoryBudgetWillBeExceeded")});
  // 1 GiB + 64 MiB/h reaches 2 GiB at hour 16; 6 h ahead is hour 10.
  auto rs = Simulate(engine, {pinned, budget}, 0, 16 * 60);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_NEAR(rs[0].minute, 10 * 60, 1);
  EXPECT_NEAR(rs[1].t.alert.value, 16 * 3600 - rs[1].minute * 60.0, 1);
}

}  // namespace
}  // namespace statewatch::rules
