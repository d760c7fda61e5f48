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
  };
  for (const BadCase& c : cases) {
    auto r = ParseConfig(c.yaml, "conf.yaml");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_THAT(r.status().message(), HasSubstr(std::string("conf.yaml:") + c.where)) << c.yaml;
    EXPECT_THAT(r.status().message(), HasSubstr(c.what)) << c.yaml;
  }
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
