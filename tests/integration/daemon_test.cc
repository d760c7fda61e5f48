// statewatchd as a process: the real binary, its flags, signals and exit codes, a real RocksDB
// directory as its source and a real webhook receiver. What the unit tests cannot show: that
// the binary wires everything, that SIGKILL loses no queued alert, that SIGTERM exits 0 and a
// bad config file exits 1 naming FILE:LINE:COLUMN.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "agent/webhook_receiver.h"
#include "embedded-state/test_util.h"
#include "integration/daemon_process.h"
#include "integration/test_database.h"
#include "statewatch/agent/hmac.h"

namespace statewatch {
namespace {

using statewatch::testing::ChildProcess;
using statewatch::testing::MakeDatabase;
using statewatch::testing::TempDir;
using statewatch::testing::WebhookReceiver;
using ::testing::HasSubstr;

class DaemonTest : public ::testing::Test {
 protected:
  std::string config() const { return dir_.Sub("statewatch.yaml"); }

  // A config watching the test database and one missing directory, with a rule that fires at
  // once (keys > 0, for: 0s) and the receiver at `url`.
  void WriteConfig(const std::string& url) {
    std::ofstream(config()) << "global:\n"
                               "  scrape_interval: 200ms\n"
                               "  evaluation_interval: 200ms\n"
                               "sources:\n"
                               "  - name: orders-db\n"
                               "    type: rocksdb_dir\n"
                               "    job: cdc\n"
                               "    options:\n"
                               "      path: "
                            << dir_.Sub("db")
                            << "\n"
                               "  - name: gone\n"
                               "    type: rocksdb_dir\n"
                               "    options:\n"
                               "      path: "
                            << dir_.Sub("no-such-db")
                            << "\n"
                               "rules:\n"
                               "  - alert: OrdersPresent\n"
                               "    type: threshold\n"
                               "    series: statewatch_rocksdb_estimate_num_keys\n"
                               "    matchers: {cf: orders}\n"
                               "    op: '>'\n"
                               "    threshold: 0\n"
                               "    annotations:\n"
                               "      summary: 'column family {{ $labels.cf }} holds keys'\n"
                               "receivers:\n"
                               "  - name: ops\n"
                               "    url: "
                            << url << "\n    timeout: 2s\n";
  }

  // Each start logs to its own file (`log`), so a restart's lines are its own.
  std::unique_ptr<ChildProcess> StartDaemon(const std::string& log = "statewatchd.log") {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{STATEWATCHD_PATH, "--allow-root", "--config.file=" + config(),
                                 "--storage.path=" + dir_.Sub("data"),
                                 "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
        dir_.Sub(log));
  }

  // The port the daemon logged ("listening on 127.0.0.1:PORT"), or -1.
  static int PortOf(ChildProcess& d) {
    std::optional<std::string> port = d.WaitForLog("listening on 127\\.0\\.0\\.1:(\\d+)");
    return port ? std::stoi(*port) : -1;
  }

  TempDir dir_;
};

TEST_F(DaemonTest, ServesReloadsOnSighupAndStopsOnSigterm) {
  MakeDatabase(dir_.Sub("db"), 500);
  WebhookReceiver receiver;
  WriteConfig(receiver.url());
  auto daemon = StartDaemon();
  const int port = PortOf(*daemon);
  ASSERT_GT(port, 0) << daemon->Log();
  httplib::Client client("127.0.0.1", port);
  ASSERT_TRUE(daemon->WaitForLog("source 'gone' \\(rocksdb_dir\\) failed")) << daemon->Log();
  EXPECT_EQ(client.Get("/-/healthy")->status, 200);
  // Ready once every source was collected once (whatever the outcome).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (client.Get("/-/ready")->status != 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling /-/ready
  }
  ASSERT_EQ(client.Get("/-/ready")->status, 200);

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  // The live source is up and its signals are exported; the missing one is down, named, and
  // did not stop the other.
  EXPECT_THAT(
      metrics->body,
      HasSubstr("statewatch_collector_up{collector=\"rocksdb_dir\",source=\"orders-db\"} 1"));
  EXPECT_THAT(metrics->body,
              HasSubstr("statewatch_collector_up{collector=\"rocksdb_dir\",source=\"gone\"} 0"));
  EXPECT_THAT(metrics->body, HasSubstr("statewatch_rocksdb_estimate_num_keys{cf=\"orders\""));
  auto sources = nlohmann::json::parse(client.Get("/api/v1/sources")->body);
  EXPECT_THAT(sources.dump(), HasSubstr("no-such-db"));

  // SIGHUP with a broken file: logged, exported, the old config keeps running.
  std::ofstream(config()) << "global:\n  scrape_interval: soon\n";
  daemon->Signal(SIGHUP);
  ASSERT_TRUE(
      daemon->WaitForLog("reloading .* failed; keeping the running config: .*"
                         "statewatch\\.yaml:2:20"))
      << daemon->Log();
  EXPECT_THAT(client.Get("/metrics")->body,
              HasSubstr("statewatch_config_last_reload_successful 0"));
  EXPECT_EQ(client.Get("/-/healthy")->status, 200);

  // SIGTERM: finishes the cycle in progress and exits 0.
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(), 0) << daemon->Log();
  EXPECT_THAT(daemon->Log(), HasSubstr("statewatchd stopped"));
}

TEST_F(DaemonTest, QueuedAlertSurvivesSigkillAndIsDeliveredAfterRestart) {
  MakeDatabase(dir_.Sub("db"), 500);
  WebhookReceiver receiver;
  receiver.set_status(503);  // the receiver is down: the alert stays in the outbox
  WriteConfig(receiver.url());
  std::string first_body;
  {
    auto daemon = StartDaemon();
    ASSERT_GT(PortOf(*daemon), 0) << daemon->Log();
    ASSERT_TRUE(receiver.WaitForRequests(1)) << daemon->Log();
    first_body = receiver.requests()[0].body;
    daemon->Signal(SIGKILL);
    EXPECT_EQ(daemon->Wait(), 128 + SIGKILL);
  }
  const auto first = nlohmann::json::parse(first_body);
  ASSERT_EQ(first["alerts"][0]["labels"]["alertname"], "OrdersPresent");

  receiver.set_status(200);
  const size_t attempts = receiver.requests().size();
  auto daemon = StartDaemon("restarted.log");
  ASSERT_GT(PortOf(*daemon), 0) << daemon->Log();
  ASSERT_TRUE(receiver.WaitForRequests(attempts + 1)) << daemon->Log();
  const auto requests = receiver.requests();
  const auto delivered = nlohmann::json::parse(requests[attempts].body);
  EXPECT_EQ(requests[attempts].answered, 200);
  // The very notification queued before the kill (same alert, same start), not a new alert.
  EXPECT_EQ(delivered["alerts"][0]["fingerprint"], first["alerts"][0]["fingerprint"]);
  EXPECT_EQ(delivered["alerts"][0]["startsAt"], first["alerts"][0]["startsAt"]);
  EXPECT_EQ(delivered["status"], "firing");
  EXPECT_EQ(delivered["alerts"][0]["annotations"]["summary"], "column family orders holds keys");
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(), 0) << daemon->Log();
  // Delivered once: the restored alert was not queued a second time.
  size_t accepted = 0;
  for (const auto& r : receiver.requests()) accepted += r.answered == 200 ? 1 : 0;
  EXPECT_EQ(accepted, 1u);
}

TEST_F(DaemonTest, BadConfigExitsOneNamingFileLineAndColumn) {
  std::ofstream(config()) << "sources:\n"
                             "  - name: db\n"
                             "    type: rocksdb_dir\n"
                             "    intervall: 30s\n";
  ChildProcess daemon({STATEWATCHD_PATH, "--allow-root", "--config.file=" + config(),
                       "--storage.path=" + dir_.Sub("data"), "--web.listen-address=127.0.0.1:0"},
                      dir_.Sub("statewatchd.log"));
  EXPECT_EQ(daemon.Wait(), 1);
  EXPECT_THAT(daemon.Log(), HasSubstr("statewatch.yaml:4:5"));
  EXPECT_THAT(daemon.Log(), HasSubstr("unknown key 'intervall'"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data")));  // nothing created on a bad config

  ChildProcess check({STATEWATCH_PATH, "check-config", config()}, dir_.Sub("check.log"));
  EXPECT_EQ(check.Wait(), 1);
  EXPECT_THAT(check.Log(), HasSubstr("statewatch.yaml:4:5"));

  std::ofstream(config()) << "sources:\n  - name: db\n    type: rocksdb_dir\n"
                             "    options: {path: /var/lib/db}\n";
  ChildProcess good({STATEWATCH_PATH, "check-config", config()}, dir_.Sub("good.log"));
  EXPECT_EQ(good.Wait(), 0) << good.Log();
  EXPECT_THAT(good.Log(), HasSubstr("SUCCESS"));

  // A missing file is named too.
  ChildProcess missing({STATEWATCHD_PATH, "--allow-root", "--config.file=" + dir_.Sub("nope.yaml"),
                        "--storage.path=" + dir_.Sub("data")},
                       dir_.Sub("missing.log"));
  EXPECT_EQ(missing.Wait(), 1);
  EXPECT_THAT(missing.Log(), HasSubstr("nope.yaml"));
}

TEST_F(DaemonTest, RefusesRootUnlessToldAndRunsAsAnUnprivilegedUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to check what happens as root";
  MakeDatabase(dir_.Sub("db"), 10);
  WebhookReceiver receiver;
  WriteConfig(receiver.url());
  ChildProcess as_root({STATEWATCHD_PATH, "--config.file=" + config(),
                        "--storage.path=" + dir_.Sub("data"), "--web.listen-address=127.0.0.1:0"},
                       dir_.Sub("root.log"));
  EXPECT_EQ(as_root.Wait(), 1);
  EXPECT_THAT(as_root.Log(), HasSubstr("refusing to run as root"));
  EXPECT_THAT(as_root.Log(), HasSubstr("--allow-root"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data")));  // nothing created

  // As nobody (the unit's own user stands in), no flag is needed. The test's files must be
  // reachable by that user.
  std::filesystem::permissions(dir_.path(), std::filesystem::perms::all);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    std::filesystem::permissions(entry.path(), std::filesystem::perms::all);
  }
  // setpriv execs the daemon in its own place: no parent in between to take the signal.
  ChildProcess as_nobody({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          STATEWATCHD_PATH, "--config.file=" + config(),
                          "--storage.path=" + dir_.Sub("data"), "--web.listen-address=127.0.0.1:0"},
                         dir_.Sub("nobody.log"));
  ASSERT_GT(PortOf(as_nobody), 0) << as_nobody.Log();
  as_nobody.Signal(SIGTERM);
  EXPECT_EQ(as_nobody.Wait(), 0) << as_nobody.Log();
}

// The API token, a receiver's token and its HMAC secret come from files and are used (a
// reload needs the token; deliveries carry the receiver's token and a signature), but none of
// them appears in the daemon's log at debug level, in any answer of its API (a refused reload
// included) or in any file it stores.
TEST_F(DaemonTest, SecretsAreUsedButNeverLoggedServedOrStored) {
  MakeDatabase(dir_.Sub("db"), 50);
  WebhookReceiver receiver;
  WriteConfig(receiver.url());
  const std::vector<std::string> secrets = {"api-T0KEN-5e1f", "rcv-T0KEN-77aa", "hmac-S3CRET-90bc"};
  std::ofstream(dir_.Sub("api-token")) << secrets[0] << "\n";
  std::ofstream(dir_.Sub("receiver-token")) << secrets[1] << "\n";
  std::ofstream(dir_.Sub("hmac-secret")) << secrets[2] << "\n";
  // The receiver is the config's last entry; `web` may follow it at the top level.
  std::ofstream(config(), std::ios::app)
      << "    bearer_token_file: " << dir_.Sub("receiver-token")
      << "\n    hmac_secret_file: " << dir_.Sub("hmac-secret")
      << "\nweb:\n  bearer_token_file: " << dir_.Sub("api-token") << "\n";
  auto daemon = StartDaemon();
  const int port = PortOf(*daemon);
  ASSERT_GT(port, 0) << daemon->Log();
  ASSERT_TRUE(receiver.WaitForRequests(1)) << daemon->Log();
  const WebhookReceiver::Request delivery = receiver.requests()[0];
  EXPECT_EQ(delivery.headers.find("Authorization")->second, "Bearer " + secrets[1]);
  EXPECT_THAT(delivery.headers.find("X-Statewatch-Signature")->second, HasSubstr("sha256="));

  httplib::Client client("127.0.0.1", port);
  std::string served;
  const auto refused =
      client.Post("/-/reload", {{"Authorization", "Bearer api-T0KEN-5e1X"}}, "", "text/plain");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  served += refused->body;
  const auto reloaded =
      client.Post("/-/reload", {{"Authorization", "Bearer " + secrets[0]}}, "", "text/plain");
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->status, 200) << reloaded->body;
  served += reloaded->body;
  daemon->Signal(SIGHUP);
  // Both reloads done (the second one logged last): every secret was read three times.
  ASSERT_TRUE(daemon->WaitForLog("reloaded [\\s\\S]*reloaded ")) << daemon->Log();
  for (const char* path :
       {"/", "/metrics", "/api/v1/series", "/api/v1/alerts", "/api/v1/states", "/api/v1/sources"}) {
    const auto r = client.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    served += r->body;
  }
  daemon->Signal(SIGTERM);
  ASSERT_EQ(daemon->Wait(), 0) << daemon->Log();

  const std::string log = daemon->Log();
  EXPECT_THAT(log, HasSubstr("POST /-/reload from 127.0.0.1: wrong bearer token"));
  EXPECT_EQ(log.find("api-T0KEN-5e1X"), std::string::npos) << "the presented token was logged";
  size_t stored_files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.Sub("data"))) {
    if (!entry.is_regular_file()) continue;
    ++stored_files;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << secret << " stored in " << entry.path();
    }
  }
  EXPECT_GE(stored_files, 2u);  // the samples and the alerts
  for (const std::string& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " logged:\n" << log;
    EXPECT_EQ(served.find(secret), std::string::npos) << secret << " served";
  }
}

// The receiver's side of signed webhooks, with the example receiver (webhook_echo
// --hmac.secret-file) as the peer: statewatchd's signed delivery is accepted and printed; the
// same kind of request dated ten minutes ago (a replay), or signed with another secret, is
// refused with 401 and not printed.
TEST_F(DaemonTest, WebhookEchoAcceptsSignedDeliveriesAndRefusesReplays) {
#ifndef WEBHOOK_ECHO_PATH
  GTEST_SKIP() << "examples not built";
#else
  MakeDatabase(dir_.Sub("db"), 50);
  std::ofstream(dir_.Sub("hmac-secret")) << "hmac-S3CRET\n";
  ChildProcess echo({WEBHOOK_ECHO_PATH, "--web.listen-address=127.0.0.1:0",
                     "--hmac.secret-file=" + dir_.Sub("hmac-secret")},
                    dir_.Sub("echo.log"));
  const std::optional<std::string> echo_port =
      echo.WaitForLog("listening on http://127\\.0\\.0\\.1:(\\d+)/");
  ASSERT_TRUE(echo_port) << echo.Log();
  WriteConfig("http://127.0.0.1:" + *echo_port + "/alerts");
  std::ofstream(config(), std::ios::app)
      << "    hmac_secret_file: " << dir_.Sub("hmac-secret") << "\n";
  auto daemon = StartDaemon();
  ASSERT_GT(PortOf(*daemon), 0) << daemon->Log();
  ASSERT_TRUE(echo.WaitForLog("=== ALERT FIRING: OrdersPresent")) << echo.Log() << daemon->Log();
  EXPECT_THAT(echo.Log(), ::testing::Not(HasSubstr("refused")));
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(), 0) << daemon->Log();

  const std::string body =
      R"({"version":"4","status":"firing","alerts":[{"status":"firing","labels":)"
      R"({"alertname":"Replayed"},"annotations":{},"startsAt":"2026-01-01T00:00:00Z"}]})";
  auto post = [&](int64_t sent, const std::string& secret) {
    httplib::Client client("127.0.0.1", std::stoi(*echo_port));
    const auto r =
        client.Post("/alerts",
                    {{"X-Statewatch-Timestamp", std::to_string(sent)},
                     {"X-Statewatch-Signature", agent::WebhookSignature(secret, sent, body)}},
                    body, "application/json");
    return r ? r->status : -1;
  };
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_EQ(post(now - 600, "hmac-S3CRET"), 401);
  EXPECT_EQ(post(now, "another-secret"), 401);
  EXPECT_EQ(post(now, "hmac-S3CRET"), 200);  // the test signs as statewatchd does
  ASSERT_TRUE(echo.WaitForLog("=== ALERT FIRING: Replayed")) << echo.Log();
  const std::string log = echo.Log();
  EXPECT_THAT(log, HasSubstr("refused: X-Statewatch-Timestamp"));
  EXPECT_THAT(log, HasSubstr("s old (at most 300 s): a replayed or forged request"));
  EXPECT_THAT(log, HasSubstr("refused: X-Statewatch-Signature does not match"));
  // Printed once: the accepted request only, not the two refused ones.
  size_t printed = 0;
  for (size_t pos = 0; (pos = log.find("ALERT FIRING: Replayed", pos)) != std::string::npos;
       ++pos) {
    ++printed;
  }
  EXPECT_EQ(printed, 1u);
  echo.Signal(SIGTERM);
#endif
}

// The demo's job (scripts/demo) as fast as it runs: the leaky join state is named in an alert
// within two simulated days; with its TTL in place nothing fires.
TEST_F(DaemonTest, ExampleJobWithAgentAlertsOnTheLeakyJoinStateOnly) {
#ifndef CDC_WATCHED_PATH
  GTEST_SKIP() << "examples not built";
#else
  WebhookReceiver receiver;
  std::ifstream in(CDC_WATCHED_CONFIG);
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  for (size_t at; (at = yaml.find("WEBHOOK_URL")) != std::string::npos;) {
    yaml.replace(at, 11, receiver.url());
  }
  std::ofstream(config()) << yaml;
  for (const bool leaky : {true, false}) {
    const size_t before = receiver.requests().size();
    std::vector<std::string> argv = {CDC_WATCHED_PATH,
                                     "--config.file=" + config(),
                                     "--storage.path=" + dir_.Sub(leaky ? "leaky" : "ttl"),
                                     "--web.listen-address=127.0.0.1:0",
                                     "--speed=0",
                                     leaky ? "--days=2" : "--days=4"};
    if (leaky) argv.push_back("--leaky");
    ChildProcess job(argv, dir_.Sub(leaky ? "leaky.log" : "ttl.log"));
    ASSERT_EQ(job.Wait(std::chrono::seconds(120)), 0) << job.Log();
    std::set<std::string> named;
    const auto requests = receiver.requests();
    for (size_t i = before; i < requests.size(); ++i) {
      const auto body = nlohmann::json::parse(requests[i].body);
      if (body["alerts"][0]["labels"]["alertname"] == "StateWithoutTtlGrowing") {
        named.insert(body["alerts"][0]["labels"]["state"].get<std::string>());
      }
    }
    if (leaky) {
      EXPECT_TRUE(named.count("customer_segment")) << job.Log();
      EXPECT_FALSE(named.count("revenue"));  // the aggregate operator keeps its TTL
    } else {
      EXPECT_EQ(requests.size(), before) << job.Log();
    }
  }
#endif
}

}  // namespace
}  // namespace statewatch
