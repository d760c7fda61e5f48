// FlinkRestCollector against a local HTTP server serving fixture JSON in the shapes Flink's REST
// API documents (tests/fixtures/flink/): per-job and per-operator checkpoint signals, a job with
// checkpointing disabled (404), finished jobs skipped, and broken answers — HTTP 500 with
// Flink's error body, partial JSON, a field of the wrong type — each an error naming the URL,
// with nothing half-collected kept.
#include "statewatch/collectors/flink_rest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "collectors/fake_job_manager.h"
#include "collectors/samples.h"
#include "embedded-state/test_util.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::collectors {
namespace {

using statewatch::collectors::testing::Count;
using statewatch::collectors::testing::Find;
using statewatch::testing::FakeJobManager;
using statewatch::testing::FlinkFixture;
using statewatch::testing::kFlinkJob;
using ::testing::HasSubstr;

TEST(FlinkRestCollectorTest, CheckpointSignalsPerJobAndOperator) {
  FakeJobManager jm;
  FlinkRestOptions o;
  o.url = jm.url() + "/";
  FlinkRestCollector c("cdc", "jm", o);
  std::vector<rules::Sample> out;
  ASSERT_SW_OK(c.Collect(1000, &out));
  const std::map<std::string, std::string> job{
      {"job", "cdc"}, {"source", "jm"}, {"flink_job", "orders_enrichment"}};
  // Job level: full = state_size, delta = checkpointed_size (Flink's naming is the reverse of
  // what one might guess; see the reference).
  auto job_only = [&](const std::string& series) {
    std::optional<double> v;
    for (const rules::Sample& s : out) {
      bool has_operator = false;
      for (const auto& [k, val] : s.labels) has_operator |= k == "operator";
      if (s.series == series && !has_operator) v = s.value;
    }
    return v;
  };
  EXPECT_EQ(job_only("statewatch_checkpoint_full_size_bytes"), 2779757535.0);
  EXPECT_EQ(job_only("statewatch_checkpoint_delta_size_bytes"), 42769301.0);
  EXPECT_DOUBLE_EQ(*job_only("statewatch_checkpoint_duration_seconds"), 8.123);
  EXPECT_EQ(Find(out, "statewatch_checkpoints_completed_total", job), 1440.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoints_failed_total", job), 2.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_timeout_seconds", job), 600.0);
  // Operator level, named by vertex.
  EXPECT_EQ(Find(out, "statewatch_checkpoint_full_size_bytes",
                 {{"operator", "OrdersJoin -> EnrichWithFx"}}),
            2779755487.0);
  EXPECT_EQ(
      Find(out, "statewatch_checkpoint_delta_size_bytes", {{"operator", "Source: orders_cdc"}}),
      1024.0);
  // The finished job is skipped; the one without checkpointing has no checkpoint samples.
  EXPECT_EQ(Count(out, "statewatch_checkpoints_completed_total"), 1u);
  EXPECT_EQ(Count(out, "statewatch_checkpoints_completed_total", {{"flink_job", "no_checkpoints"}}),
            0u);
}

TEST(FlinkRestCollectorTest, BrokenAnswersAreErrorsNamingTheUrlAndKeepNothing) {
  const std::string checkpoints = std::string("/jobs/") + kFlinkJob + "/checkpoints";
  struct Case {
    std::string path;
    int status;
    std::string body;
    const char* error;
  };
  const std::string full = FlinkFixture("checkpoints.json");
  const Case cases[] = {
      {"/jobs/overview", 500, R"({"errors":["Internal server error."]})",
       "HTTP 500: Internal server error."},
      {checkpoints, 200, full.substr(0, full.size() / 2), "not JSON"},
      {checkpoints, 200, R"({"counts":{"completed":"many","failed":0}})", "'completed'"},
      {"/jobs/overview", 200, R"({"jobs":[{"jid":"x","state":7}]})", "unexpected JSON"},
      {"/jobs/overview", 200, R"([1,2,3])", "field 'jobs' missing"},
  };
  for (const Case& c : cases) {
    FakeJobManager jm;
    jm.Set(c.path, c.status, c.body);
    FlinkRestOptions o;
    o.url = jm.url();
    FlinkRestCollector collector("cdc", "jm", o);
    std::vector<rules::Sample> out;
    const Status s = collector.Collect(1000, &out);
    ASSERT_FALSE(s.ok()) << c.body;
    EXPECT_THAT(s.message(), HasSubstr(jm.url())) << c.body;
    EXPECT_THAT(s.message(), HasSubstr(c.error)) << c.body;
    EXPECT_TRUE(out.empty()) << "half a collection was kept for " << c.body;
  }
}

TEST(FlinkRestCollectorTest, RegisteredWithCheckedOptions) {
  CollectorParams p;
  p.source = "jm";
  p.options = {{"url", "jobmanager:8081"}};
  EXPECT_THAT(BuiltinCollectors().Create("flink_rest", p).status().message(),
              HasSubstr("http:// URL"));
  p.options = {{"url", "http://jobmanager:8081"}, {"timeout", "5s"}};
  EXPECT_TRUE(BuiltinCollectors().Create("flink_rest", p).ok());
}

}  // namespace
}  // namespace statewatch::collectors
