// PrometheusCollector against a real HTTP server on a free loopback port: Flink reporter output
// (both column-family naming styles, tickers, checkpoint gauges) mapped to canonical signals,
// another statewatchd's series passed through, and targets that fail — 404, garbage, 10 MB of
// text, a hang, a refused connection — each in bounded time with an error naming the URL.
#include "statewatch/collectors/prometheus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "collectors/samples.h"
#include "embedded-state/test_util.h"
#include "statewatch/collectors/registry.h"
#include "support/loopback_server.h"

namespace statewatch::collectors {
namespace {

using statewatch::collectors::testing::Count;
using statewatch::collectors::testing::Find;
using ::testing::HasSubstr;

// Serves `body` at /metrics (settable), and the failure paths below.
class Target {
 public:
  Target() {
    http_.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      res.set_content(body_, "text/plain; version=0.0.4");
    });
    http_.server().Get("/huge", [](const httplib::Request&, httplib::Response& res) {
      std::string big;
      for (int i = 0; big.size() < (10u << 20) + 100; ++i) {
        big += "m{i=\"" + std::to_string(i) + "\"} 1\n";
      }
      res.set_content(big, "text/plain");
    });
    http_.server().Get("/garbage", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok 1\nthis is { not prometheus\n", "text/plain");
    });
    http_.server().Get("/hang", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      release_.wait(lock, [&] { return released_; });  // until the test ends
      res.set_content("late 1\n", "text/plain");
    });
    http_.Start();
  }
  ~Target() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    release_.notify_all();
    http_.Stop();
  }
  std::string url(const std::string& path) const { return http_.url(path); }
  void set_body(std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    body_ = std::move(body);
  }

 private:
  statewatch::testing::LoopbackServer http_;
  std::mutex mu_;
  std::condition_variable release_;
  bool released_ = false;
  std::string body_;
};

// What a Flink 1.19 TaskManager and JobManager reporter write (names and label style from
// ../shared/reference/flink-rest-and-metrics.md), hit/miss tickers at the given values.
std::string FlinkScrape(int hits, int misses, double keys) {
  const std::string op =
      "job_id=\"8c1f\",task_id=\"t1\",task_attempt_id=\"a_b_0_" + std::to_string(hits % 7) +
      "\",host=\"10_42_3_17\",operator_id=\"o1\",operator_name=\"OrdersJoin\",task_name="
      "\"OrdersJoin\",task_attempt_num=\"0\",job_name=\"orders_enrichment\",tm_id=\"tm_1\","
      "subtask_index=\"0\",";
  return "# HELP flink_taskmanager_job_task_operator_orders_join_rocksdb_estimate_num_keys "
         "rocksdb.estimate-num-keys (scope: taskmanager_job_task_operator_orders_join)\n"
         "# TYPE flink_taskmanager_job_task_operator_orders_join_rocksdb_estimate_num_keys gauge\n"
         "flink_taskmanager_job_task_operator_orders_join_rocksdb_estimate_num_keys{" +
         op + "} " + std::to_string(keys) +
         "\n"
         "flink_taskmanager_job_task_operator_orders_join_rocksdb_estimate_pending_compaction_"
         "bytes{" +
         op +
         "} 1048576.0\n"
         "flink_taskmanager_job_task_operator_column_family_rocksdb_cur_size_all_mem_tables{" +
         op +
         "column_family=\"segment_revenue\",} 6.7108864E7\n"
         "flink_taskmanager_job_task_operator__timer_state_event_user_timers_rocksdb_estimate_"
         "num_keys{" +
         op +
         "} 12.0\n"
         "flink_taskmanager_job_task_operator_rocksdb_block_cache_hit{" +
         op + "} " + std::to_string(hits) +
         "\n"
         "flink_taskmanager_job_task_operator_rocksdb_block_cache_miss{" +
         op + "} " + std::to_string(misses) +
         "\n"
         "flink_taskmanager_job_task_operator_numRecordsIn{" +
         op +
         "} 5.0\n"
         "flink_jobmanager_job_lastCheckpointFullSize{job_id=\"8c1f\",host=\"h\",job_name="
         "\"orders_enrichment\",} 2.779757535E9\n"
         "flink_jobmanager_job_lastCheckpointSize{job_id=\"8c1f\",host=\"h\",job_name="
         "\"orders_enrichment\",} 4.2769301E7\n"
         "flink_jobmanager_job_lastCheckpointDuration{job_id=\"8c1f\",host=\"h\",job_name="
         "\"orders_enrichment\",} 8123.0\n"
         "flink_jobmanager_job_numberOfFailedCheckpoints{job_id=\"8c1f\",host=\"h\",job_name="
         "\"orders_enrichment\",} 2.0\n"
         "flink_jobmanager_job_lastCheckpointExternalPath{job_id=\"8c1f\",host=\"h\",job_name="
         "\"orders_enrichment\",} 0.0\n"
         "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1.2e6\n";
}

TEST(PrometheusCollectorTest, FlinkReporterMapsToCanonicalSignals) {
  Target target;
  PrometheusOptions o;
  o.url = target.url("/metrics");
  PrometheusCollector c("cdc", "flink", o);
  target.set_body(FlinkScrape(900, 100, 4.2e7));
  std::vector<rules::Sample> first;
  ASSERT_SW_OK(c.Collect(1000, &first));
  const std::map<std::string, std::string> join{{"job", "cdc"},
                                                {"source", "flink"},
                                                {"state", "orders_join"},
                                                {"cf", "orders_join"},
                                                {"flink_job", "orders_enrichment"},
                                                {"operator", "OrdersJoin"},
                                                {"subtask", "0"}};
  EXPECT_EQ(Find(first, "statewatch_rocksdb_estimate_num_keys", join), 4.2e7);
  EXPECT_EQ(Find(first, "statewatch_rocksdb_pending_compaction_bytes", join), 1048576.0);
  EXPECT_EQ(Find(first, "statewatch_rocksdb_memtable_bytes", {{"cf", "segment_revenue"}}),
            6.7108864e7);
  EXPECT_EQ(Find(first, "statewatch_rocksdb_estimate_num_keys",
                 {{"cf", "_timer_state_event_user_timers"}}),
            12.0);
  EXPECT_EQ(
      Find(first, "statewatch_checkpoint_full_size_bytes", {{"flink_job", "orders_enrichment"}}),
      2.779757535e9);
  EXPECT_EQ(Find(first, "statewatch_checkpoint_delta_size_bytes", {}), 4.2769301e7);
  EXPECT_DOUBLE_EQ(*Find(first, "statewatch_checkpoint_duration_seconds", {}), 8.123);
  EXPECT_EQ(Find(first, "statewatch_checkpoints_failed_total", {}), 2.0);
  // Restart-varying labels are dropped; unrelated series are not kept.
  for (const rules::Sample& s : first) {
    for (const auto& [k, v] : s.labels) {
      EXPECT_NE(k, "task_attempt_id");
      EXPECT_NE(k, "tm_id");
    }
    EXPECT_NE(s.series, "node_cpu_seconds_total");
  }
  EXPECT_EQ(Count(first, "statewatch_rocksdb_block_cache_hit_ratio"), 0u);  // one reading only

  // Second scrape: 50 hits and 50 misses since — the ratio of the interval, not of the lifetime
  // (which is 95 %). The attempt id changed (a restart of the subtask): same series still.
  target.set_body(FlinkScrape(950, 150, 4.3e7));
  std::vector<rules::Sample> second;
  ASSERT_SW_OK(c.Collect(2000, &second));
  EXPECT_DOUBLE_EQ(*Find(second, "statewatch_rocksdb_block_cache_hit_ratio",
                         {{"operator", "OrdersJoin"}, {"subtask", "0"}}),
                   0.5);
}

TEST(PrometheusCollectorTest, AnotherStatewatchdsCanonicalSeriesPassThrough) {
  Target target;
  target.set_body(
      "# TYPE statewatch_state_keys gauge\n"
      "statewatch_state_keys{job=\"far\",source=\"engine\",state=\"orders\"} 1234\n"
      "statewatch_collector_up{collector=\"engine\"} 1\n");
  PrometheusOptions o;
  o.url = target.url("/metrics");
  PrometheusCollector c("cdc", "remote", o);
  std::vector<rules::Sample> out;
  ASSERT_SW_OK(c.Collect(1000, &out));
  EXPECT_EQ(Find(out, "statewatch_state_keys",
                 {{"job", "cdc"},
                  {"source", "remote"},
                  {"exported_job", "far"},
                  {"exported_source", "engine"},
                  {"state", "orders"}}),
            1234.0);
  EXPECT_EQ(Count(out, "statewatch_collector_up"), 0u);  // the other agent's health is its own
}

TEST(PrometheusCollectorTest, FailingTargetsFailInBoundedTimeNamingTheUrl) {
  Target target;
  struct Case {
    std::string path;
    const char* error;
    bool (Status::*is)() const;
    std::chrono::milliseconds timeout;
  };
  // The oversized answer gets time enough to arrive on a loaded machine: what it shows is the
  // size limit, not the timeout (the hang shows that).
  const Case cases[] = {
      {"/nothing-here", "HTTP 404", &Status::IsUnavailable, std::chrono::milliseconds(300)},
      {"/garbage", "line 2", &Status::IsInvalidArgument, std::chrono::milliseconds(300)},
      {"/huge", "larger than", &Status::IsResourceExhausted, std::chrono::seconds(5)},
      {"/hang", "GET", &Status::IsUnavailable, std::chrono::milliseconds(300)},
  };
  for (const Case& c : cases) {
    PrometheusOptions o;
    o.url = target.url(c.path);
    o.timeout = c.timeout;
    PrometheusCollector collector("cdc", "t", o);
    std::vector<rules::Sample> out;
    const auto start = std::chrono::steady_clock::now();
    const Status s = collector.Collect(1000, &out);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE((s.*c.is)()) << c.path << ": " << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(o.url)) << c.path;
    EXPECT_THAT(s.message(), HasSubstr(c.error)) << c.path;
    EXPECT_TRUE(out.empty()) << c.path;
    EXPECT_LT(took, std::chrono::seconds(10)) << c.path << " was not bounded by the timeout";
  }
  // Nobody listening (a port just released).
  int free_port = 0;
  {
    httplib::Server s;
    free_port = s.bind_to_any_port("127.0.0.1");
  }
  PrometheusOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(free_port) + "/metrics";
  o.timeout = std::chrono::milliseconds(300);
  PrometheusCollector refused("cdc", "t", o);
  std::vector<rules::Sample> out;
  const Status s = refused.Collect(1000, &out);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(o.url));
}

TEST(PrometheusCollectorTest, OptionsAreChecked) {
  CollectorParams p;
  p.source = "flink";
  p.options = {{"url", "ftp://x"}};
  EXPECT_THAT(BuiltinCollectors().Create("prometheus", p).status().message(),
              HasSubstr("http:// URL"));
  p.options = {{"url", "http://127.0.0.1:9249/"}, {"timeout", "ten"}};
  EXPECT_THAT(BuiltinCollectors().Create("prometheus", p).status().message(),
              HasSubstr("option 'timeout' must be a duration"));
  p.options = {{"url", "http://127.0.0.1:9249/"}, {"timeout", "2s"}, {"max_bytes", "1MiB"}};
  EXPECT_TRUE(BuiltinCollectors().Create("prometheus", p).ok());
}

}  // namespace
}  // namespace statewatch::collectors
