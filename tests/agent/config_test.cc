// Config loading: defaults, a full file, and every kind of mistake reported as FILE:LINE:COLUMN.
#include "statewatch/agent/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "embedded-state/test_util.h"
#include "statewatch/agent/duration.h"

namespace statewatch::agent {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(DurationTest, ParsesPrometheusNotation) {
  EXPECT_EQ(*ParseDuration("30s"), milliseconds(30'000));
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(*ParseDuration("7d"), milliseconds(7LL * 86'400'000));
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
  for (const char* bad : {"", "30", "s", "5x", "30m1h", "1m1m", "-5s", "99999999999999999999y"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatDuration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  auto c = ParseConfig("", "empty.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scrape_interval, std::chrono::seconds(15));
  EXPECT_EQ(c->evaluation_interval, std::chrono::minutes(1));
  EXPECT_TRUE(c->sources.empty());
}

TEST(ConfigTest, ReadsAFullFile) {
  auto c = ParseConfig(R"(
global:
  scrape_interval: 10s
storage:
  retention: 14d
sources:
  - name: cdc
    type: engine
  - name: orders-db
    type: rocksdb_dir
    job: cdc
    interval: 1m
    options:
      path: /var/lib/cdc/state
)",
                       "statewatch.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scrape_interval, std::chrono::seconds(10));
  EXPECT_EQ(c->retention, std::chrono::hours(24 * 14));
  ASSERT_EQ(c->sources.size(), 2u);
  EXPECT_EQ(c->sources[0].job, "cdc");
  EXPECT_EQ(c->sources[0].interval, std::chrono::seconds(10));  // inherits the global one
  EXPECT_EQ(c->sources[1].job, "cdc");
  EXPECT_EQ(c->sources[1].interval, std::chrono::minutes(1));
  EXPECT_EQ(c->sources[1].options.at("path"), "/var/lib/cdc/state");
}

struct BadCase {
  const char* yaml;
  const char* where;  // "LINE:COLUMN"
  const char* what;
};

TEST(ConfigTest, MistakesNameFileLineColumnAndWhatWasExpected) {
  const BadCase cases[] = {
      {"global:\n  scrape_intervall: 10s\n", "2:3", "unknown key 'scrape_intervall'"},
      {"global:\n  scrape_interval: soon\n", "2:20", "global.scrape_interval"},
      {"global:\n  scrape_interval: 0s\n", "2:20", "must be positive"},
      {"sources:\n  - type: engine\n", "2:5", "'name' is required"},
      {"sources:\n  - name: a\n    type: kafka\n", "3:11", "unknown type 'kafka'"},
      {"sources:\n  - name: a\n    type: engine\n  - name: a\n    type: engine\n", "4:11",
       "duplicate source name 'a'"},
      {"sources: cdc\n", "1:10", "expected a list"},
      {"global: [1, 2\n", "", ""},  // malformed YAML: position from the parser
      {"sources:\n  - name: a\n    type: engine\n    options: [x]\n", "4:14", "expected a mapping"},
      {"storage:\n  keep: 3d\n", "2:3", "unknown key 'keep' in storage"},
      {"storage:\n  retention: 1d\n  downsample_after: 2d\n", "2:3",
       "must be shorter than retention"},
      {"rules:\n  - alert: A\n    type: trend\n    serie: x\n", "4:5", "unknown key 'serie'"},
      {"rules:\n  - alert: A\n    type: slope\n", "3:11", "unknown type 'slope'"},
      {"rules:\n  - alert: A\n    type: threshold\n    series: x\n", "2:5", "needs 'threshold'"},
      {"rules:\n  - alert: A\n    type: threshold\n    series: x\n    op: '=~'\n"
       "    threshold: 1\n",
       "5:9", "unknown op '=~'"},
      {"rules:\n  - alert: A\n    type: trend\n    series: x\n    floor: lots\n", "5:12",
       "expected a number"},
      {"rules:\n  - alert: A\n    type: trend\n    series: x\n    min_r_squared: 2\n", "2:5",
       "min_r_squared"},
      {"rules:\n  - alert: A\n    type: trend\n    series: x\n    annotations:\n"
       "      summary: '{{ $nope }}'\n",
       "2:5", "nope"},
      {"rules:\n  - alert: A\n    type: trend\n    series: x\n  - alert: A\n    type: trend\n"
       "    series: y\n",
       "5:12", "duplicate rule alert 'A'"},
      {"receivers:\n  - name: ops\n", "2:5", "'url' is required"},
      {"receivers:\n  - name: ops\n    url: ftp://x\n", "3:10", "http:// or https://"},
      {"receivers:\n  - name: ops\n    url: http://x\n    send_resolved: maybe\n", "4:20",
       "expected true or false"},
      {"receivers:\n  - name: ops\n    type: email\n    url: http://x\n", "3:11",
       "unknown type 'email'"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseConfig(c.yaml, "conf.yaml");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_THAT(r.status().message(), HasSubstr(std::string("conf.yaml:") + c.where)) << c.yaml;
    EXPECT_THAT(r.status().message(), HasSubstr(c.what)) << c.yaml;
  }
}

TEST(ConfigTest, RulesAndReceivers) {
  auto c = ParseConfig(R"(
global:
  external_url: http://statewatch.example:9465
rules:
  - alert: OrdersJoinGrowing
    type: trend
    series: statewatch_state_keys
    matchers: {job: cdc, state: orders_join}
    window: 12h
    min_samples: 20
    min_r_squared: 0.95
    floor: 1e4
    limit: 2GiB
    for: 30m
    keep_firing_for: 10m
    labels: {severity: critical}
    annotations:
      summary: 'State {{ $labels.state }} grows {{ $value | humanize }} keys/h'
  - alert: HitRatioLow
    type: threshold
    series: statewatch_rocksdb_block_cache_hit_ratio
    op: '<'
    threshold: 0.9
    for: 0s
receivers:
  - name: ops
    url: http://127.0.0.1:5001/alerts
    timeout: 3s
    send_resolved: false
    repeat_interval: 1h
)",
                       "statewatch.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->external_url, "http://statewatch.example:9465");
  ASSERT_EQ(c->rules.size(), 2u);
  const rules::RuleSpec& trend = c->rules[0];
  EXPECT_EQ(trend.type, rules::RuleType::kTrend);
  EXPECT_EQ(trend.matchers,
            (rules::Labels{{"job", "cdc"}, {"state", "orders_join"}}));  // sorted by name
  EXPECT_EQ(trend.window, std::chrono::hours(12));
  EXPECT_EQ(trend.min_samples, 20u);
  EXPECT_DOUBLE_EQ(trend.min_r_squared, 0.95);
  EXPECT_DOUBLE_EQ(trend.floor, 1e4);
  EXPECT_DOUBLE_EQ(trend.limit.value(), 2.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(trend.for_duration, std::chrono::minutes(30));
  EXPECT_EQ(trend.keep_firing_for, std::chrono::minutes(10));
  EXPECT_EQ(trend.labels, (rules::Labels{{"severity", "critical"}}));
  const rules::RuleSpec& threshold = c->rules[1];
  EXPECT_EQ(threshold.op, rules::CompareOp::kLess);
  EXPECT_DOUBLE_EQ(threshold.threshold, 0.9);
  EXPECT_EQ(threshold.for_duration, std::chrono::milliseconds(0));
  ASSERT_EQ(c->receivers.size(), 1u);
  EXPECT_EQ(c->receivers[0].type, "webhook");
  EXPECT_EQ(c->receivers[0].timeout, std::chrono::seconds(3));
  EXPECT_FALSE(c->receivers[0].send_resolved);
  EXPECT_EQ(c->receivers[0].repeat_interval, std::chrono::hours(1));
}

TEST(ConfigTest, EvidenceAndForecastRules) {
  auto c = ParseConfig(R"(
rules:
  - alert: Stalled
    type: ttl_cleanup_stalled
  - alert: AppendOnly
    type: append_only
    flat_tolerance: 0.1
  - alert: DiskSoonFull
    type: forecast
    series: statewatch_filesystem_avail_bytes
    op: '<='
    limit: 10GiB
    window: 6h
    horizon: 4h
  - alert: Timeout
    type: forecast
    series: statewatch_checkpoint_duration_seconds
    op: '>='
    companion_series: statewatch_checkpoint_timeout_seconds
    companion_ignoring: [operator]
)",
                       "statewatch.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->rules.size(), 4u);
  // The evidence rules come with their natural pair of series.
  EXPECT_EQ(c->rules[0].type, rules::RuleType::kTtlCleanupStalled);
  EXPECT_EQ(c->rules[0].series, "statewatch_state_keys");
  EXPECT_EQ(c->rules[0].companion_series, "statewatch_state_expired_total");
  EXPECT_EQ(c->rules[0].companion_ignoring, std::vector<std::string>{"cleanup"});
  EXPECT_EQ(c->rules[1].series, "statewatch_checkpoint_full_size_bytes");
  EXPECT_EQ(c->rules[1].companion_series, "statewatch_checkpoint_delta_size_bytes");
  EXPECT_DOUBLE_EQ(c->rules[1].flat_tolerance, 0.1);
  EXPECT_EQ(c->rules[2].type, rules::RuleType::kForecast);
  EXPECT_EQ(c->rules[2].op, rules::CompareOp::kLessEqual);
  EXPECT_DOUBLE_EQ(c->rules[2].limit.value(), 10.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(c->rules[2].horizon, std::chrono::hours(4));
  EXPECT_EQ(c->rules[3].companion_ignoring, std::vector<std::string>{"operator"});

  // A forecast without a limit, and a list that is not one, are named with their place.
  auto no_limit = ParseConfig(R"(rules:
  - alert: F
    type: forecast
    series: x
)",
                              "f.yaml");
  ASSERT_FALSE(no_limit.ok());
  EXPECT_NE(no_limit.status().message().find("f.yaml:2:5"), std::string::npos)
      << no_limit.status().message();
  EXPECT_NE(no_limit.status().message().find("a forecast needs a limit"), std::string::npos);
  auto bad_list = ParseConfig(R"(rules:
  - alert: S
    type: ttl_cleanup_stalled
    companion_ignoring: cleanup
)",
                              "g.yaml");
  ASSERT_FALSE(bad_list.ok());
  EXPECT_NE(bad_list.status().message().find("g.yaml:4:25"), std::string::npos)
      << bad_list.status().message();
}

TEST(ConfigTest, WebBearerTokenComesFromAFileThatMustExist) {
  statewatch::testing::TempDir dir;
  std::ofstream(dir.Sub("token")) << "t0k3n\n";
  auto c = ParseConfig("web:\n  bearer_token_file: " + dir.Sub("token") + "\n", "w.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->web.bearer_token, "t0k3n");
  auto missing = ParseConfig("web:\n  bearer_token_file: " + dir.Sub("nope") + "\n", "w.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("w.yaml:2:22"), std::string::npos)
      << missing.status().message();
  EXPECT_NE(missing.status().message().find(dir.Sub("nope")), std::string::npos);
  auto unknown = ParseConfig("web:\n  token: x\n", "w.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown key 'token'"), std::string::npos)
      << unknown.status().message();
}

TEST(ConfigTest, WithoutARulesSectionTheBuiltInRulesApply) {
  auto defaults = ParseConfig("global:\n  scrape_interval: 5s\n", "a.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->rules.size(), rules::DefaultRules().size());
  EXPECT_FALSE(defaults->rules.empty());
  auto none = ParseConfig("rules: []\n", "b.yaml");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->rules.empty());
}

TEST(ConfigTest, UnreadableFileIsAnIOErrorNamingIt) {
  statewatch::testing::TempDir dir;
  auto missing = LoadConfigFile(dir.Sub("nope.yaml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsIOError());
  EXPECT_THAT(missing.status().message(), HasSubstr(dir.Sub("nope.yaml")));
  std::ofstream(dir.Sub("ok.yaml")) << "global:\n  scrape_interval: 5s\n";
  auto ok = LoadConfigFile(dir.Sub("ok.yaml"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->scrape_interval, std::chrono::seconds(5));
}

}  // namespace
}  // namespace statewatch::agent
