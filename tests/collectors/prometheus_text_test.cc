// The Prometheus text parser against a corpus: what Flink's PrometheusReporter, node_exporter and
// Prometheus' own tests write parses to the right samples; what promtool rejects is an error
// naming the line; random damage to valid text never crashes it.
#include "statewatch/collectors/prometheus_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace statewatch::collectors {
namespace {

using ::testing::HasSubstr;

Exposition ParseOk(std::string_view text) {
  Result<Exposition> e = ParsePrometheusText(text);
  EXPECT_TRUE(e.ok()) << e.status().ToString() << "\n" << text;
  return e.ok() ? *e : Exposition{};
}

TEST(PrometheusTextTest, FlinkReporterOutputWithTrailingCommas) {
  const Exposition e = ParseOk(
      "# HELP flink_jobmanager_job_lastCheckpointFullSize lastCheckpointFullSize (scope: "
      "jobmanager_job)\n"
      "# TYPE flink_jobmanager_job_lastCheckpointFullSize gauge\n"
      "flink_jobmanager_job_lastCheckpointFullSize{job_id=\"8c1f\",host=\"10_42_3_17\","
      "job_name=\"orders_enrichment\",} 2.779757535E9\n"
      "flink_taskmanager_job_task_operator_orders_join_rocksdb_estimate_num_keys{job_id=\"8c1f\","
      "operator_name=\"OrdersJoin\",subtask_index=\"0\",} 4.2769301E7\n");
  ASSERT_EQ(e.samples.size(), 2u);
  EXPECT_EQ(e.samples[0].name, "flink_jobmanager_job_lastCheckpointFullSize");
  EXPECT_DOUBLE_EQ(e.samples[0].value, 2.779757535e9);
  EXPECT_EQ(e.samples[0].labels,
            (rules::Labels{
                {"job_id", "8c1f"}, {"host", "10_42_3_17"}, {"job_name", "orders_enrichment"}}));
  EXPECT_DOUBLE_EQ(e.samples[1].value, 42769301);
  ASSERT_EQ(e.families.size(), 1u);
  EXPECT_EQ(e.families[0].type, "gauge");
  EXPECT_EQ(e.families[0].help, "lastCheckpointFullSize (scope: jobmanager_job)");
}

TEST(PrometheusTextTest, EscapesSpecialValuesTimestampsHistogramsAndSummaries) {
  const Exposition e = ParseOk(
      "# A plain comment\n"
      "\n"
      "# HELP http_requests_total The total.\\nSecond line with \\\\.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n"
      "\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
      "metric_without_timestamp_and_labels 12.47\n"
      "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
      "nan_value NaN\n"
      "neg_inf -Inf\n"
      "  \tindented_metric 1\n"
      "# TYPE latency histogram\n"
      "latency_bucket{le=\"0.05\"} 24054\n"
      "latency_bucket{le=\"+Inf\"} 144320\n"
      "latency_sum 53423\n"
      "latency_count 144320\n"
      "# TYPE rpc summary\n"
      "rpc{quantile=\"0.5\"} 4773\n"
      "rpc_sum 1.7560473e+07\n"
      "rpc_count 2693\n"
      "windows_line_ending 3\r\n");
  ASSERT_EQ(e.samples.size(), 15u);
  EXPECT_EQ(e.samples[0].timestamp_millis, 1395066363000);
  EXPECT_EQ(e.samples[1].labels[0].second, "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(e.samples[1].labels[1].second, "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_FALSE(e.samples[2].timestamp_millis.has_value());
  EXPECT_TRUE(std::isinf(e.samples[3].value) && e.samples[3].value > 0);
  EXPECT_EQ(e.samples[3].timestamp_millis, -3982045);
  EXPECT_TRUE(std::isnan(e.samples[4].value));
  EXPECT_TRUE(std::isinf(e.samples[5].value) && e.samples[5].value < 0);
  EXPECT_EQ(e.samples[6].name, "indented_metric");
  EXPECT_EQ(e.samples.back().value, 3);
  EXPECT_EQ(e.families[0].help, "The total.\nSecond line with \\.");
}

TEST(PrometheusTextTest, WhatPromtoolRejectsIsAnErrorNamingTheLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"ok 1\n0starts_with_digit 1\n", "line 2: expected a metric name"},
      {"a{0bad=\"x\"} 1\n", "line 1: expected a label name"},
      {"a{l=\"x} 1\n", "unterminated label value"},
      {"a{l=\"\\x\"} 1\n", "invalid escape"},
      {"a{l=\"x\",l=\"y\"} 1\n", "label l given twice"},
      {"a{l=x} 1\n", "expected '\"'"},
      {"a{l=\"x\" 1\n", "expected ',' or '}'"},
      {"a{l=\"x\"\n", "unterminated label set"},
      {"a\n", "missing value for a"},
      {"a one\n", "invalid value 'one'"},
      {"a 1 12x\n", "invalid timestamp '12x'"},
      {"a 1 1.5\n", "invalid timestamp"},
      {"a 1 2 3\n", "unexpected text after the timestamp"},
      {"a{l=\"x\"}b 1\n", "unexpected 'b'"},
      {"# TYPE a gauges\n", "invalid metric type 'gauges'"},
      {"# TYPE a gauge\n# TYPE a counter\n", "line 2: second TYPE line for a"},
      {"a 1\n# TYPE a gauge\n", "line 2: TYPE line for a after its samples"},
      {"# HELP a x\n# HELP a y\n", "second HELP line for a"},
      {"# TYPE h histogram\nh_bucket 1\n", "without an le label"},
      {"# TYPE s summary\ns 1\n", "without a quantile label"},
      {"# TYPE h histogram\nh 1\n", "without _bucket/_sum/_count"},
      {"# TYPE\n", "without a metric name"},
      {"# TYPE a-b gauge\n", "invalid metric name"},
  };
  for (const Case& c : cases) {
    Result<Exposition> e = ParsePrometheusText(c.text);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_TRUE(e.status().IsInvalidArgument()) << c.text;
    EXPECT_THAT(e.status().message(), HasSubstr(c.error)) << c.text;
  }
}

TEST(PrometheusTextTest, SampleCountIsBounded) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  EXPECT_TRUE(ParsePrometheusText(text, 1000).ok());
  Result<Exposition> e = ParsePrometheusText(text, 999);
  EXPECT_TRUE(e.status().IsResourceExhausted()) << e.status().ToString();
}

// Damaged text (bytes flipped, cut, inserted) never crashes and is either parsed or an error
// naming a line. Run under ASan/UBSan in scripts/test.
TEST(PrometheusTextTest, RandomDamageNeverCrashes) {
  const std::string valid =
      "# HELP a help \\n text\n# TYPE a gauge\na{x=\"1\",y=\"\\\"q\\\"\",} 1.5e3 17\n"
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 3\nh_count 2\nb NaN\n";
  std::mt19937 rng(5);
  const std::string alphabet = "{}\"\\=,# \n\t.e+-0123456789aZ_:\r\x01\xff";
  int errors = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string t = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const size_t at = rng() % (t.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (at < t.size()) t[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          t.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          t.resize(at);
      }
    }
    Result<Exposition> e = ParsePrometheusText(t);
    if (!e.ok()) {
      ++errors;
      EXPECT_THAT(e.status().message(), HasSubstr("line ")) << t;
    }
  }
  EXPECT_GT(errors, 1000);  // the damage was real
}

}  // namespace
}  // namespace statewatch::collectors
