// dashboards/ against the agent that feeds them: the Grafana dashboards' queries and the
// Prometheus alerting rules may only name metrics statewatchd really exports, and promtool
// accepts the exposition, the rules and the rules' own test cases.
//
// The agent is the example job with statewatchd's agent linked in (examples/cdc_watched.cc),
// run on its simulated clock for two days with a leaky join state (so alerts fire and are
// delivered), on RocksDB (engine signals per state and column family, hit ratio, memory
// budget, filesystem), and with three more sources so every signal the dashboards read is
// present: a rocksdb_dir source on the job's own join database (SST files per level, TTL filter
// flag, LOG stall counters), a checkpoint_dir source on a checkpoint root this test writes with
// the engine (checkpoint sizes, duration, retained/latest/shared), and a flink_rest source on a
// fake JobManager serving tests/fixtures/flink (checkpoint timeout, per-operator sizes,
// completed/failed counts). With --hold the job keeps serving /metrics after the run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/webhook_receiver.h"
#include "collectors/fake_job_manager.h"
#include "embedded-state/test_util.h"
#include "integration/daemon_process.h"
#include "statewatch/rules/rule.h"
#include "statewatch/state/checkpoint.h"
#include "statewatch/state/clock.h"

namespace statewatch {
namespace {

using statewatch::testing::ChildProcess;
using statewatch::testing::FakeJobManager;
using statewatch::testing::TempDir;
using statewatch::testing::WebhookReceiver;
using ::testing::IsEmpty;

// ---------------------------------------------------------------------------------------------
// Reading metric names out of PromQL.

// The metric names a PromQL expression reads, and the regexes of its {__name__=~"…"} matchers.
struct PromQlNames {
  std::set<std::string> metrics;
  std::vector<std::string> name_regexes;
};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c));
}

// Index just past the string literal starting at `i` (", ' or `; backslash escapes).
size_t SkipString(std::string_view s, size_t i) {
  const char quote = s[i++];
  while (i < s.size() && s[i] != quote) {
    if (s[i] == '\\' && quote != '`') ++i;
    ++i;
  }
  return i + 1;
}

// Index just past the bracket group opening at `i` ( "(…)", "[…]", "{…}" ), strings skipped.
size_t SkipGroup(std::string_view s, size_t i) {
  const char open = s[i];
  const char close = open == '(' ? ')' : open == '[' ? ']' : '}';
  int depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = SkipString(s, i);
      continue;
    }
    if (c == open) ++depth;
    if (c == close && --depth == 0) return i + 1;
    ++i;
  }
  return i;
}

// The label matchers of a selector "{…}": records __name__ matchers, ignores the rest.
void ReadMatchers(std::string_view group, PromQlNames* out) {
  static const std::regex name_matcher(R"re(__name__\s*(=~|=)\s*"((?:[^"\\]|\\.)*)")re");
  const std::string text(group);
  for (std::sregex_iterator it(text.begin(), text.end(), name_matcher), end; it != end; ++it) {
    if ((*it)[1] == "=") {
      out->metrics.insert((*it)[2]);
    } else {
      out->name_regexes.push_back((*it)[2]);
    }
  }
}

// A small PromQL tokenizer: identifiers that are not keywords, aggregation operators,
// function names (followed by "("), label names (inside {…} and the by/without/on/ignoring/
// group_left/group_right lists), numbers or durations, string literals or Grafana variables
// ($var, ${var}, $__rate_interval) are metric names.
PromQlNames MetricNamesIn(std::string_view expr) {
  static const std::set<std::string> kKeywords = {"and", "or",  "unless", "bool",  "offset",
                                                  "inf", "nan", "atan2",  "start", "end"};
  static const std::set<std::string> kLabelLists = {"by",       "without",    "on",
                                                    "ignoring", "group_left", "group_right"};
  static const std::set<std::string> kAggregations = {
      "sum",   "min",          "max",     "avg",  "group",    "stddev", "stdvar",
      "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"};
  PromQlNames out;
  size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = SkipString(expr, i);
    } else if (c == '#') {  // a comment, to the end of the line
      while (i < expr.size() && expr[i] != '\n') ++i;
    } else if (c == '{') {
      const size_t end = SkipGroup(expr, i);
      ReadMatchers(expr.substr(i, end - i), &out);
      i = end;
    } else if (c == '[') {  // a range or subquery: durations and Grafana variables
      i = SkipGroup(expr, i);
    } else if (c == '$') {  // a Grafana variable
      ++i;
      if (i < expr.size() && expr[i] == '{') {
        i = SkipGroup(expr, i);
      } else {
        while (i < expr.size() && IsIdentChar(expr[i])) ++i;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < expr.size() &&
                std::isdigit(static_cast<unsigned char>(expr[i + 1])))) {
      // A number (1e9, 0x1f, 0.5) or a duration (1d, 5m30s).
      while (i < expr.size() && (IsIdentChar(expr[i]) || expr[i] == '.')) ++i;
    } else if (IsIdentStart(c)) {
      size_t end = i;
      while (end < expr.size() && IsIdentChar(expr[end])) ++end;
      const std::string word(expr.substr(i, end - i));
      size_t next = end;
      while (next < expr.size() && std::isspace(static_cast<unsigned char>(expr[next]))) ++next;
      const bool call = next < expr.size() && expr[next] == '(';
      i = end;
      if (kLabelLists.count(word)) {
        if (call) i = SkipGroup(expr, next);
      } else if (kKeywords.count(word) || kAggregations.count(word) || call) {
        // an operator keyword, an aggregation, or a function name
      } else {
        out.metrics.insert(word);
      }
    } else {
      ++i;
    }
  }
  return out;
}

// A Grafana Prometheus variable query: label_values(SELECTOR, label) reads SELECTOR; the other
// forms (label_values(label), label_names(), metrics(…)) read no metric.
std::string VariableQueryExpr(const std::string& query) {
  static const std::regex label_values(
      R"(^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$)");
  static const std::regex query_result(R"(^\s*query_result\((.*)\)\s*$)");
  std::smatch m;
  if (std::regex_match(query, m, label_values) || std::regex_match(query, m, query_result)) {
    return m[1];
  }
  return "";
}

TEST(PromQlNamesTest, FindsMetricsAndSkipsFunctionsLabelsDurationsAndVariables) {
  const PromQlNames n = MetricNamesIn(
      R"q(sum by (job, state) (rate(statewatch_a_total{job=~"$job", cleanup="x}"}[$__rate_interval]))
         / on(instance) group_left(operator) statewatch_b offset 1d > bool 0.5
         unless statewatch_c:recorded{src="a"} * 1e9 and max_over_time(x_y[30d:1h])
         or label_replace(vector(0), "dst", "$1", "src", "(.*)") # statewatch_in_comment
         or count(statewatch_d) by (cf) + topk(5, statewatch_e) + {__name__=~"statewatch_(f|g)"})q");
  EXPECT_EQ(n.metrics,
            (std::set<std::string>{"statewatch_a_total", "statewatch_b", "statewatch_c:recorded",
                                   "x_y", "statewatch_d", "statewatch_e"}));
  EXPECT_EQ(n.name_regexes, (std::vector<std::string>{"statewatch_(f|g)"}));
  EXPECT_EQ(MetricNamesIn(R"({__name__="statewatch_h", job="j"})").metrics,
            (std::set<std::string>{"statewatch_h"}));
  EXPECT_EQ(VariableQueryExpr(R"(label_values(statewatch_collector_up{x="a,b"}, instance))"),
            R"(statewatch_collector_up{x="a,b"})");
  EXPECT_EQ(VariableQueryExpr("label_values(job)"), "");
}

// ---------------------------------------------------------------------------------------------
// Running promtool.

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` through the shell, stdin from `stdin_file` when given.
CommandResult RunCommand(const std::string& command, const std::string& stdin_file = "") {
  std::string line = command;
  if (!stdin_file.empty()) line += " < '" + stdin_file + "'";
  line += " 2>&1";
  CommandResult r;
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kDashboards = DASHBOARDS_DIR;
const std::string kPromtool = PROMTOOL_PATH;

// ---------------------------------------------------------------------------------------------
// The dashboards.

struct Dashboard {
  std::string file;
  nlohmann::json json;
};

std::vector<Dashboard> LoadDashboards() {
  std::vector<Dashboard> out;
  for (const auto& entry : std::filesystem::directory_iterator(kDashboards)) {
    if (entry.path().extension() != ".json") continue;
    Dashboard d;
    d.file = entry.path().filename().string();
    d.json = nlohmann::json::parse(ReadFile(entry.path().string()), nullptr, false);
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.file < b.file; });
  return out;
}

// Every panel, rows' nested panels included.
void ForEachPanel(const nlohmann::json& panels,
                  const std::function<void(const nlohmann::json&)>& f) {
  for (const nlohmann::json& p : panels) {
    f(p);
    if (p.contains("panels")) ForEachPanel(p["panels"], f);
  }
}

// (where, PromQL) for every panel target and every query variable of every dashboard.
std::vector<std::pair<std::string, std::string>> DashboardQueries() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Dashboard& d : LoadDashboards()) {
    if (d.json.is_discarded()) continue;
    ForEachPanel(d.json.value("panels", nlohmann::json::array()), [&](const nlohmann::json& p) {
      for (const nlohmann::json& t : p.value("targets", nlohmann::json::array())) {
        out.emplace_back(
            d.file + ": panel \"" + p.value("title", "") + "\" " + t.value("refId", ""),
            t.value("expr", ""));
      }
    });
    for (const nlohmann::json& v : d.json["templating"].value("list", nlohmann::json::array())) {
      if (v.value("type", "") != "query") continue;
      const nlohmann::json& q = v["query"];
      const std::string query = q.is_string() ? q.get<std::string>() : q.value("query", "");
      out.emplace_back(d.file + ": variable $" + v.value("name", ""), VariableQueryExpr(query));
    }
  }
  return out;
}

const nlohmann::json kDatasource = {{"type", "prometheus"}, {"uid", "${datasource}"}};

TEST(DashboardsTest, AreGrafanaDashboardsWithTheDatasourceVariable) {
  const std::vector<Dashboard> dashboards = LoadDashboards();
  std::set<std::string> files;
  for (const Dashboard& d : dashboards) files.insert(d.file);
  EXPECT_EQ(files, (std::set<std::string>{"statewatch-checkpoints.json", "statewatch-overview.json",
                                          "statewatch-rocksdb.json"}));
  std::set<std::string> uids;
  for (const Dashboard& d : dashboards) {
    SCOPED_TRACE(d.file);
    ASSERT_FALSE(d.json.is_discarded()) << "not JSON";
    ASSERT_TRUE(d.json.contains("schemaVersion"));
    EXPECT_GE(d.json["schemaVersion"].get<int>(), 36);  // Grafana 9+: datasource refs by uid
    ASSERT_TRUE(d.json.contains("uid") && d.json["uid"].is_string());
    EXPECT_TRUE(uids.insert(d.json["uid"].get<std::string>()).second) << "duplicate uid";
    EXPECT_FALSE(d.json.value("title", "").empty());
    // Importable and provisionable alike: no __inputs, the data source is a variable.
    EXPECT_FALSE(d.json.contains("__inputs"));
    EXPECT_TRUE(d.json["id"].is_null());
    bool datasource_variable = false;
    std::set<std::string> variables;
    for (const nlohmann::json& v : d.json["templating"]["list"]) {
      variables.insert(v.value("name", ""));
      if (v.value("type", "") == "datasource" && v.value("name", "") == "datasource" &&
          v.value("query", "") == "prometheus") {
        datasource_variable = true;
      }
      if (v.value("type", "") == "query") {
        EXPECT_EQ(v["datasource"], kDatasource) << v.dump();
      }
    }
    EXPECT_TRUE(datasource_variable);
    for (const char* name : {"instance", "job", "source"})
      EXPECT_TRUE(variables.count(name)) << name;

    std::set<int> ids;
    int queried = 0;
    ForEachPanel(d.json["panels"], [&](const nlohmann::json& p) {
      const std::string title = p.value("title", "");
      SCOPED_TRACE(title);
      EXPECT_FALSE(title.empty());
      EXPECT_TRUE(ids.insert(p.value("id", -1)).second) << "duplicate panel id";
      EXPECT_TRUE(p.contains("gridPos"));
      if (p.value("type", "") == "row") return;
      EXPECT_THAT(p.value("type", ""), ::testing::AnyOf("timeseries", "stat", "table",
                                                        "state-timeline", "gauge", "bargauge"));
      EXPECT_FALSE(p.value("description", "").empty());
      EXPECT_EQ(p.value("datasource", nlohmann::json()), kDatasource);
      ASSERT_TRUE(p.contains("targets"));
      EXPECT_FALSE(p["targets"].empty());
      for (const nlohmann::json& t : p["targets"]) {
        EXPECT_EQ(t.value("datasource", nlohmann::json()), kDatasource);
        EXPECT_FALSE(t.value("expr", "").empty());
        EXPECT_FALSE(t.value("refId", "").empty());
      }
      ++queried;
    });
    EXPECT_GE(queried, 10);
  }
}

// Every query is PromQL Prometheus parses: written as recording rules (Grafana's interval
// variables replaced by a duration) and checked by promtool.
TEST(DashboardsTest, EveryQueryIsValidPromQl) {
  TempDir dir;
  nlohmann::json rules = nlohmann::json::array();
  int n = 0;
  for (const auto& [where, expr] : DashboardQueries()) {
    if (expr.empty()) continue;
    std::string promql = expr;
    for (const char* var : {"$__rate_interval", "$__interval", "$__range"}) {
      for (size_t at; (at = promql.find(var)) != std::string::npos;) {
        promql.replace(at, std::string(var).size(), "5m");
      }
    }
    rules.push_back({{"record", "dashboard_query_" + std::to_string(++n)}, {"expr", promql}});
  }
  ASSERT_GT(n, 40);
  const nlohmann::json file = {{"groups", {{{"name", "dashboards"}, {"rules", rules}}}}};
  const std::string path = dir.Sub("dashboard-queries.yml");
  std::ofstream(path) << file.dump(2);  // JSON is YAML
  const CommandResult r = RunCommand(kPromtool + " check rules '" + path + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// ---------------------------------------------------------------------------------------------
// The agent with every source, shared by the tests that read its /metrics.

// Two checkpoints of a small heap backend in `root`, so checkpoint_dir has a latest and a
// previous one (full and delta size, duration from the metadata on the system clock). Returns
// an error message, empty on success.
std::string WriteCheckpointRoot(const std::string& root, const TempDir& dir) {
  static SystemClock clock;
  BackendOptions options = statewatch::testing::TestOptions("hashmap", &clock, dir);
  Result<std::unique_ptr<KeyedStateBackend>> backend = NewKeyedStateBackend(options);
  if (!backend.ok()) return backend.status().ToString();
  Result<ValueState<std::string>*> state =
      (*backend)->GetValueState(ValueStateDescriptor<std::string>("orders"));
  if (!state.ok()) return state.status().ToString();
  CheckpointOptions co;
  co.root = root;
  auto coordinator = CheckpointCoordinator::Open(backend->get(), co);
  if (!coordinator.ok()) return coordinator.status().ToString();
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < 500; ++k) {
      Status s = (*backend)->SetCurrentKey("customer-" + std::to_string(round * 500 + k));
      if (s.ok()) s = (*state)->Update(std::string(64, 'x'));
      if (!s.ok()) return s.ToString();
    }
    if (auto c = (*coordinator)->Trigger(); !c.ok()) return c.status().ToString();
  }
  return "";
}

class AgentMetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifdef CDC_WATCHED_PATH
    env_ = new Env;
    env_->Start();
#endif
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override {
#ifndef CDC_WATCHED_PATH
    GTEST_SKIP() << "examples not built (cdc_watched serves the agent's /metrics)";
#else
    ASSERT_TRUE(env_->error.empty()) << env_->error;
#endif
  }

  struct Env {
    TempDir dir;
    FakeJobManager jobmanager;
    WebhookReceiver receiver;
    std::unique_ptr<ChildProcess> job;
    std::string metrics;  // GET /metrics after the run
    std::set<std::string> names;
    std::string error;

    void Start() {
      const std::string data = dir.Sub("data");
      const std::string checkpoints = dir.Sub("checkpoints");
      error = WriteCheckpointRoot(checkpoints, dir);
      if (!error.empty()) return;
      const std::string config = dir.Sub("statewatch.yaml");
      std::ofstream(config)
          << "global:\n"
             "  evaluation_interval: 15m\n"
             "sources:\n"
             "  - {name: join, type: engine, job: cdc, options: {backend: join}}\n"
             "  - {name: aggregate, type: engine, job: cdc, options: {backend: "
             "aggregate}}\n"
             "  - name: join-dir\n"
             "    type: rocksdb_dir\n"
             "    job: cdc\n"
             "    options: {path: '"
          << data
          << "/job/join'}\n"
             "  - name: checkpoints\n"
             "    type: checkpoint_dir\n"
             "    job: orders\n"
             "    options: {path: '"
          << checkpoints
          << "'}\n"
             "  - name: jm\n"
             "    type: flink_rest\n"
             "    job: flink\n"
             "    options: {url: '"
          << jobmanager.url()
          << "'}\n"
             "receivers:\n"
             "  - name: ops\n"
             "    type: webhook\n"
             "    url: "
          << receiver.url() << "\n";
#ifdef CDC_WATCHED_PATH
      job = std::make_unique<ChildProcess>(
          std::vector<std::string>{CDC_WATCHED_PATH, "--config.file=" + config,
                                   "--storage.path=" + data, "--web.listen-address=127.0.0.1:0",
                                   "--backend=rocksdb", "--leaky", "--speed=0", "--days=2",
                                   "--hold"},
          dir.Sub("cdc_watched.log"));
#endif
      std::optional<std::string> port = job->WaitForLog(
          R"(holding at .*: serving http://127\.0\.0\.1:(\d+)/metrics)", std::chrono::minutes(5));
      if (!port) {
        error = "cdc_watched did not finish its run:\n" + job->Log();
        return;
      }
      httplib::Client client("127.0.0.1", std::stoi(*port));
      client.set_read_timeout(std::chrono::seconds(10));
      httplib::Result r = client.Get("/metrics");
      if (!r || r->status != 200) {
        error = "GET /metrics failed:\n" + job->Log();
        return;
      }
      metrics = r->body;
      std::istringstream lines(metrics);
      for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        names.insert(line.substr(0, line.find_first_of("{ ")));
      }
    }
    ~Env() {
      if (job && job->Alive()) {
        job->Signal(SIGTERM);
        job->Wait(std::chrono::seconds(30));
      }
    }
  };

  static bool Exported(const std::string& name) {
    if (env_->names.count(name)) return true;
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {  // histograms, summaries
      if (name.ends_with(suffix) &&
          env_->names.count(name.substr(0, name.size() - suffix.size()))) {
        return true;
      }
    }
    return false;
  }

  // Fails for every metric `expr` names that /metrics does not have, and for every
  // {__name__=~…} regex that matches none of them.
  static void ExpectExported(const std::string& where, const std::string& expr,
                             std::set<std::string>* seen) {
    const PromQlNames n = MetricNamesIn(expr);
    for (const std::string& m : n.metrics) {
      seen->insert(m);
      EXPECT_TRUE(Exported(m)) << where << " reads " << m << ", which the agent does not export\n  "
                               << expr;
    }
    for (const std::string& re : n.name_regexes) {
      const std::regex r(re);
      const bool any = std::any_of(env_->names.begin(), env_->names.end(),
                                   [&](const std::string& m) { return std::regex_match(m, r); });
      EXPECT_TRUE(any) << where << ": __name__=~\"" << re << "\" matches no exported metric";
    }
  }

  static Env* env_;
};

AgentMetricsTest::Env* AgentMetricsTest::env_ = nullptr;

// The run produced every kind of signal, so the checks below are not vacuous: engine, RocksDB
// directory, checkpoint root, Flink REST, delivered notifications.
TEST_F(AgentMetricsTest, ExportsTheSignalsOfEverySource) {
  for (const char* name :
       {"statewatch_state_keys", "statewatch_state_ttl_seconds", "statewatch_state_expired_total",
        "statewatch_rocksdb_block_cache_hit_ratio", "statewatch_rocksdb_memory_budget_bytes",
        "statewatch_filesystem_avail_bytes", "statewatch_rocksdb_sst_files",
        "statewatch_rocksdb_ttl_compaction_filter", "statewatch_rocksdb_write_stalls_total",
        "statewatch_checkpoint_shared_bytes", "statewatch_checkpoint_latest_id",
        "statewatch_checkpoint_timeout_seconds", "statewatch_checkpoints_failed_total",
        "statewatch_notifications_total", "statewatch_alerts", "statewatch_collector_up"}) {
    EXPECT_TRUE(env_->names.count(name)) << name << " missing from /metrics:\n" << env_->metrics;
  }
  // Every source collected (a down one would export only its health series).
  int sources = 0;
  std::istringstream lines(env_->metrics);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("statewatch_collector_up{")) continue;
    ++sources;
    EXPECT_TRUE(line.ends_with(" 1")) << "a source is down: " << line;
  }
  EXPECT_EQ(sources, 5);
  EXPECT_NE(env_->metrics.find(R"(flink_job="orders_enrichment")"), std::string::npos);
}

TEST_F(AgentMetricsTest, PassesPromtoolCheckMetrics) {
  const std::string path = env_->dir.Sub("metrics.txt");
  std::ofstream(path) << env_->metrics;
  const CommandResult r = RunCommand(kPromtool + " check metrics", path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, IsEmpty()) << "promtool lint findings on /metrics";
}

TEST_F(AgentMetricsTest, EveryDashboardQueryReadsAnExportedMetric) {
  std::set<std::string> seen;
  for (const auto& [where, expr] : DashboardQueries()) ExpectExported(where, expr, &seen);
  EXPECT_GE(seen.size(), 30u);  // the tokenizer found the dashboards' metrics
}

// ---------------------------------------------------------------------------------------------
// The Prometheus rules.

TEST(PrometheusRulesTest, PassPromtoolCheckRules) {
  const CommandResult r =
      RunCommand(kPromtool + " check rules '" + kDashboards + "/prometheus-rules.yml'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("SUCCESS"));
}

TEST(PrometheusRulesTest, PassTheirPromtoolTestCases) {
  const CommandResult r =
      RunCommand(kPromtool + " test rules '" + kDashboards + "/prometheus-rules.test.yml'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// The alerting rules of prometheus-rules.yml by name.
std::map<std::string, YAML::Node> LoadAlertRules() {
  std::map<std::string, YAML::Node> out;
  const YAML::Node file = YAML::LoadFile(kDashboards + "/prometheus-rules.yml");
  for (const YAML::Node& group : file["groups"]) {
    for (const YAML::Node& rule : group["rules"]) {
      if (rule["alert"]) out[rule["alert"].as<std::string>()] = rule;
    }
  }
  return out;
}

// The same alerts as statewatchd's built-in rules, with their severities, each with a summary,
// a description and a runbook.
TEST(PrometheusRulesTest, MirrorTheBuiltInRules) {
  const std::map<std::string, YAML::Node> alerts = LoadAlertRules();
  for (const rules::RuleSpec& builtin : rules::DefaultRules()) {
    SCOPED_TRACE(builtin.alert);
    auto it = alerts.find(builtin.alert);
    ASSERT_NE(it, alerts.end()) << "no Prometheus rule for the built-in " << builtin.alert;
    std::string severity;
    for (const auto& [k, v] : builtin.labels) {
      if (k == "severity") severity = v;
    }
    EXPECT_EQ(it->second["labels"]["severity"].as<std::string>(""), severity);
  }
  for (const auto& [name, rule] : alerts) {
    SCOPED_TRACE(name);
    for (const char* a : {"summary", "description", "runbook"}) {
      EXPECT_FALSE(rule["annotations"][a].as<std::string>("").empty()) << a;
    }
    EXPECT_TRUE(rule["for"]) << "every alert waits before it fires";
  }
}

TEST_F(AgentMetricsTest, EveryRuleReadsAnExportedMetric) {
  std::set<std::string> seen;
  for (const auto& [name, rule] : LoadAlertRules()) {
    ExpectExported("alert " + name, rule["expr"].as<std::string>(), &seen);
  }
  EXPECT_GE(seen.size(), 15u);
}

}  // namespace
}  // namespace statewatch
