// statewatchd with the alerting stack users already run: a real prometheus-alertmanager
// receiving its alerts on /api/v2/alerts (and passing them on to a webhook), and a real
// Prometheus scraping its /metrics while statewatchd scrapes Prometheus' own. Each peer is
// started here on a loopback port chosen free at run time and killed with the test.
#include "integration/peers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/webhook_receiver.h"
#include "embedded-state/test_util.h"
#include "integration/daemon_process.h"
#include "integration/test_database.h"

namespace statewatch {
namespace {

using statewatch::testing::ChildProcess;
using statewatch::testing::Eventually;
using statewatch::testing::FreeLoopbackPort;
using statewatch::testing::GetJson;
using statewatch::testing::MakeDatabase;
using statewatch::testing::TempDir;
using statewatch::testing::WebhookReceiver;
using ::testing::HasSubstr;

class PeersTest : public ::testing::Test {
 protected:
  std::unique_ptr<ChildProcess> StartDaemon(const std::string& yaml, int port) {
    std::ofstream(dir_.Sub("statewatch.yaml")) << yaml;
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{
            STATEWATCHD_PATH, "--allow-root", "--config.file=" + dir_.Sub("statewatch.yaml"),
            "--storage.path=" + dir_.Sub("data"),
            "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=debug"},
        dir_.Sub("statewatchd.log"));
  }

  // The start of a config: `interval` for collection and evaluation, and source orders-db
  // (job cdc) on the test database; more sources may follow.
  std::string WatchingTheDatabase(const std::string& interval) const {
    return "global:\n  scrape_interval: " + interval + "\n  evaluation_interval: " + interval +
           "\nsources:\n  - name: orders-db\n    type: rocksdb_dir\n    job: cdc\n"
           "    options:\n      path: " +
           dir_.Sub("db") + "\n";
  }

  TempDir dir_;
};

// The alerts Alertmanager holds whose alertname is `name`.
std::vector<nlohmann::json> AlertsNamed(int port, const std::string& name) {
  std::vector<nlohmann::json> out;
  const std::optional<nlohmann::json> alerts = GetJson(port, "/api/v2/alerts");
  if (!alerts || !alerts->is_array()) return out;
  for (const nlohmann::json& a : *alerts) {
    if (a["labels"].value("alertname", "") == name) out.push_back(a);
  }
  return out;
}

TEST_F(PeersTest, AlertReachesAlertmanagerAndResolvesThere) {
  MakeDatabase(dir_.Sub("db"), 300);
  // Alertmanager passes what it receives to this webhook, as it would to a pager.
  WebhookReceiver pager;
  auto am = statewatch::testing::StartAlertmanager(dir_.path(),
                                                   "route:\n"
                                                   "  receiver: pager\n"
                                                   "  group_by: ['...']\n"
                                                   "  group_wait: 0s\n"
                                                   "  group_interval: 1s\n"
                                                   "  repeat_interval: 1h\n"
                                                   "receivers:\n"
                                                   "  - name: pager\n"
                                                   "    webhook_configs:\n"
                                                   "      - url: " +
                                                       pager.url("/pager") +
                                                       "\n"
                                                       "        send_resolved: true\n");
  ASSERT_TRUE(am->WaitReady()) << am->process().Log();

  auto daemon = StartDaemon(WatchingTheDatabase("200ms") +
                                "rules:\n"
                                "  - alert: OrdersPresent\n"
                                "    type: threshold\n"
                                "    series: statewatch_rocksdb_estimate_num_keys\n"
                                "    matchers: {cf: orders}\n"
                                "    op: '>'\n"
                                "    threshold: 0\n"
                                "    labels: {severity: warning}\n"
                                "    annotations:\n"
                                "      summary: 'column family {{ $labels.cf }} holds keys'\n"
                                "receivers:\n"
                                "  - name: am\n"
                                "    type: alertmanager\n"
                                "    url: " +
                                am->url() +
                                "\n"
                                "    repeat_interval: 2s\n",
                            FreeLoopbackPort());

  // Firing: Alertmanager holds the alert with our labels and annotations, active, with an
  // endsAt in the future (4 × the repeat interval), and has paged.
  std::vector<nlohmann::json> held;
  ASSERT_TRUE(Eventually([&] {
    return !(held = AlertsNamed(am->port(), "OrdersPresent")).empty();
  })) << daemon->Log()
      << am->process().Log();
  ASSERT_EQ(held.size(), 1u);
  const nlohmann::json& alert = held[0];
  EXPECT_EQ(alert["labels"]["cf"], "orders");
  EXPECT_EQ(alert["labels"]["job"], "cdc");
  EXPECT_EQ(alert["labels"]["severity"], "warning");
  EXPECT_EQ(alert["annotations"]["summary"], "column family orders holds keys");
  EXPECT_EQ(alert["status"]["state"], "active");
  EXPECT_THAT(alert["generatorURL"].get<std::string>(), HasSubstr("/api/v1/alerts?fingerprint="));
  ASSERT_TRUE(pager.WaitForRequests(1)) << am->process().Log();
  const auto paged = nlohmann::json::parse(pager.requests()[0].body);
  EXPECT_EQ(paged["status"], "firing");
  EXPECT_EQ(paged["alerts"][0]["labels"]["alertname"], "OrdersPresent");

  // Re-sent while firing (repeat 2s): Alertmanager's endsAt for the alert moves on.
  const std::string first_ends = alert["endsAt"];
  ASSERT_TRUE(Eventually([&] {
    const auto now_held = AlertsNamed(am->port(), "OrdersPresent");
    return !now_held.empty() && now_held[0]["endsAt"] != first_ends;
  })) << daemon->Log();

  // Alertmanager never saw the alert lapse in between: every page so far says firing.
  for (const auto& r : pager.requests()) {
    EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "firing") << r.body;
  }

  // The keys go away: statewatchd resolves the alert and sends endsAt = the resolve time;
  // Alertmanager stops listing it and sends the pager its resolved notification.
  const size_t pages_before = pager.requests().size();
  MakeDatabase(dir_.Sub("db"), 300, /*erase=*/true);
  ASSERT_TRUE(daemon->WaitForLog("OrdersPresent\\{[^}]*\\} firing -> resolved")) << daemon->Log();
  ASSERT_TRUE(Eventually([&] {
    const auto requests = pager.requests();
    for (size_t i = pages_before; i < requests.size(); ++i) {
      if (nlohmann::json::parse(requests[i].body)["status"] == "resolved") return true;
    }
    return false;
  })) << daemon->Log()
      << am->process().Log();
  const std::vector<nlohmann::json> left = AlertsNamed(am->port(), "OrdersPresent");
  EXPECT_TRUE(left.empty()) << left[0].dump();
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(), 0) << daemon->Log();
}

TEST_F(PeersTest, PrometheusScrapesTheDaemonAndTheDaemonScrapesPrometheus) {
  MakeDatabase(dir_.Sub("db"), 300);
  const int daemon_port = FreeLoopbackPort();
  auto prom = statewatch::testing::StartPrometheus(dir_.path(),
                                                   "global:\n"
                                                   "  scrape_interval: 1s\n"
                                                   "scrape_configs:\n"
                                                   "  - job_name: statewatchd\n"
                                                   "    static_configs:\n"
                                                   "      - targets: ['127.0.0.1:" +
                                                       std::to_string(daemon_port) + "']\n");
  ASSERT_TRUE(prom->WaitReady()) << prom->process().Log();

  auto daemon = StartDaemon(WatchingTheDatabase("500ms") +
                                "  - name: prom\n"
                                "    type: prometheus\n"
                                "    job: monitoring\n"
                                "    options:\n"
                                "      url: " +
                                prom->url() + "/metrics\n",
                            daemon_port);

  // Prometheus parses our exposition: the key estimate arrives with its labels, and the
  // scrape is healthy.
  auto query = [&](const std::string& expr) -> nlohmann::json {
    const auto r =
        GetJson(prom->port(), "/api/v1/query?query=" + httplib::detail::encode_query_param(expr));
    return r ? (*r)["data"]["result"] : nlohmann::json::array();
  };
  nlohmann::json keys;
  ASSERT_TRUE(Eventually([&] {
    keys = query("statewatch_rocksdb_estimate_num_keys{cf=\"orders\"}");
    return keys.size() == 1;
  })) << daemon->Log()
      << prom->process().Log();
  EXPECT_EQ(keys[0]["value"][1], "300");
  // Without honor_labels our job label is kept as exported_job, as for any exporter.
  EXPECT_EQ(keys[0]["metric"]["exported_job"], "cdc");
  EXPECT_EQ(keys[0]["metric"]["job"], "statewatchd");
  const nlohmann::json up = query("up{job=\"statewatchd\"}");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0]["value"][1], "1");

  // And our prometheus collector parses real Prometheus output (Go's client library): its
  // collector is up and what it scraped passes through.
  nlohmann::json collector_up;
  ASSERT_TRUE(Eventually([&] {
    collector_up = query("statewatch_collector_up{source=\"prom\"}");
    return collector_up.size() == 1 && collector_up[0]["value"][1] == "1";
  })) << daemon->Log();
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(), 0) << daemon->Log();
}

}  // namespace
}  // namespace statewatch
