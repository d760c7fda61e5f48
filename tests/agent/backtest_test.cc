// `statewatch backtest`: the corpus in tests/fixtures/series/ (scripts/gen-series) replayed
// through the built-in rules — which alert fires for each shape and no later than when, and that
// bounded shapes stay quiet — then the CSV reader's edge cases, bad input, the external sort,
// --step, --config.file and both renderings.
#include "statewatch/agent/backtest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "embedded-state/test_util.h"

namespace statewatch::agent {
namespace {

using statewatch::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z, where the corpus starts
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

std::string Fixture(const std::string& name) {
  return std::string(STATEWATCH_FIXTURES_DIR) + "/series/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.Sub(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

BacktestResult Replay(const std::string& path, const BacktestSettings& settings = {}) {
  Result<BacktestResult> r = Backtest(rules::DefaultRules(), path, settings);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : BacktestResult{};
}

std::string Label(const BacktestAlert& a, const std::string& name) {
  for (const auto& [k, v] : a.labels) {
    if (k == name) return v;
  }
  return "";
}

// The alert `alertname` whose label `label` is `value`, or null.
const BacktestAlert* Find(const BacktestResult& r, const std::string& alertname,
                          const std::string& value, const std::string& label = "state") {
  for (const BacktestAlert& a : r.alerts) {
    if (a.alertname == alertname && Label(a, label) == value) return &a;
  }
  return nullptr;
}

struct Cli {
  int code;
  std::string out;
  std::string err;
};

Cli RunCli(const BacktestOptions& options) {
  std::ostringstream out, err;
  const int code = RunBacktest(options, out, err);
  return {code, out.str(), err.str()};
}

Cli RunCli(const std::string& input, const std::string& output = "json") {
  BacktestOptions o;
  o.input = input;
  o.output = output;
  return RunCli(o);
}

// ---- the corpus ----

TEST(BacktestCorpusTest, LinearLeaksOfEverySlopeFireBothGrowthRulesAfterOneWindow) {
  const BacktestResult r = Replay(Fixture("linear_leaks.csv"));
  EXPECT_EQ(r.series, 3u);
  EXPECT_EQ(r.samples, 648u);
  EXPECT_EQ(r.evaluations, 216u);  // every distinct timestamp: 3 days of 20-minute samples
  ASSERT_EQ(r.alerts.size(), 6u) << BacktestText(r);
  for (const char* state : {"slow", "medium", "fast"}) {
    for (const char* alert : {"StateGrowingWithoutBound", "StateWithoutTtlGrowing"}) {
      SCOPED_TRACE(std::string(alert) + " " + state);
      const BacktestAlert* a = Find(r, alert, state);
      ASSERT_NE(a, nullptr) << BacktestText(r);
      // A whole 24 h window of history, then `for: 1h`: never earlier, and at the first
      // evaluation after that.
      EXPECT_EQ(a->first_pending_millis, kT0 + 24 * kHour);
      ASSERT_TRUE(a->first_firing_millis);
      EXPECT_GE(*a->first_firing_millis, kT0 + 25 * kHour);
      EXPECT_LE(*a->first_firing_millis, kT0 + 25 * kHour + 20 * kMinute);
      ASSERT_EQ(a->intervals.size(), 1u);
      EXPECT_FALSE(a->intervals[0].resolved_millis);  // still leaking at the end
      EXPECT_EQ(Label(*a, "severity"), "warning");
      EXPECT_THAT(a->annotations.at("summary"), HasSubstr("State " + std::string(state)));
    }
  }
}

TEST(BacktestCorpusTest, LeakOnsetFiresWithinAWindowOfTheOnsetAndNotBefore) {
  const BacktestResult r = Replay(Fixture("leak_onset.csv"));
  const int64_t onset = kT0 + 48 * kHour;
  ASSERT_EQ(r.alerts.size(), 2u) << BacktestText(r);
  for (const char* alert : {"StateGrowingWithoutBound", "StateWithoutTtlGrowing"}) {
    const BacktestAlert* a = Find(r, alert, "sessions");
    ASSERT_NE(a, nullptr) << alert << "\n" << BacktestText(r);
    EXPECT_GT(a->first_pending_millis, onset) << alert;  // nothing in the flat two days
    ASSERT_TRUE(a->first_firing_millis) << alert;
    EXPECT_LE(*a->first_firing_millis, onset + 25 * kHour) << alert;
  }
}

TEST(BacktestCorpusTest, TtlBoundedPlateausDoNotFire) {
  const BacktestResult r = Replay(Fixture("ttl_plateaus.csv"));
  EXPECT_EQ(r.series, 6u);  // keys, TTL and expired counter of two states
  EXPECT_EQ(r.samples, 1200u);
  EXPECT_THAT(r.alerts, IsEmpty()) << BacktestText(r);
}

TEST(BacktestCorpusTest, TtlWithoutCleanupFiresTtlCleanupNotRunningBeforeTheTrend) {
  const BacktestResult r = Replay(Fixture("ttl_cleanup_stalled.csv"));
  ASSERT_EQ(r.alerts.size(), 2u) << BacktestText(r);
  const BacktestAlert* stalled = Find(r, "TtlCleanupNotRunning", "orders");
  const BacktestAlert* trend = Find(r, "StateGrowingWithoutBound", "orders");
  ASSERT_NE(stalled, nullptr) << BacktestText(r);
  ASSERT_NE(trend, nullptr) << BacktestText(r);
  EXPECT_EQ(Find(r, "StateWithoutTtlGrowing", "orders"), nullptr);  // it has a TTL
  // TTL (6 h) + window (24 h) without expiry, then `for: 1h`.
  ASSERT_TRUE(stalled->first_firing_millis);
  EXPECT_GE(*stalled->first_firing_millis, kT0 + 31 * kHour);
  EXPECT_LE(*stalled->first_firing_millis, kT0 + 31 * kHour + 10 * kMinute);
  EXPECT_THAT(stalled->annotations.at("description"), HasSubstr("TTL of 6h"));
  // The trend rule waits window + 2 × TTL for a state with a TTL, then `for: 1h`.
  ASSERT_TRUE(trend->first_firing_millis);
  EXPECT_GE(*trend->first_firing_millis, kT0 + 37 * kHour);
  EXPECT_LE(*trend->first_firing_millis, kT0 + 37 * kHour + 10 * kMinute);
}

TEST(BacktestCorpusTest, CompactionSawtoothDoesNotFire) {
  const BacktestResult r = Replay(Fixture("compaction_sawtooth.csv"));
  EXPECT_EQ(r.series, 4u);
  EXPECT_THAT(r.alerts, IsEmpty()) << BacktestText(r);
}

TEST(BacktestCorpusTest, StepChangesDoNotFire) {
  const BacktestResult r = Replay(Fixture("step_changes.csv"));
  EXPECT_EQ(r.samples, 432u);
  EXPECT_THAT(r.alerts, IsEmpty()) << BacktestText(r);
}

TEST(BacktestCorpusTest, NoisyFlatDoesNotFireAndAnUnknownSeriesIsKept) {
  const BacktestResult r = Replay(Fixture("noisy_flat.csv"));
  EXPECT_EQ(r.series, 3u);  // myapp_queue_length included, though no rule reads it
  EXPECT_EQ(r.samples, 648u);
  EXPECT_THAT(r.alerts, IsEmpty()) << BacktestText(r);
}

TEST(BacktestCorpusTest, DailyCyclesDoNotFireButALeakUnderACycleDoes) {
  const BacktestResult r = Replay(Fixture("diurnal.csv"));
  EXPECT_EQ(r.series, 5u);
  ASSERT_EQ(r.alerts.size(), 2u) << BacktestText(r);
  for (const BacktestAlert& a : r.alerts) {
    EXPECT_EQ(Label(a, "state"), "cycle_leak") << BacktestText(r);
    ASSERT_TRUE(a.first_firing_millis);
    EXPECT_LE(*a.first_firing_millis, kT0 + 26 * kHour);
  }
}

TEST(BacktestCorpusTest, GapsInSamplingNeitherHideALeakNorFlapAndAVanishedSeriesResolves) {
  // Written grouped by series, like `statewatch export`: not in time order.
  const BacktestResult r = Replay(Fixture("sampling_gaps.csv"));
  EXPECT_EQ(r.series, 3u);
  EXPECT_EQ(r.samples, 568u);
  ASSERT_EQ(r.alerts.size(), 4u) << BacktestText(r);
  EXPECT_EQ(Find(r, "StateGrowingWithoutBound", "flat"), nullptr);

  const BacktestAlert* gappy = Find(r, "StateGrowingWithoutBound", "gappy");
  ASSERT_NE(gappy, nullptr);
  ASSERT_TRUE(gappy->first_firing_millis);
  EXPECT_LE(*gappy->first_firing_millis, kT0 + 26 * kHour);
  ASSERT_EQ(gappy->intervals.size(), 1u) << BacktestText(r);  // through the 6 h outage
  EXPECT_FALSE(gappy->intervals[0].resolved_millis);

  for (const char* alert : {"StateGrowingWithoutBound", "StateWithoutTtlGrowing"}) {
    const BacktestAlert* vanishing = Find(r, alert, "vanishing");
    ASSERT_NE(vanishing, nullptr) << alert;
    ASSERT_TRUE(vanishing->first_firing_millis) << alert;
    EXPECT_LE(*vanishing->first_firing_millis, kT0 + 26 * kHour);
    ASSERT_EQ(vanishing->intervals.size(), 1u) << alert;
    ASSERT_TRUE(vanishing->intervals[0].resolved_millis) << alert;
    // Its last sample is just before T0 + 48 h: resolved after that, within one window.
    EXPECT_GT(*vanishing->intervals[0].resolved_millis, kT0 + 48 * kHour) << alert;
    EXPECT_LE(*vanishing->intervals[0].resolved_millis, kT0 + 72 * kHour + 5'000) << alert;
  }
}

TEST(BacktestCorpusTest, ThresholdRulesFollowForAndResolveWhenTheValueRecovers) {
  const BacktestResult r = Replay(Fixture("thresholds.csv"));
  EXPECT_EQ(r.series, 2u);
  EXPECT_EQ(r.samples, 602u);  // NaN and +Inf included
  ASSERT_EQ(r.alerts.size(), 2u) << BacktestText(r);

  const BacktestAlert* stall = Find(r, "WriteStallsActive", "rocksdb", "source");
  ASSERT_NE(stall, nullptr);
  EXPECT_EQ(stall->first_pending_millis, kT0 + 2 * kHour);  // the 4-minute stall: pending only
  ASSERT_TRUE(stall->first_firing_millis);
  EXPECT_EQ(*stall->first_firing_millis, kT0 + 6 * kHour + 6 * kMinute);  // first ≥ 5 min
  ASSERT_EQ(stall->intervals.size(), 1u);
  EXPECT_EQ(stall->intervals[0].resolved_millis, kT0 + 6 * kHour + 20 * kMinute);
  EXPECT_THAT(stall->annotations.at("summary"), HasSubstr("16MiB/s"));

  const BacktestAlert* ratio = Find(r, "BlockCacheHitRatioLow", "rocksdb", "source");
  ASSERT_NE(ratio, nullptr);
  EXPECT_EQ(ratio->first_pending_millis, kT0 + 4 * kHour);
  EXPECT_EQ(ratio->first_firing_millis, kT0 + 4 * kHour + 10 * kMinute);
  ASSERT_EQ(ratio->intervals.size(), 1u);  // the 6-minute dip at 08:00 never fires
  EXPECT_EQ(ratio->intervals[0].resolved_millis, kT0 + 4 * kHour + 30 * kMinute);

  // The timeline has the dips that only went pending, and each pending one dropped.
  std::vector<std::pair<int64_t, rules::AlertState>> ratio_events;
  for (const BacktestEvent& e : r.timeline) {
    if (&r.alerts[e.alert] == ratio) ratio_events.emplace_back(e.t_millis - kT0, e.to);
  }
  using S = rules::AlertState;
  const std::vector<std::pair<int64_t, rules::AlertState>> want = {
      {4 * kHour, S::kPending},
      {4 * kHour + 10 * kMinute, S::kFiring},
      {4 * kHour + 30 * kMinute, S::kInactive},
      {8 * kHour, S::kPending},
      {8 * kHour + 6 * kMinute, S::kInactive}};
  EXPECT_EQ(ratio_events, want);
}

TEST(BacktestCorpusTest, AppendOnlyCheckpointsFireForThatJobOnly) {
  const BacktestResult r = Replay(Fixture("checkpoint_append_only.csv"));
  ASSERT_EQ(r.alerts.size(), 1u) << BacktestText(r);
  const BacktestAlert& a = r.alerts[0];
  EXPECT_EQ(a.alertname, "CheckpointGrowsAppendOnly");
  EXPECT_EQ(Label(a, "job"), "ingest");
  ASSERT_TRUE(a.first_firing_millis);
  EXPECT_LE(*a.first_firing_millis, kT0 + 25 * kHour + 20 * kMinute);
}

// ---- order, sorting, CSV ----

TEST(BacktestTest, UnsortedRowsGiveTheSameResultAsSortedOnes) {
  TempDir dir;
  const std::string text = ReadFile(Fixture("linear_leaks.csv"));
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string header, line;
  std::getline(in, header);
  while (std::getline(in, line)) lines.push_back(line);
  std::mt19937 rng(42);
  std::shuffle(lines.begin(), lines.end(), rng);
  std::string shuffled = header + "\n";
  for (const std::string& l : lines) shuffled += l + "\n";
  ASSERT_NE(shuffled, text);

  const BacktestResult sorted = Replay(Fixture("linear_leaks.csv"));
  const BacktestResult unsorted = Replay(WriteFile(dir, "shuffled.csv", shuffled));
  EXPECT_EQ(unsorted.ignored_samples, 0u);
  EXPECT_EQ(BacktestJson(unsorted), BacktestJson(sorted));
  EXPECT_EQ(BacktestText(unsorted), BacktestText(sorted));
}

TEST(BacktestTest, ExternalSortSpillsRunsAndMergesThemToTheSameResult) {
  TempDir dir;
  for (const char* name : {"linear_leaks.csv", "sampling_gaps.csv", "thresholds.csv"}) {
    SCOPED_TRACE(name);
    const BacktestResult in_memory = Replay(Fixture(name));
    EXPECT_EQ(in_memory.sorted_runs, 0u);
    BacktestSettings small;
    small.chunk_rows = 37;
    small.temp_dir = dir.path().string();
    const BacktestResult spilled = Replay(Fixture(name), small);
    EXPECT_EQ(spilled.sorted_runs, in_memory.samples / 37);  // every full chunk; the rest stays
    EXPECT_EQ(BacktestJson(spilled), BacktestJson(in_memory));
    EXPECT_EQ(spilled.timeline.size(), in_memory.timeline.size());
    // The runs were unlinked as soon as they were created: nothing left behind.
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  }
}

TEST(BacktestTest, QuotedFieldsCrlfByteOrderMarkBlankLinesAndLabelOrder) {
  TempDir dir;
  // Every row is the same series, spelled three ways; a threshold rule with for: 10m.
  std::string text = "\xEF\xBB\xBFtimestamp,series,value\r\n";
  for (int m = 0; m <= 15; ++m) {
    const std::string t = std::to_string(1'767'225'600 + 60 * m);
    if (m % 3 == 0) {
      text += t +
              ",\"statewatch_rocksdb_block_cache_hit_ratio{source=\"\"db\"\",job=\"\"x, "
              "y\"\"}\",0.5\r\n";
    } else if (m % 3 == 1) {
      text += "\"" + t +
              "\",\"statewatch_rocksdb_block_cache_hit_ratio{job=\"\"x, y\"\",source=\"\"db\"\"}"
              "\", 0.5 \r\n\r\n";
    } else {
      text += t +
              ".000,\"statewatch_rocksdb_block_cache_hit_ratio{job=\"\"x, y\"\",source="
              "\"\"db\"\",}\",5e-1\n";
    }
  }
  const BacktestResult r = Replay(WriteFile(dir, "crlf.csv", text));
  EXPECT_EQ(r.series, 1u);
  EXPECT_EQ(r.samples, 16u);
  ASSERT_EQ(r.alerts.size(), 1u) << BacktestText(r);
  EXPECT_EQ(Label(r.alerts[0], "job"), "x, y");
  EXPECT_EQ(Label(r.alerts[0], "source"), "db");
  EXPECT_EQ(r.alerts[0].first_firing_millis, kT0 + 10 * kMinute);
}

TEST(BacktestTest, NanAndInfinitiesAreAcceptedValues) {
  TempDir dir;
  std::string text = "timestamp,series,value\n";
  int m = 0;
  for (const char* v : {"NaN", "nan", "+Inf", "-Inf", "Inf", "inf", "+inf", "-1.5e3", "+2", "0"}) {
    text += std::to_string(1'767'225'600 + 60 * m++) + ",statewatch_state_keys," + v + "\n";
  }
  const Cli c = RunCli(WriteFile(dir, "values.csv", text));
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(nlohmann::json::parse(c.out)["samples"], 10);
}

TEST(BacktestTest, UnknownSeriesAreKeptButMatchNoRule) {
  TempDir dir;
  std::string text = "timestamp,series,value\n";
  for (int m = 0; m < 100; ++m) {
    const std::string t = std::to_string(1'767'225'600 + 600 * m);
    // Would fire StateGrowingWithoutBound if the name were statewatch_state_keys.
    text += t + ",\"my_keys{state=\"\"a\"\"}\"," + std::to_string(1000 * m) + "\n";
    text += t + ",my_other_metric," + std::to_string(m) + "\n";
  }
  const BacktestResult r = Replay(WriteFile(dir, "unknown.csv", text));
  EXPECT_EQ(r.series, 2u);
  EXPECT_EQ(r.samples, 200u);
  EXPECT_EQ(r.evaluations, 100u);
  EXPECT_THAT(r.alerts, IsEmpty());
}

TEST(BacktestTest, OfTwoSamplesAtOneTimestampTheFirstInTheFileCounts) {
  TempDir dir;
  const std::string config = WriteFile(dir, "rules.yaml",
                                       "rules:\n"
                                       "  - alert: XLow\n"
                                       "    type: threshold\n"
                                       "    series: x\n"
                                       "    op: '<'\n"
                                       "    threshold: 1\n");
  BacktestOptions o;
  o.config_file = config;
  o.input = WriteFile(dir, "dup.csv",
                      "timestamp,series,value\n"
                      "1767225600,x,0.5\n"
                      "1767225600,x,7\n"
                      "1767225660,x,2\n");
  const Cli c = RunCli(o);
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_THAT(c.err, HasSubstr("ignored 1 sample for a series and timestamp that already had one"));
  const nlohmann::json j = nlohmann::json::parse(c.out);
  ASSERT_EQ(j["alerts"].size(), 1u) << c.out;
  // 0.5 counted (7 ignored): firing at once (no `for:`), resolved by the 2 a minute later.
  EXPECT_EQ(j["alerts"][0]["first_pending"], 1767225600);
  EXPECT_EQ(j["alerts"][0]["first_firing"], 1767225600);
  EXPECT_EQ(j["alerts"][0]["intervals"],
            nlohmann::json::parse(R"([{"firing": 1767225600, "resolved": 1767225660}])"));
}

// ---- bad input ----

TEST(BacktestBadInputTest, AMalformedRowNamesItsLineAndProblemAndExitsOne) {
  TempDir dir;
  struct Case {
    std::string row;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"abc,up,1", "timestamp 'abc' is not unix seconds"},
      {",up,1", "timestamp '' is not unix seconds"},
      {"1767225600,up,zz", "value 'zz' is not a number"},
      {"1767225600,up,1e999", "value '1e999' is not a number"},
      {"1767225600,up,", "value '' is not a number"},
      {"1767225600,up", "expected 3 fields (timestamp,series,value), found 2"},
      {"1767225600,up,1,2", "expected 3 fields (timestamp,series,value), found 4"},
      {"1767225600,\"up{job=\"\"a\"\"\",1", "series 'up{job=\"a\"': labels"},
      {"1767225600,\"up{job=a}\",1", "series 'up{job=a}': labels"},
      {"1767225600,\"up{a=\"\"1\"\",a=\"\"2\"\"}\",1",
       "series 'up{a=\"1\",a=\"2\"}': label 'a' twice"},
      {"1767225600,9up,1", "series '9up': '9up' is not a metric name"},
      {"1767225600,,1", "series is empty"},
      {"1767225600,up{job=\"a\"},1", "a quote inside an unquoted field"},
      {"1767225600,\"up\"x,1", "unexpected character after a closing quote"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.row);
    const std::string path =
        WriteFile(dir, "bad.csv",
                  "timestamp,series,value\n1767225600,up,1\n" + c.row + "\n1767225660,up,2\n");
    const Cli cli = RunCli(path);
    EXPECT_EQ(cli.code, 1);
    EXPECT_THAT(cli.err, HasSubstr(path + ": line 3: " + c.problem));
    EXPECT_EQ(cli.out, "");
  }
}

TEST(BacktestBadInputTest, ALineNumberCountsNewlinesInsideQuotedFields) {
  TempDir dir;
  const std::string path = WriteFile(dir, "multiline.csv",
                                     "timestamp,series,value\n"
                                     "1767225600,\"up{note=\"\"two\nlines\"\"}\",1\n"
                                     "1767225660,up,oops\n");
  const Cli cli = RunCli(path);
  EXPECT_EQ(cli.code, 1);
  EXPECT_THAT(cli.err, HasSubstr(": line 4: value 'oops'"));
}

TEST(BacktestBadInputTest, SkipBadRowsCountsListsAndSkipsThem) {
  TempDir dir;
  std::string text = "timestamp,series,value\n";
  for (int m = 0; m < 20; ++m) {
    text += std::to_string(1'767'225'600 + 60 * m) + ",up,1\n";
    if (m % 2 == 0) text += "bad row " + std::to_string(m) + ",up,1\n";  // 10 bad rows
  }
  text += "1767229999,\"up\"x,1\n1767230000,up,1,extra\n";  // 12 bad rows in all
  BacktestOptions o;
  o.input = WriteFile(dir, "some-bad.csv", text);
  const Cli strict = RunCli(o);
  EXPECT_EQ(strict.code, 1);
  EXPECT_THAT(strict.err, HasSubstr("line 3: timestamp 'bad row 0'"));

  o.skip_bad_rows = true;
  const Cli c = RunCli(o);
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_THAT(c.err, HasSubstr("skipped 12 bad rows"));
  EXPECT_THAT(c.err, HasSubstr("line 3: timestamp 'bad row 0' is not unix seconds"));
  EXPECT_THAT(c.err, HasSubstr("(2 more)"));  // the first 10 are listed
  EXPECT_EQ(nlohmann::json::parse(c.out)["samples"], 20);
}

TEST(BacktestBadInputTest, StructuralErrorsAreFatalEvenWhenSkipping) {
  TempDir dir;
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "empty: expected the header timestamp,series,value"},
      {"time,series,value\n1767225600,up,1\n",
       "line 1: expected the header timestamp,series,value, found 'time,series,value'"},
      {"timestamp,series,value\n1767225600,up,1\n1767225660,\"up,1\n1767225720,up,1\n",
       "line 3: a quoted field is not closed before the end of the file"},
      {"timestamp,series,value\n1767225600," + std::string(1 << 21, 'a') + ",1\n",
       "line 2: a record longer than 1048576 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    BacktestOptions o;
    o.input = WriteFile(dir, "fatal.csv", c.text);
    o.skip_bad_rows = true;
    const Cli cli = RunCli(o);
    EXPECT_EQ(cli.code, 1);
    EXPECT_THAT(cli.err, HasSubstr(c.error));
  }
}

TEST(BacktestBadInputTest, BadOptionsExitOne) {
  TempDir dir;
  const std::string input = WriteFile(dir, "ok.csv", "timestamp,series,value\n1767225600,up,1\n");
  auto run = [&](BacktestOptions o) { return RunCli(o); };
  BacktestOptions o;
  o.input = input;
  o.output = "xml";
  EXPECT_THAT(run(o).err, HasSubstr("--output must be json or text, not 'xml'"));
  o.output = "json";
  o.step = "5 minutes";
  EXPECT_THAT(run(o).err, HasSubstr("--step:"));
  o.step = "0s";
  EXPECT_THAT(run(o).err, HasSubstr("--step must be positive"));
  o.step = "";
  o.config_file = dir.Sub("missing.yaml");
  EXPECT_THAT(run(o).err, HasSubstr("missing.yaml"));
  o.config_file = WriteFile(dir, "bad.yaml", "rules:\n  - alert: X\n    type: nope\n");
  EXPECT_THAT(run(o).err, HasSubstr("bad.yaml:3:"));
  o.config_file = "";
  o.input = dir.Sub("absent.csv");
  const Cli absent = run(o);
  EXPECT_EQ(absent.code, 1);
  EXPECT_THAT(absent.err, HasSubstr("cannot open " + dir.Sub("absent.csv")));
  o.input = "";
  EXPECT_EQ(run(o).code, 1);
}

TEST(BacktestTest, AHeaderOnlyFileReplaysNothing) {
  TempDir dir;
  const Cli c = RunCli(WriteFile(dir, "header.csv", "timestamp,series,value\r\n"));
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(nlohmann::json::parse(c.out),
            nlohmann::json::parse(R"({"series":0,"samples":0,"evaluations":0,"alerts":[]})"));
}

// ---- --step and --config.file ----

TEST(BacktestTest, StepEvaluatesOnAGridFromTheFirstTimestamp) {
  BacktestSettings hourly;
  hourly.step = std::chrono::hours(1);
  const BacktestResult r = Replay(Fixture("linear_leaks.csv"), hourly);
  // Samples from T0 to T0 + 71 h 40 min: evaluations at T0, T0 + 1 h, …, T0 + 72 h.
  EXPECT_EQ(r.evaluations, 73u);
  ASSERT_EQ(r.alerts.size(), 6u);
  for (const BacktestAlert& a : r.alerts) {
    EXPECT_EQ(a.first_pending_millis, kT0 + 24 * kHour);
    EXPECT_EQ(a.first_firing_millis, kT0 + 25 * kHour);
  }

  // Through a gap: the steps go on, so a series that stopped is seen going stale.
  TempDir dir;
  const std::string config = WriteFile(dir, "rules.yaml",
                                       "rules:\n"
                                       "  - alert: XHigh\n"
                                       "    type: threshold\n"
                                       "    series: x\n"
                                       "    op: '>'\n"
                                       "    threshold: 1\n");
  BacktestOptions o;
  o.config_file = config;
  o.step = "1m";
  o.input = WriteFile(dir, "gap.csv",
                      "timestamp,series,value\n"
                      "1767225600,x,5\n"
                      "1767225600,y,0\n"
                      "1767229200,y,0\n");
  const Cli c = RunCli(o);
  ASSERT_EQ(c.code, 0) << c.err;
  const nlohmann::json j = nlohmann::json::parse(c.out);
  EXPECT_EQ(j["evaluations"], 61);
  // x's last sample is older than 5 minutes (kStaleness) at T0 + 6 min: resolved there.
  EXPECT_EQ(j["alerts"][0]["intervals"][0]["resolved"], 1767225600 + 6 * 60) << c.out;
}

TEST(BacktestTest, AStepGivingTooManyEvaluationsIsRefused) {
  BacktestOptions o;
  o.input = Fixture("linear_leaks.csv");
  o.step = "1ms";
  const Cli c = RunCli(o);
  EXPECT_EQ(c.code, 1);
  EXPECT_THAT(c.err, HasSubstr("--step 1ms gives 258000001 evaluations"));
}

TEST(BacktestTest, ConfigFileRulesReplaceTheBuiltInOnesAndAFileWithoutRulesKeepsThem) {
  TempDir dir;
  BacktestOptions o;
  o.input = Fixture("noisy_flat.csv");
  o.config_file = WriteFile(dir, "queue.yaml",
                            "rules:\n"
                            "  - alert: QueueLong\n"
                            "    type: threshold\n"
                            "    series: myapp_queue_length\n"
                            "    op: '>'\n"
                            "    threshold: 9990\n"
                            "    for: 20m\n"
                            "    annotations: {summary: 'queue at {{ $value }}'}\n");
  const Cli custom = RunCli(o);
  ASSERT_EQ(custom.code, 0) << custom.err;
  const nlohmann::json j = nlohmann::json::parse(custom.out);
  ASSERT_GE(j["alerts"].size(), 1u) << custom.out;
  for (const auto& alert : j["alerts"]) EXPECT_EQ(alert["alertname"], "QueueLong");

  o.input = Fixture("thresholds.csv");
  o.config_file = WriteFile(dir, "no-rules.yaml", "global:\n  evaluation_interval: 30s\n");
  const Cli defaults = RunCli(o);
  ASSERT_EQ(defaults.code, 0) << defaults.err;
  EXPECT_EQ(defaults.out, RunCli(Fixture("thresholds.csv")).out);
}

// ---- output ----

TEST(BacktestOutputTest, JsonHasExactlyTheDocumentedShape) {
  const Cli c = RunCli(Fixture("thresholds.csv"));
  ASSERT_EQ(c.code, 0) << c.err;
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(c.out);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"series", "samples", "evaluations", "alerts"}));
  EXPECT_EQ(j["series"], 2);
  EXPECT_EQ(j["samples"], 602);
  EXPECT_EQ(j["evaluations"], 302);
  ASSERT_EQ(j["alerts"].size(), 2u);
  const auto& stall = j["alerts"][0];  // in the order they first went pending
  keys.clear();
  for (const auto& item : stall.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"alertname", "labels", "annotations", "first_pending",
                                            "first_firing", "intervals"}));
  EXPECT_EQ(stall["alertname"], "WriteStallsActive");
  EXPECT_EQ(stall["labels"], nlohmann::ordered_json::parse(R"({"alertname":"WriteStallsActive",
      "job":"cdc", "severity":"critical", "source":"rocksdb"})"));
  EXPECT_THAT(stall["annotations"]["summary"].get<std::string>(), HasSubstr("16MiB/s"));
  EXPECT_TRUE(stall["first_pending"].is_number_integer());
  EXPECT_EQ(stall["first_pending"], 1767225600 + 2 * 3600);
  EXPECT_EQ(stall["first_firing"], 1767225600 + 6 * 3600 + 6 * 60);
  EXPECT_EQ(stall["intervals"],
            nlohmann::ordered_json::parse(R"([{"firing":1767247560,"resolved":1767248400}])"));
}

TEST(BacktestOutputTest, JsonGivesNullForNeverFiredAndStillFiringAndDecimalsForMilliseconds) {
  TempDir dir;
  std::string text = "timestamp,series,value\n";
  for (int m = 0; m < 5; ++m) {  // low for 5 minutes: pending, never firing (for: 10m)
    text += std::to_string(1'767'225'600 + 60 * m) +
            ".25,statewatch_rocksdb_block_cache_hit_ratio,0.5\n";
  }
  text += "1767225900.25,statewatch_rocksdb_block_cache_hit_ratio,0.99\n";
  const Cli pending = RunCli(WriteFile(dir, "pending.csv", text));
  ASSERT_EQ(pending.code, 0) << pending.err;
  const nlohmann::json p = nlohmann::json::parse(pending.out);
  ASSERT_EQ(p["alerts"].size(), 1u);
  EXPECT_EQ(p["alerts"][0]["first_pending"], 1767225600.25);
  EXPECT_TRUE(p["alerts"][0]["first_firing"].is_null());
  EXPECT_EQ(p["alerts"][0]["intervals"], nlohmann::json::array());

  const Cli leaks = RunCli(Fixture("linear_leaks.csv"));
  const nlohmann::json l = nlohmann::json::parse(leaks.out);
  ASSERT_EQ(l["alerts"].size(), 6u);
  EXPECT_TRUE(l["alerts"][0]["intervals"][0]["resolved"].is_null());
}

TEST(BacktestOutputTest, TextIsATimelineWithASummary) {
  const Cli c = RunCli(Fixture("thresholds.csv"), "text");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("Replayed 602 samples of 2 series in 302 evaluations, "
                               "2026-01-01T00:00:00Z to 2026-01-01T09:58:00Z."));
  EXPECT_THAT(c.out, HasSubstr("2026-01-01T04:00:00Z  pending   BlockCacheHitRatioLow{"
                               "job=\"cdc\",severity=\"warning\",source=\"rocksdb\"}\n"));
  EXPECT_THAT(c.out, HasSubstr("2026-01-01T04:10:00Z  FIRING    BlockCacheHitRatioLow{"));
  EXPECT_THAT(c.out, HasSubstr("RocksDB block cache hit ratio of rocksdb is 82%"));
  EXPECT_THAT(c.out, HasSubstr("2026-01-01T04:30:00Z  resolved  BlockCacheHitRatioLow{"));
  EXPECT_THAT(c.out, HasSubstr("fired for 20m"));
  EXPECT_THAT(c.out, HasSubstr("2026-01-01T08:06:00Z  inactive  BlockCacheHitRatioLow{"));
  EXPECT_THAT(c.out, HasSubstr("2 alerts went pending or fired: 2 fired"));

  const Cli quiet = RunCli(Fixture("step_changes.csv"), "text");
  EXPECT_THAT(quiet.out, HasSubstr("No alert went pending or fired."));
  EXPECT_THAT(quiet.out, Not(HasSubstr("FIRING")));
}

}  // namespace
}  // namespace statewatch::agent
