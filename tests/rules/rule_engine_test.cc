// RuleEngine on synthetic series at one-minute steps over several days (time is data: no
// sleeps). Sustained leaks must fire, and no earlier than `for:` allows; bounded shapes —
// TTL plateaus, compaction sawtooth, noise, steps, daily cycles — must not. Then the alert
// state machine: for, keep_firing_for, resolves reported once, restore after a restart.
#include "statewatch/rules/rule_engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "rules/simulate.h"

namespace statewatch::rules {
namespace {

using namespace statewatch::rules::testing;  // NOLINT: the test vocabulary
using std::chrono::hours;
using std::chrono::minutes;

const int64_t kDays4 = 4 * 1440;

// ---------------------------------------------------------------- growth detection

TEST(RuleEngineTest, LinearLeakFiresAfterAFullWindowAndForDuration) {
  RuleEngine engine({Named("StateGrowingWithoutBound")});
  auto rs =
      Simulate(engine, {Keys("orders", [](int64_t m) { return 1000 + 50.0 * m; })}, 0, kDays4);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  // Judged once the history spans the 24 h window; pending then, firing 1 h (for:) later.
  EXPECT_EQ(rs[0].minute, 1440);
  EXPECT_EQ(rs[0].t.from, AlertState::kInactive);
  EXPECT_EQ(rs[0].t.alert.state, AlertState::kPending);
  EXPECT_EQ(rs[0].t.alert.active_at_millis, At(1440));
  EXPECT_EQ(rs[1].minute, 1440 + 60);
  EXPECT_EQ(rs[1].t.from, AlertState::kPending);
  EXPECT_EQ(rs[1].t.alert.state, AlertState::kFiring);
  EXPECT_EQ(rs[1].t.alert.fired_at_millis, At(1500));
  EXPECT_EQ(rs[1].t.alert.active_at_millis, At(1440));

  const Alert& a = rs[1].t.alert;
  EXPECT_NEAR(a.value, 3000, 1e-6);  // 50 keys/min
  EXPECT_NEAR(a.values.at("slope_per_hour"), 3000, 1e-6);
  EXPECT_NEAR(a.values.at("r_squared"), 1, 1e-9);
  EXPECT_NEAR(a.values.at("level"), 1000 + 50.0 * 1500, 1e-3);
  EXPECT_EQ(a.values.at("window_seconds"), 86400);
  EXPECT_EQ(a.values.count("seconds_to_limit"), 0u);
  EXPECT_EQ(a.labels, (Labels{{"alertname", "StateGrowingWithoutBound"},
                              {"job", "cdc"},
                              {"severity", "warning"},
                              {"source", "engine"},
                              {"state", "orders"}}));
  EXPECT_EQ(a.annotations.at("summary"),
            "State orders of job cdc grows without bound (+3k keys/h)");
  EXPECT_NE(a.annotations.at("description").find("about 76k keys"), std::string::npos)
      << a.annotations.at("description");
  EXPECT_NE(a.annotations.at("description").find("explains 100%"), std::string::npos);
  EXPECT_NE(a.annotations.at("runbook").find("state orders"), std::string::npos);
  ASSERT_EQ(engine.Alerts().size(), 1u);
  EXPECT_EQ(engine.Alerts()[0].state, AlertState::kFiring);
}

TEST(RuleEngineTest, NoisyLeakStillFiresAndProjectsTheLimit) {
  RuleSpec rule = Named("StateGrowingWithoutBound");
  rule.limit = 1e6;
  RuleEngine engine({rule});
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 300);
  auto rs =
      Simulate(engine, {Keys("orders", [&](int64_t m) { return 10'000 + 20.0 * m + noise(rng); })},
               0, 2 * 1440);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_EQ(rs[1].t.alert.state, AlertState::kFiring);
  const Alert& a = rs[1].t.alert;
  const double level = a.values.at("level");
  const double slope = a.values.at("slope_per_hour");
  EXPECT_NEAR(level, 10'000 + 20.0 * 1500, 300);
  EXPECT_NEAR(slope, 1200, 12);
  const double expected = (1e6 - level) / (slope / 3600);  // ~33 days
  EXPECT_NEAR(a.values.at("seconds_to_limit"), expected, 1e-6 * expected);
  EXPECT_EQ(a.values.at("limit"), 1e6);
}

TEST(RuleEngineTest, LeakStartingAfterFlatHistoryIsCaught) {
  RuleEngine engine({Named("StateGrowingWithoutBound")});
  const int64_t start = 2 * 1440;
  auto rs = Simulate(
      engine,
      {Keys("orders", [&](int64_t m) { return m < start ? 5000.0 : 5000.0 + 10.0 * (m - start); })},
      0, 5 * 1440);
  ASSERT_FALSE(rs.empty());
  EXPECT_EQ(rs.back().t.alert.state, AlertState::kFiring);
  // The line must explain 90 % of a window that starts flat: ~63 % of it must be the ramp.
  const int64_t delay_hours = (rs.back().minute - start) / 60;
  EXPECT_GE(delay_hours, 14);
  EXPECT_LE(delay_hours, 18);
}

// A TTL'd state whose keys arrive at a constant rate grows for one TTL, then expirations match
// arrivals and it plateaus (with some jitter).
double TtlPlateau(int64_t m, double ttl_minutes, std::mt19937_64& rng) {
  std::normal_distribution<double> jitter(0, 20);
  return std::min(static_cast<double>(m), ttl_minutes) * 100 + jitter(rng);
}

TEST(RuleEngineTest, TtlPlateauDoesNotFireEvenWhenTheTtlIsLongerThanTheWindow) {
  for (double ttl_hours : {6.0, 36.0}) {
    std::mt19937_64 rng(1);
    RuleEngine engine(DefaultRules());
    auto rs =
        Simulate(engine,
                 {Keys("sessions", [&](int64_t m) { return TtlPlateau(m, ttl_hours * 60, rng); }),
                  Ttl("sessions", ttl_hours * 3600)},
                 0, 5 * 1440);
    EXPECT_TRUE(rs.empty()) << "ttl " << ttl_hours << "h:\n" << Describe(rs);
    // After 2 × TTL + window the state is judged, and judged bounded.
    auto verdicts = engine.Verdicts(At(5 * 1440 - 1));
    ASSERT_EQ(verdicts.size(), 1u);
    EXPECT_EQ(verdicts[0].verdict, "bounded");
    EXPECT_EQ(verdicts[0].ttl, ttl_hours * 3600);
  }
}

TEST(RuleEngineTest, TtlStateWhoseKeysStayActiveForATtlDoesNotFire) {
  // Each key is written for a day after it appears, then expires one TTL (a day) after its last
  // write: the count rises for two days — a TTL longer than one TTL — and then plateaus.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> jitter(0, 20);
  RuleEngine engine(DefaultRules());
  auto rs = Simulate(engine,
                     {Keys("orders",
                           [&](int64_t m) {
                             return 100.0 * static_cast<double>(std::min<int64_t>(m, 2 * 1440)) +
                                    jitter(rng);
                           }),
                      Ttl("orders", 24 * 3600)},
                     0, 6 * 1440);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
  auto v = engine.Verdicts(At(6 * 1440 - 1));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].verdict, "bounded");
}

TEST(RuleEngineTest, TtlStateIsInsufficientDataDuringItsWarmUp) {
  std::mt19937_64 rng(1);
  RuleEngine engine(DefaultRules());
  Simulate(engine,
           {Keys("sessions", [&](int64_t m) { return TtlPlateau(m, 36 * 60, rng); }),
            Ttl("sessions", 36 * 3600)},
           0, 30 * 60);
  auto v = engine.Verdicts(At(30 * 60 - 1));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].verdict, "insufficient_data");
  ASSERT_TRUE(v[0].fit.has_value());
  EXPECT_GT(v[0].fit->r_squared, 0.99);  // it does look like a leak; the TTL says wait
}

TEST(RuleEngineTest, TtlStateThatKeepsGrowingPastTtlPlusWindowFires) {
  // TTL set but cleanup not running: growth continues past the TTL horizon.
  RuleEngine engine({Named("StateGrowingWithoutBound"), Named("StateWithoutTtlGrowing")});
  auto rs = Simulate(
      engine, {Keys("sessions", [](int64_t m) { return 100.0 * m; }), Ttl("sessions", 6 * 3600)}, 0,
      2 * 1440);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_EQ(rs[0].t.alert.rule, "StateGrowingWithoutBound");
  EXPECT_EQ(rs[0].minute, 36 * 60);  // 2 × TTL 6 h + window 24 h
  EXPECT_EQ(rs[1].t.alert.state, AlertState::kFiring);
  EXPECT_EQ(rs[1].minute, 37 * 60);
  EXPECT_EQ(rs[1].t.alert.values.at("ttl"), 6 * 3600);
  auto v = engine.Verdicts(At(2 * 1440 - 1));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].verdict, "growing");
}

TEST(RuleEngineTest, BoundedShapesDoNotFire) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(0, 1);
  const double two_pi = 2 * std::numbers::pi;
  struct Shape {
    const char* name;
    std::function<double(int64_t)> f;
  };
  const std::vector<Shape> shapes = {
      {"noisy flat", [&](int64_t) { return 1e6 + 2000 * noise(rng); }},
      {"step", [](int64_t m) { return m < 1440 + 720 ? 1e5 : 2e5; }},
      {"step with noise", [&](int64_t m) { return (m < 3000 ? 1e5 : 1.3e5) + 500 * noise(rng); }},
      {"daily cycle",
       [&](int64_t m) { return 1e6 + 2e5 * std::sin(two_pi * static_cast<double>(m) / 1440); }},
      {"daily cycle, late phase",
       [&](int64_t m) { return 1e6 + 2e5 * std::cos(two_pi * static_cast<double>(m) / 1440); }},
      {"daily cycle with noise",
       [&](int64_t m) {
         return 5e5 + 1e5 * std::sin(two_pi * static_cast<double>(m + 300) / 1440) +
                5e3 * noise(rng);
       }},
      {"compaction sawtooth (2 h)",
       [](int64_t m) { return 1e9 + 5e8 * static_cast<double>(m % 120) / 120; }},
      {"compaction sawtooth (7 h), noisy",
       [&](int64_t m) {
         return 4e9 + 2e9 * static_cast<double>(m % 420) / 420 + 1e7 * noise(rng);
       }},
  };
  for (const Shape& shape : shapes) {
    RuleEngine engine(DefaultRules());
    const Labels cf = {{"cf", "orders"}, {"job", "cdc"}, {"source", "/data/rocksdb"}};
    auto rs = Simulate(engine,
                       {Keys("s", shape.f),
                        {"statewatch_rocksdb_live_data_bytes", cf, shape.f},
                        {"statewatch_rocksdb_estimate_num_keys", cf, shape.f}},
                       0, 5 * 1440);
    EXPECT_TRUE(rs.empty()) << shape.name << ":\n" << Describe(rs);
    for (const StateVerdict& v : engine.Verdicts(At(5 * 1440 - 1))) {
      EXPECT_EQ(v.verdict, "bounded") << shape.name << " " << v.series;
    }
  }
}

TEST(RuleEngineTest, MissingTtlFiresForTtlZeroOrAbsentAndNotForATtl) {
  const auto leak = [](int64_t m) { return 2000 + 30.0 * m; };
  {
    RuleEngine engine({Named("StateWithoutTtlGrowing")});
    auto rs = Simulate(engine, {Keys("orders", leak), Ttl("orders", 0)}, 0, 2 * 1440);
    ASSERT_EQ(rs.size(), 2u) << Describe(rs);
    EXPECT_EQ(rs[1].minute, 1500);
    const Alert& a = rs[1].t.alert;
    EXPECT_EQ(a.state, AlertState::kFiring);
    EXPECT_EQ(a.values.at("ttl"), 0);
    EXPECT_EQ(a.annotations.at("summary"),
              "State orders of job cdc has no TTL and keeps growing (+1.8k keys/h)");
    EXPECT_NE(a.annotations.at("runbook").find("Set a TTL on state orders"), std::string::npos);
    EXPECT_NE(a.annotations.at("runbook").find("TtlConfig::Of("), std::string::npos);
    auto v = engine.Verdicts(At(2 * 1440 - 1));
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].verdict, "growing_without_ttl");
    EXPECT_EQ(v[0].ttl, 0.0);
  }
  {
    RuleEngine engine({Named("StateWithoutTtlGrowing")});
    auto rs = Simulate(engine, {Keys("orders", leak)}, 0, 2 * 1440);  // no TTL reading at all
    ASSERT_EQ(rs.size(), 2u) << Describe(rs);
    EXPECT_EQ(rs[1].t.alert.values.at("ttl"), 0);
  }
  {
    RuleEngine engine({Named("StateWithoutTtlGrowing")});
    auto rs = Simulate(engine, {Keys("orders", leak), Ttl("orders", 3600)}, 0, 3 * 1440);
    EXPECT_TRUE(rs.empty()) << Describe(rs);
  }
}

TEST(RuleEngineTest, ColumnFamilyWithoutTtlFilterUsesTheFilterFlag) {
  const Labels cf = {{"cf", "orders"}, {"job", "cdc"}, {"source", "/data/rocksdb"}};
  for (double filter : {0.0, 1.0}) {
    RuleEngine engine({Named("ColumnFamilyWithoutTtlFilterGrowing")});
    auto rs = Simulate(
        engine,
        {{"statewatch_rocksdb_estimate_num_keys", cf, [](int64_t m) { return 1e4 + 7.0 * m; }},
         {"statewatch_rocksdb_ttl_compaction_filter", cf, [=](int64_t) { return filter; }}},
        0, 2 * 1440);
    if (filter == 0) {
      ASSERT_EQ(rs.size(), 2u) << Describe(rs);
      EXPECT_NE(rs[1].t.alert.annotations.at("summary").find("Column family orders has no TTL"),
                std::string::npos);
      EXPECT_NE(rs[1].t.alert.annotations.at("runbook").find("not a state TTL"), std::string::npos);
    } else {
      EXPECT_TRUE(rs.empty()) << Describe(rs);
    }
  }
}

TEST(RuleEngineTest, FloorKeepsSmallStatesQuiet) {
  RuleSpec rule = Named("StateGrowingWithoutBound");
  rule.floor = 1e6;
  RuleEngine engine({rule});
  auto rs = Simulate(engine, {Keys("small", [](int64_t m) { return 10.0 * m; })}, 0, 2 * 1440);
  EXPECT_TRUE(rs.empty()) << Describe(rs);  // ~28 800 keys, under the floor
}

TEST(RuleEngineTest, MatchersSelectSeries) {
  RuleSpec rule = Named("StateGrowingWithoutBound");
  rule.matchers = {{"state", "orders"}};
  RuleSpec no_cf = Named("StateGrowingWithoutBound");
  no_cf.alert = "NoCf";
  no_cf.matchers = {{"cf", ""}};  // matches series without a cf label
  RuleEngine engine({rule, no_cf});
  auto leak = [](int64_t m) { return 100.0 * m; };
  auto rs = Simulate(engine, {Keys("orders", leak), Keys("users", leak)}, 0, 1441);
  ASSERT_EQ(rs.size(), 3u) << Describe(rs);  // orders for the first, both for the second
  EXPECT_EQ(rs[0].t.alert.rule, "StateGrowingWithoutBound");
  EXPECT_EQ(rs[1].t.alert.rule, "NoCf");
  EXPECT_EQ(rs[2].t.alert.rule, "NoCf");
}

// ---------------------------------------------------------------- threshold and state machine

RuleSpec Stalls() {
  return Named("WriteStallsActive");
}  // > 0 for 5 min

Feed StallRate(std::function<double(int64_t)> f) {
  return {"statewatch_rocksdb_delayed_write_rate_bytes",
          {{"job", "cdc"}, {"source", "engine"}},
          std::move(f)};
}

TEST(RuleEngineTest, ThresholdGoesPendingThenFiresExactlyWhenForElapsed) {
  RuleEngine engine({Stalls()});
  auto rs = Simulate(engine, {StallRate([](int64_t m) { return m >= 10 && m < 30 ? 16e6 : 0.0; })},
                     0, 60);
  ASSERT_EQ(rs.size(), 3u) << Describe(rs);
  EXPECT_EQ(rs[0].minute, 10);
  EXPECT_EQ(rs[0].t.alert.state, AlertState::kPending);
  EXPECT_EQ(rs[1].minute, 15);  // for: 5m, measured from active_at
  EXPECT_EQ(rs[1].t.from, AlertState::kPending);
  EXPECT_EQ(rs[1].t.alert.state, AlertState::kFiring);
  EXPECT_EQ(rs[1].t.alert.value, 16e6);
  EXPECT_EQ(rs[1].t.alert.annotations.at("summary"),
            "RocksDB is throttling writes of engine to 15.26MiB/s");
  // Resolved once, when the condition stops holding, and not again.
  EXPECT_EQ(rs[2].minute, 30);
  EXPECT_EQ(rs[2].t.from, AlertState::kFiring);
  EXPECT_EQ(rs[2].t.alert.state, AlertState::kInactive);
  EXPECT_EQ(rs[2].t.alert.resolved_at_millis, At(30));
  EXPECT_EQ(rs[2].t.alert.fired_at_millis, At(15));
  EXPECT_TRUE(engine.Alerts().empty());
}

TEST(RuleEngineTest, PendingAlertThatStopsHoldingIsDropped) {
  RuleEngine engine({Stalls()});
  auto rs =
      Simulate(engine, {StallRate([](int64_t m) { return m >= 10 && m < 13 ? 1.0 : 0.0; })}, 0, 30);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_EQ(rs[1].minute, 13);
  EXPECT_EQ(rs[1].t.from, AlertState::kPending);
  EXPECT_EQ(rs[1].t.alert.state, AlertState::kInactive);
  EXPECT_EQ(rs[1].t.alert.resolved_at_millis, 0);
}

TEST(RuleEngineTest, ForZeroFiresAtOnceInOneTransition) {
  RuleSpec rule = Stalls();
  rule.for_duration = minutes(0);
  RuleEngine engine({rule});
  auto rs = Simulate(engine, {StallRate([](int64_t m) { return m == 3 ? 1.0 : 0.0; })}, 0, 10);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_EQ(rs[0].minute, 3);
  EXPECT_EQ(rs[0].t.from, AlertState::kInactive);
  EXPECT_EQ(rs[0].t.alert.state, AlertState::kFiring);
  EXPECT_EQ(rs[1].minute, 4);
  EXPECT_EQ(rs[1].t.alert.state, AlertState::kInactive);
}

TEST(RuleEngineTest, KeepFiringForHoldsAFiringAlertAfterTheConditionStops) {
  RuleSpec rule = Stalls();
  rule.for_duration = minutes(0);
  rule.keep_firing_for = minutes(10);
  RuleEngine engine({rule});
  // True at minutes 0-4 and again at minute 9 (within keep_firing_for: no transition).
  auto rs =
      Simulate(engine, {StallRate([](int64_t m) { return m < 5 || m == 9 ? 1.0 : 0.0; })}, 0, 40);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_EQ(rs[0].minute, 0);
  EXPECT_EQ(rs[0].t.alert.state, AlertState::kFiring);
  // Last held at minute 9: firing while now - 9 < 10, resolved at minute 19.
  EXPECT_EQ(rs[1].minute, 19);
  EXPECT_EQ(rs[1].t.from, AlertState::kFiring);
  EXPECT_EQ(rs[1].t.alert.last_active_millis, At(9));
}

TEST(RuleEngineTest, StaleSeriesCountsAsConditionFalse) {
  RuleSpec rule = Stalls();
  rule.for_duration = minutes(0);
  RuleEngine engine({rule});
  // Reports a stall until minute 10, then nothing at all.
  auto rs =
      Simulate(engine, {StallRate([](int64_t m) { return m <= 10 ? 1.0 : kNoSample; })}, 0, 30);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_EQ(rs[1].minute, 16);  // the last sample (minute 10) is read until 5 min old
  EXPECT_EQ(rs[1].t.alert.state, AlertState::kInactive);
}

TEST(RuleEngineTest, BlockCacheHitRatioAnnotationShowsPercentages) {
  RuleEngine engine({Named("BlockCacheHitRatioLow")});
  auto rs = Simulate(engine,
                     {{"statewatch_rocksdb_block_cache_hit_ratio",
                       {{"job", "cdc"}, {"source", "engine"}},
                       [](int64_t) { return 0.8123; }}},
                     0, 11);
  ASSERT_EQ(rs.size(), 2u) << Describe(rs);
  EXPECT_EQ(rs[1].minute, 10);
  EXPECT_NE(rs[1].t.alert.annotations.at("description").find("Only 81.23% of the block reads"),
            std::string::npos);
  EXPECT_NE(rs[1].t.alert.annotations.at("description").find("below 90%"), std::string::npos);
}

TEST(RuleEngineTest, RuleLabelsAreTemplatesAndOverrideSeriesLabels) {
  RuleSpec rule = Stalls();
  rule.for_duration = minutes(0);
  rule.labels = {{"source", "rocks-{{ $labels.source }}"}, {"team", "state"}, {"job", ""}};
  ASSERT_TRUE(ValidateRule(rule).ok());
  RuleEngine engine({rule});
  auto rs = Simulate(engine, {StallRate([](int64_t) { return 1.0; })}, 0, 1);
  ASSERT_EQ(rs.size(), 1u);
  // job="" removes the label, as in Prometheus.
  EXPECT_EQ(
      rs[0].t.alert.labels,
      (Labels{{"alertname", "WriteStallsActive"}, {"source", "rocks-engine"}, {"team", "state"}}));
}

// ---------------------------------------------------------------- fingerprints

TEST(RuleEngineTest, FingerprintIsFnv1a64OverSortedLabels) {
  // Computed independently (Python: FNV-1a 64 over name 0xFF value 0xFF per label).
  const Labels labels = {{"alertname", "StateGrowingWithoutBound"},
                         {"job", "cdc"},
                         {"severity", "warning"},
                         {"source", "engine"},
                         {"state", "orders"}};
  EXPECT_EQ(Fingerprint(labels), "f9a5273af5cc0007");
  EXPECT_EQ(Fingerprint({}), "cbf29ce484222325");  // the FNV-1a 64 offset basis

  RuleEngine engine({Named("StateGrowingWithoutBound")});
  auto rs = Simulate(engine, {Keys("orders", [](int64_t m) { return 50.0 * m; })}, 0, 1441);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].t.alert.fingerprint, "f9a5273af5cc0007");
}

// ---------------------------------------------------------------- restore

TEST(RuleEngineTest, RestoredPendingAlertKeepsActiveAtSoForIsNotRestarted) {
  RuleSpec rule = Named("CheckpointDurationHigh");  // > 300 s for 15 min
  const Feed slow = {"statewatch_checkpoint_duration_seconds",
                     {{"job", "cdc"}, {"source", "flink"}},
                     [](int64_t) { return 420.0; }};
  RuleEngine before({rule});
  Simulate(before, {slow}, 0, 10);
  std::vector<Alert> saved = before.Alerts();
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].state, AlertState::kPending);
  EXPECT_EQ(saved[0].active_at_millis, At(0));

  RuleEngine after({rule});  // restart at minute 10
  after.RestoreAlert(saved[0]);
  ASSERT_EQ(after.Alerts().size(), 1u);
  auto rs = Simulate(after, {slow}, 10, 30);
  ASSERT_EQ(rs.size(), 1u) << Describe(rs);
  EXPECT_EQ(rs[0].minute, 15);  // 15 min after the original active_at, not after the restart
  EXPECT_EQ(rs[0].t.from, AlertState::kPending);
  EXPECT_EQ(rs[0].t.alert.active_at_millis, At(0));
}

TEST(RuleEngineTest, RestoredFiringTrendAlertWaitsForDataThenContinues) {
  RuleEngine before({Named("StateGrowingWithoutBound")});
  auto leak = [](int64_t m) { return 100.0 * m; };
  Simulate(before, {Keys("orders", leak)}, 0, 1600);
  std::vector<Alert> saved = before.Alerts();
  ASSERT_EQ(saved.size(), 1u);
  ASSERT_EQ(saved[0].state, AlertState::kFiring);

  // After the restart the new engine has no history: the alert stays firing, silently, until
  // the series has a full window again, and then simply continues.
  RuleEngine after({Named("StateGrowingWithoutBound")});
  after.RestoreAlert(saved[0]);
  auto rs = Simulate(after, {Keys("orders", leak)}, 1600, 1600 + 1500);
  EXPECT_TRUE(rs.empty()) << Describe(rs);
  auto alerts = after.Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state, AlertState::kFiring);
  EXPECT_EQ(alerts[0].active_at_millis, At(1440));
  EXPECT_EQ(alerts[0].fired_at_millis, At(1500));
  EXPECT_EQ(alerts[0].last_active_millis, At(1600 + 1499));
}

TEST(RuleEngineTest, RestoredFiringAlertResolvesOnceWhenDecidedFalse) {
  RuleSpec rule = Stalls();
  Alert saved;
  saved.rule = "WriteStallsActive";
  saved.labels = {{"source", "engine"},
                  {"job", "cdc"},
                  {"alertname", "WriteStallsActive"},
                  {"severity", "critical"}};  // any order
  saved.state = AlertState::kFiring;
  saved.active_at_millis = At(-30);
  saved.fired_at_millis = At(-25);
  saved.last_active_millis = At(-1);
  RuleEngine engine({rule});
  engine.RestoreAlert(saved);
  auto rs = Simulate(engine, {StallRate([](int64_t) { return 0.0; })}, 0, 20);
  ASSERT_EQ(rs.size(), 1u) << Describe(rs);
  EXPECT_EQ(rs[0].minute, 0);
  EXPECT_EQ(rs[0].t.from, AlertState::kFiring);
  EXPECT_EQ(rs[0].t.alert.resolved_at_millis, At(0));
  EXPECT_EQ(rs[0].t.alert.fired_at_millis, At(-25));
  EXPECT_EQ(rs[0].t.alert.fingerprint, Fingerprint(rs[0].t.alert.labels));
}

TEST(RuleEngineTest, RestoredAlertWhoseSeriesNeverReturnsResolvesAfterTheHorizon) {
  Alert saved;
  saved.rule = "WriteStallsActive";
  saved.labels = {{"alertname", "WriteStallsActive"}, {"job", "gone"}, {"severity", "critical"}};
  saved.state = AlertState::kFiring;
  RuleEngine engine({Stalls()});
  engine.RestoreAlert(saved);
  std::vector<Recorded> rs;
  for (int64_t m = 0; m < 20; ++m) {
    for (auto& t : engine.Evaluate(At(m))) rs.push_back({m, t});
  }
  ASSERT_EQ(rs.size(), 1u) << Describe(rs);
  EXPECT_EQ(rs[0].minute, 5);  // kStaleness after the first evaluation
  EXPECT_EQ(rs[0].t.alert.state, AlertState::kInactive);
}

TEST(RuleEngineTest, RestoreIgnoresUnknownRulesAndInactiveAlerts) {
  RuleEngine engine({Stalls()});
  Alert a;
  a.rule = "NoSuchRule";
  a.state = AlertState::kFiring;
  engine.RestoreAlert(a);
  a.rule = "WriteStallsActive";
  a.state = AlertState::kInactive;
  engine.RestoreAlert(a);
  a.state = AlertState::kFiring;
  a.labels = {{"alertname", "WriteStallsActive"}, {"severity", "warning"}};  // not this rule's
  engine.RestoreAlert(a);
  EXPECT_TRUE(engine.Alerts().empty());
}

// ---------------------------------------------------------------- bookkeeping

TEST(RuleEngineTest, CountsOutOfOrderSamplesAndIgnoresUnreadMetrics) {
  RuleEngine engine(DefaultRules());
  engine.Observe(Sample{"statewatch_state_keys", StateLabels("a"), At(10), 1});
  engine.Observe(Sample{"statewatch_state_keys", StateLabels("a"), At(5), 2});
  engine.Observe(Sample{"statewatch_state_keys", StateLabels("a"), At(10), 3});
  engine.Observe(Sample{"some_other_metric", StateLabels("a"), At(1), 1});
  // The same series with its labels in another order.
  engine.Observe(Sample{
      "statewatch_state_keys", {{"state", "a"}, {"source", "engine"}, {"job", "cdc"}}, At(11), 4});
  EXPECT_EQ(engine.series_count(), 1u);
  EXPECT_EQ(engine.ignored_out_of_order(), 2u);
  auto v = engine.Verdicts(At(11));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].latest, 4);
  EXPECT_EQ(v[0].latest_millis, At(11));
  EXPECT_EQ(v[0].verdict, "insufficient_data");
  EXPECT_FALSE(v[0].ttl.has_value());
}

TEST(RuleEngineTest, ForgetsSeriesGoneForLongerThanTheirHorizon) {
  RuleEngine engine(DefaultRules());
  Simulate(engine, {Keys("a", [](int64_t) { return 1.0; }), Ttl("a", 0)}, 0, 10);
  EXPECT_EQ(engine.series_count(), 2u);
  engine.Evaluate(At(9) + 24 * kHour);
  EXPECT_EQ(engine.series_count(), 2u);  // still inside the 24 h window
  // Sweeps run once per kStaleness of evaluation time.
  const int64_t later = At(9) + 24 * kHour + kStaleness.count();
  engine.Evaluate(later);
  EXPECT_EQ(engine.series_count(), 0u);
  EXPECT_TRUE(engine.Verdicts(later).empty());
  // It can come back and is watched again.
  engine.Observe(Sample{"statewatch_state_keys", StateLabels("a"), later + 1, 1});
  EXPECT_EQ(engine.Verdicts(later + 1).size(), 1u);
}

TEST(RuleEngineTest, AlertsAreSortedByRuleThenLabels) {
  RuleSpec a = Stalls();
  a.alert = "B";
  a.for_duration = minutes(0);
  RuleSpec b = a;
  b.alert = "A";
  RuleEngine engine({a, b});
  auto feed = [](const std::string& job) {
    return Feed{"statewatch_rocksdb_delayed_write_rate_bytes",
                {{"job", job}, {"source", "x"}},
                [](int64_t) { return 1.0; }};
  };
  auto rs = Simulate(engine, {feed("z"), feed("y")}, 0, 1);
  ASSERT_EQ(rs.size(), 4u);
  // Transitions: rule order (B first), then labels.
  EXPECT_EQ(rs[0].t.alert.rule, "B");
  EXPECT_EQ(rs[0].t.alert.labels[1].second, "y");
  auto alerts = engine.Alerts();
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_EQ(alerts[0].rule, "A");
  EXPECT_EQ(alerts[0].labels[1].second, "y");
  EXPECT_EQ(alerts[3].rule, "B");
  EXPECT_EQ(alerts[3].labels[1].second, "z");
}

}  // namespace
}  // namespace statewatch::rules
