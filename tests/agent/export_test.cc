// `statewatch export`: the stored history as backtest CSV — spellings, ranges, errors — and the
// round trip: samples in a real SampleStore, exported, backtested, give the same alert
// transitions as feeding those samples to a RuleEngine directly.
#include "statewatch/agent/export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "embedded-state/test_util.h"
#include "statewatch/agent/backtest.h"
#include "statewatch/rules/rule_engine.h"

namespace statewatch::agent {
namespace {

using statewatch::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::unique_ptr<storage::SampleStore> OpenStore(const TempDir& dir) {
  std::filesystem::create_directories(dir.Sub("data"));
  Result<std::unique_ptr<storage::SampleStore>> store =
      storage::SampleStore::Open(dir.Sub("data") + "/samples.db");
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

struct Cli {
  int code;
  std::string out;
  std::string err;
};

Cli Export(const ExportOptions& options) {
  std::ostringstream out, err;
  const int code = RunExport(options, out, err);
  return {code, out.str(), err.str()};
}

TEST(ExportTest, FieldsAreSpelledTheWayBacktestReadsThem) {
  EXPECT_EQ(CsvTimestamp(kT0), "1767225600");
  EXPECT_EQ(CsvTimestamp(kT0 + 123), "1767225600.123");
  EXPECT_EQ(CsvTimestamp(kT0 + 120), "1767225600.12");
  EXPECT_EQ(CsvTimestamp(kT0 + 500), "1767225600.5");
  EXPECT_EQ(CsvTimestamp(0), "0");
  EXPECT_EQ(CsvTimestamp(-1500), "-1.5");
  EXPECT_EQ(CsvValue(kNaN), "NaN");
  EXPECT_EQ(CsvValue(kInf), "+Inf");
  EXPECT_EQ(CsvValue(-kInf), "-Inf");
  EXPECT_EQ(CsvValue(123456), "123456");
  EXPECT_EQ(CsvValue(0.1), "0.1");
  EXPECT_EQ(CsvValue(1e21), "1e+21");
  EXPECT_EQ(std::stod(CsvValue(1.0 / 3)), 1.0 / 3);  // shortest text that reads back exactly
  EXPECT_EQ(CsvField("statewatch_state_keys"), "statewatch_state_keys");
  EXPECT_EQ(CsvField("k{a=\"1\"}"), "\"k{a=\"\"1\"\"}\"");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
}

TEST(ExportTest, WritesTheHeaderAndEverySampleInTheInclusiveRange) {
  TempDir dir;
  auto store = OpenStore(dir);
  ASSERT_NE(store, nullptr);
  std::vector<rules::Sample> samples;
  for (int m = 0; m < 5; ++m) {
    samples.push_back(
        {"statewatch_state_keys", {{"job", "cdc"}, {"state", "a"}}, kT0 + m * kMinute, 100.0 + m});
    samples.push_back({"up", {}, kT0 + m * kMinute + 250, m == 2 ? kNaN : 1.0});
  }
  ASSERT_TRUE(store->Append(samples).ok());

  // Recent samples (all of these) come in time order, series by first stored within one time.
  std::ostringstream all;
  uint64_t rows = 0;
  ASSERT_TRUE(ExportCsv(*store, std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max(), all, &rows)
                  .ok());
  EXPECT_EQ(rows, 10u);
  EXPECT_EQ(all.str(),
            "timestamp,series,value\n"
            "1767225600,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",100\n"
            "1767225600.25,up,1\n"
            "1767225660,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",101\n"
            "1767225660.25,up,1\n"
            "1767225720,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",102\n"
            "1767225720.25,up,NaN\n"
            "1767225780,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",103\n"
            "1767225780.25,up,1\n"
            "1767225840,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",104\n"
            "1767225840.25,up,1\n");

  store.reset();
  ExportOptions o;
  o.storage_path = dir.Sub("data");
  o.from = "1767225660";              // unix seconds
  o.to = "2026-01-01T00:03:00.250Z";  // RFC 3339, inclusive
  const Cli range = Export(o);
  ASSERT_EQ(range.code, 0) << range.err;
  EXPECT_EQ(range.out,
            "timestamp,series,value\n"
            "1767225660,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",101\n"
            "1767225660.25,up,1\n"
            "1767225720,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",102\n"
            "1767225720.25,up,NaN\n"
            "1767225780,\"statewatch_state_keys{job=\"\"cdc\"\",state=\"\"a\"\"}\",103\n"
            "1767225780.25,up,1\n");
}

TEST(ExportTest, BadArgumentsAndAMissingStoreExitOneWithoutCreatingAnything) {
  TempDir dir;
  ExportOptions o;
  EXPECT_THAT(Export(o).err, HasSubstr("--storage.path is required"));
  o.storage_path = dir.Sub("nowhere");
  const Cli missing = Export(o);
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no samples.db in " + dir.Sub("nowhere")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("nowhere")));
  o.storage_path = dir.path().string();
  EXPECT_EQ(Export(o).code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("samples.db")));  // not created empty

  ASSERT_NE(OpenStore(dir), nullptr);
  o.storage_path = dir.Sub("data");
  o.from = "yesterday";
  const Cli bad_from = Export(o);
  EXPECT_EQ(bad_from.code, 1);
  EXPECT_THAT(bad_from.err, HasSubstr("--from: time 'yesterday'"));
  o.from = "1767225700";
  o.to = "1767225600";
  EXPECT_THAT(Export(o).err, HasSubstr("--from is after --to"));
  o.from = o.to = "";
  const Cli empty = Export(o);
  EXPECT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(empty.out, "timestamp,series,value\n");

  std::filesystem::resize_file(dir.Sub("data") + "/samples.db", 0);
  std::ofstream(dir.Sub("data") + "/samples.db") << "not a database, not at all";
  const Cli corrupt = Export(o);
  EXPECT_EQ(corrupt.code, 1);
  EXPECT_THAT(corrupt.err, HasSubstr("samples.db"));
}

// One transition as both sides see it.
using Step = std::tuple<int64_t, rules::Labels, rules::AlertState, rules::AlertState>;

TEST(ExportRoundTripTest, ExportThenBacktestGivesTheSameAlertsAsReplayingTheSamplesDirectly) {
  TempDir dir;
  auto store = OpenStore(dir);
  ASSERT_NE(store, nullptr);

  // Two days at 5-minute resolution of: a leak, a bounded state, a hit ratio that dips (its
  // source label needing every escape), a stall rate with NaN and +Inf, a series at
  // millisecond offsets, and a metric no rule reads.
  const rules::Labels odd = {{"job", "cdc"}, {"source", "db \"primary\", \\ east\nrack 2 ü"}};
  std::vector<rules::Sample> all;
  for (int64_t m = 0; m < 2 * 24 * 60; m += 5) {
    const int64_t t = kT0 + m * kMinute;
    std::vector<rules::Sample> scrape = {
        {"statewatch_state_keys", {{"job", "cdc"}, {"state", "leak"}}, t, 1000.0 + 7.5 * m},
        {"statewatch_state_keys",
         {{"job", "cdc"}, {"state", "bounded"}},
         t,
         50'000 + 2'000 * std::sin(static_cast<double>(m) / 97)},
        {"statewatch_rocksdb_block_cache_hit_ratio", odd, t,
         (m >= 600 && m < 640) || (m >= 2000 && m < 2010) ? 0.7 : 0.98},
        {"statewatch_rocksdb_delayed_write_rate_bytes",
         {{"source", "db"}},
         t + 123,
         m % 500 == 0 ? kNaN : (m >= 1500 && m < 1530 ? (m == 1510 ? kInf : 1e6) : 0.0)},
        {"myapp_requests", {{"path", "/a,b"}}, t, static_cast<double>(m)},
    };
    ASSERT_TRUE(store->Append(scrape).ok());
    all.insert(all.end(), scrape.begin(), scrape.end());
  }

  ExportOptions o;
  o.storage_path = dir.Sub("data");
  const Cli exported = Export(o);
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string csv = dir.Sub("export.csv");
  std::ofstream(csv, std::ios::binary) << exported.out;
  Result<BacktestResult> backtest = Backtest(rules::DefaultRules(), csv, {});
  ASSERT_TRUE(backtest.ok()) << backtest.status().ToString();

  // The same samples straight into the engine: in time order, evaluating at each timestamp.
  std::stable_sort(all.begin(), all.end(), [](const rules::Sample& a, const rules::Sample& b) {
    return a.t_millis < b.t_millis;
  });
  rules::RuleEngine engine(rules::DefaultRules());
  std::vector<Step> direct;
  std::map<rules::Labels, std::map<std::string, std::string>> first_firing_annotations;
  size_t evaluations = 0;
  for (size_t i = 0; i < all.size();) {
    const int64_t t = all[i].t_millis;
    for (; i < all.size() && all[i].t_millis == t; ++i) engine.Observe(all[i]);
    ++evaluations;
    for (const rules::AlertTransition& tr : engine.Evaluate(t)) {
      direct.emplace_back(t, tr.alert.labels, tr.from, tr.alert.state);
      if (tr.alert.state == rules::AlertState::kFiring) {
        first_firing_annotations.try_emplace(tr.alert.labels, tr.alert.annotations);
      }
    }
  }

  std::vector<Step> replayed;
  for (const BacktestEvent& e : backtest->timeline) {
    replayed.emplace_back(e.t_millis, backtest->alerts[e.alert].labels, e.from, e.to);
  }
  EXPECT_EQ(backtest->series, 5u);
  EXPECT_EQ(backtest->samples, all.size());
  EXPECT_EQ(backtest->evaluations, evaluations);
  EXPECT_EQ(replayed, direct);
  // Something to compare: the leak fires, the hit ratio fires and resolves, the stall fires.
  std::set<std::string> fired;
  for (const BacktestAlert& a : backtest->alerts) {
    if (a.first_firing_millis) fired.insert(a.alertname);
    EXPECT_EQ(a.annotations, first_firing_annotations[a.labels]) << a.alertname;
  }
  EXPECT_EQ(fired, (std::set<std::string>{"BlockCacheHitRatioLow", "StateGrowingWithoutBound",
                                          "StateWithoutTtlGrowing", "WriteStallsActive"}));
  bool odd_labels_survived = false;
  for (const BacktestAlert& a : backtest->alerts) {
    for (const auto& l : a.labels) odd_labels_survived |= l == odd[1];
  }
  EXPECT_TRUE(odd_labels_survived);
}

}  // namespace
}  // namespace statewatch::agent
