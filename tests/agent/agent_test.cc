// The agent end to end, in process: an engine backend on a manual clock, the real SQLite
// stores, the built-in rules, the HTTP API and a real webhook receiver. Simulated days pass in
// milliseconds; every step is the daemon's own cycle (collect → evaluate → deliver).
#include "statewatch/agent/agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/webhook_receiver.h"
#include "embedded-state/small_filesystem.h"
#include "embedded-state/test_util.h"
#include "statewatch/agent/http_api.h"
#include "statewatch/agent/secret_file.h"

namespace statewatch::agent {
namespace {

using statewatch::testing::SmallFilesystem;
using statewatch::testing::TempDir;
using statewatch::testing::WebhookReceiver;
using std::chrono::hours;
using std::chrono::minutes;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr auto kStep = minutes(5);

// A job with one state that leaks (no TTL) and one that is bounded by its TTL.
class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = statewatch::testing::MakeBackend(
        statewatch::testing::TestOptions("hashmap", &clock_, dir_));
    auto leak = backend_->GetValueState(ValueStateDescriptor<std::string>("orders_join"));
    ASSERT_TRUE(leak.ok()) << leak.status().ToString();
    leak_ = *leak;
    auto bounded = backend_->GetValueState(
        ValueStateDescriptor<std::string>("sessions").EnableTimeToLive(TtlConfig::Of(hours(2))));
    ASSERT_TRUE(bounded.ok()) << bounded.status().ToString();
    bounded_ = *bounded;
  }

  void WriteConfig(const std::string& receiver_url) {
    std::ofstream(dir_.Sub("statewatch.yaml")) << "sources:\n"
                                                  "  - name: app\n"
                                                  "    type: engine\n"
                                                  "    job: cdc\n"
                                                  "receivers:\n"
                                                  "  - name: ops\n"
                                                  "    url: "
                                               << receiver_url << "\n";
  }

  std::unique_ptr<Agent> MakeAgent() {
    AgentOptions o;
    o.config_file = dir_.Sub("statewatch.yaml");
    o.storage_path = dir_.Sub("data");
    o.clock = &clock_;
    o.engines = {{"app", backend_.get()}};
    auto a = Agent::Create(o);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }

  // One simulated step of the job and of the daemon: `new_keys` new orders_join keys, the
  // sessions state rewritten over a fixed set of 200 keys, then collect, evaluate, deliver.
  void Step(Agent& agent, int new_keys) {
    for (int i = 0; i < new_keys; ++i) {
      ASSERT_SW_OK(backend_->SetCurrentKey("customer-" + std::to_string(next_key_++)));
      ASSERT_SW_OK(leak_->Update("segment"));
    }
    for (int i = 0; i < 20; ++i) {
      ASSERT_SW_OK(backend_->SetCurrentKey("session-" + std::to_string(session_++ % 200)));
      ASSERT_SW_OK(bounded_->Update("open"));
    }
    clock_.Advance(kStep);
    ASSERT_SW_OK(agent.CollectAll());
    ASSERT_TRUE(agent.Evaluate().ok());
    ASSERT_TRUE(agent.Deliver().ok());
  }

  // The receiver's accepted (2xx) bodies, parsed.
  static std::vector<nlohmann::json> Delivered(const WebhookReceiver& r) {
    std::vector<nlohmann::json> out;
    for (const auto& req : r.requests()) {
      if (req.answered / 100 == 2) out.push_back(nlohmann::json::parse(req.body));
    }
    return out;
  }

  // The first delivered body of `alertname` with `status`, or null.
  static nlohmann::json Find(const WebhookReceiver& r, const std::string& alertname,
                             const std::string& status) {
    for (const nlohmann::json& body : Delivered(r)) {
      const auto& a = body["alerts"][0];
      if (a["labels"]["alertname"] == alertname && a["status"] == status) return body;
    }
    return nullptr;
  }

  TempDir dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<KeyedStateBackend> backend_;
  ValueState<std::string>* leak_ = nullptr;
  ValueState<std::string>* bounded_ = nullptr;
  int64_t next_key_ = 0;
  int64_t session_ = 0;
};

TEST_F(AgentTest, LeakFiresNamingTheStateAndResolvesWhenGrowthStops) {
  WebhookReceiver receiver;
  WriteConfig(receiver.url());
  std::unique_ptr<Agent> agent = MakeAgent();
  ASSERT_NE(agent, nullptr);

  // Growth: 50 keys per 5 minutes until the missing-TTL alert has been delivered. The rule
  // needs a full 24 h window, then `for: 1h`; give it two days at most.
  int64_t fired_after = -1;
  for (int step = 0; step < 2 * 24 * 12 && fired_after < 0; ++step) {
    Step(*agent, 50);
    if (!Find(receiver, "StateWithoutTtlGrowing", "firing").is_null()) {
      fired_after = clock_.NowMillis() - kStart;
    }
  }
  ASSERT_GE(fired_after, 0) << "no StateWithoutTtlGrowing alert within two simulated days";
  EXPECT_GE(fired_after,
            std::chrono::milliseconds(hours(25)).count());  // a full window plus `for:`
  EXPECT_LE(fired_after, std::chrono::milliseconds(hours(26)).count());
  const nlohmann::json firing = Find(receiver, "StateWithoutTtlGrowing", "firing");
  const auto& alert = firing["alerts"][0];
  EXPECT_EQ(alert["labels"]["state"], "orders_join");
  EXPECT_EQ(alert["labels"]["job"], "cdc");
  EXPECT_THAT(alert["annotations"]["summary"].get<std::string>(), HasSubstr("orders_join"));
  EXPECT_THAT(alert["annotations"]["runbook"].get<std::string>(), HasSubstr("TTL"));
  // The state with a TTL plateaus at its 200 keys: never an alert about it.
  for (const nlohmann::json& body : Delivered(receiver)) {
    EXPECT_NE(body["alerts"][0]["labels"]["state"], "sessions") << body.dump();
  }
  const auto active = agent->Alerts();
  ASSERT_FALSE(active.empty());

  // Growth stops: the alert resolves, and the resolution is delivered once.
  for (int step = 0; step < 2 * 24 * 12; ++step) {
    Step(*agent, 0);
    if (!Find(receiver, "StateWithoutTtlGrowing", "resolved").is_null()) break;
  }
  const nlohmann::json resolved = Find(receiver, "StateWithoutTtlGrowing", "resolved");
  ASSERT_FALSE(resolved.is_null()) << "not resolved within two days of flat key counts";
  EXPECT_EQ(resolved["alerts"][0]["fingerprint"], alert["fingerprint"]);
  EXPECT_NE(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
  for (int step = 0; step < 12; ++step) Step(*agent, 0);
  size_t resolutions = 0;
  for (const nlohmann::json& body : Delivered(receiver)) {
    if (body["alerts"][0]["labels"]["alertname"] == "StateWithoutTtlGrowing" &&
        body["status"] == "resolved") {
      ++resolutions;
    }
  }
  EXPECT_EQ(resolutions, 1u);
}

TEST_F(AgentTest, ReceiverOutageDelaysButDoesNotLoseTheAlert) {
  WebhookReceiver receiver;
  receiver.set_status(500);
  WriteConfig(receiver.url());
  std::unique_ptr<Agent> agent = MakeAgent();
  ASSERT_NE(agent, nullptr);

  // Grow until the alert is firing; every delivery attempt meets a 500.
  for (int step = 0; step < 2 * 24 * 12; ++step) {
    Step(*agent, 50);
    if (!receiver.requests().empty()) break;
  }
  ASSERT_FALSE(receiver.requests().empty()) << "no delivery attempt within two days";
  // Two more hours of outage: retried with backoff, nothing accepted, still queued.
  for (int step = 0; step < 24; ++step) Step(*agent, 50);
  EXPECT_GE(receiver.requests().size(), 3u);
  EXPECT_TRUE(Delivered(receiver).empty());
  EXPECT_GE(agent->alert_store()->QueuedCount().value(), 1u);

  // The receiver recovers: the queued notification is delivered by a later cycle.
  receiver.set_status(200);
  for (int step = 0; step < 12 && Delivered(receiver).empty(); ++step) Step(*agent, 50);
  const nlohmann::json firing = Find(receiver, "StateWithoutTtlGrowing", "firing");
  ASSERT_FALSE(firing.is_null());
  EXPECT_EQ(firing["alerts"][0]["labels"]["state"], "orders_join");
  const std::string metrics = agent->MetricsText();
  EXPECT_THAT(metrics,
              HasSubstr("statewatch_notifications_total{receiver=\"ops\",result=\"retried\"}"));
}

// The storage directory on a small tmpfs that fills up. While it is full: every cycle still
// runs, the failing store is named and reported (statewatch_storage_last_write_successful 0,
// the error counter), the rules keep working on what is collected. Once space returns: writes
// resume, the alert that fired meanwhile is delivered, and nothing stored before is lost.
TEST_F(AgentTest, AFullDiskIsReportedLosesNothingStoredAndRecovers) {
  SmallFilesystem disk(dir_.Sub("data"), "4m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  WebhookReceiver receiver;
  WriteConfig(receiver.url());
  std::unique_ptr<Agent> agent = MakeAgent();
  ASSERT_NE(agent, nullptr);
  for (int step = 0; step < 12; ++step) Step(*agent, 50);
  auto count_samples = [&] {
    size_t n = 0;
    EXPECT_SW_OK(agent->samples()->ForEachSample(0, clock_.NowMillis(), [&](auto&) { ++n; }));
    return n;
  };
  const size_t stored_before = count_samples();
  ASSERT_GT(stored_before, 0u);

  // Fill what is left of the filesystem.
  {
    std::ofstream filler(dir_.Sub("data/filler"), std::ios::binary);
    const std::string block(64 * 1024, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) &&
           filler.flush()) {
    }
  }
  // Grow the leak until the alert fires. The stores fail as soon as SQLite needs a new page
  // (its WAL may still reuse space for a while); every cycle runs regardless.
  Status first_error;
  bool firing = false;
  for (int step = 0; step < 2 * 24 * 12 && !firing; ++step) {
    for (int i = 0; i < 50; ++i) {
      ASSERT_SW_OK(backend_->SetCurrentKey("customer-" + std::to_string(next_key_++)));
      ASSERT_SW_OK(leak_->Update("segment"));
    }
    clock_.Advance(kStep);
    ASSERT_SW_OK(agent->CollectAll());  // the source is fine; storing its samples is not
    Result<std::vector<rules::AlertTransition>> evaluated = agent->Evaluate();
    if (!evaluated.ok() && first_error.ok()) first_error = evaluated.status();
    ASSERT_TRUE(agent->Deliver().ok());
    for (const rules::Alert& a : agent->Alerts()) {
      firing |= a.rule == "StateWithoutTtlGrowing" && a.state == rules::AlertState::kFiring;
    }
  }
  ASSERT_TRUE(firing) << "the rules stopped working while the disk was full";
  ASSERT_FALSE(first_error.ok()) << "nothing failed: the disk never filled";
  EXPECT_THAT(first_error.ToString(), HasSubstr("full"));
  std::string metrics = agent->MetricsText();
  EXPECT_THAT(metrics, HasSubstr("statewatch_storage_last_write_successful{db=\"samples\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("statewatch_storage_last_write_successful{db=\"alerts\"} 0"));
  EXPECT_THAT(metrics, Not(HasSubstr("statewatch_storage_errors_total 0\n")));
  EXPECT_TRUE(Find(receiver, "StateWithoutTtlGrowing", "firing").is_null())
      << "delivered although it could not be queued";

  // Space returns: the next cycles store again, queue what fired meanwhile and deliver it.
  std::filesystem::remove(dir_.Sub("data/filler"));
  for (int step = 0; step < 3; ++step) Step(*agent, 50);
  metrics = agent->MetricsText();
  EXPECT_THAT(metrics, HasSubstr("statewatch_storage_last_write_successful{db=\"samples\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("statewatch_storage_last_write_successful{db=\"alerts\"} 1"));
  const nlohmann::json delivered = Find(receiver, "StateWithoutTtlGrowing", "firing");
  ASSERT_FALSE(delivered.is_null()) << "the alert that fired on a full disk was lost";
  EXPECT_EQ(delivered["alerts"][0]["labels"]["state"], "orders_join");
  EXPECT_GT(count_samples(), stored_before);  // what was stored before is all still there
  size_t log_entries = 0;
  const std::vector<storage::AlertLogEntry> transitions =
      agent->alert_store()->Transitions(0, 1000).value();
  for (const auto& e : transitions) {
    log_entries += e.alertname == "StateWithoutTtlGrowing" && e.to_state == "firing" ? 1 : 0;
  }
  EXPECT_EQ(log_entries, 1u) << "the firing transition was not logged once space returned";
}

TEST_F(AgentTest, RestartKeepsForProgressAndDoesNotResend) {
  WebhookReceiver receiver;
  WriteConfig(receiver.url());
  {
    std::unique_ptr<Agent> agent = MakeAgent();
    ASSERT_NE(agent, nullptr);
    for (int step = 0; step < 2 * 24 * 12; ++step) {
      Step(*agent, 50);
      if (!Find(receiver, "StateWithoutTtlGrowing", "firing").is_null()) break;
    }
  }
  const size_t before = Delivered(receiver).size();
  ASSERT_GE(before, 1u);
  // A new agent over the same storage: the windows come back from SQLite, the firing alert is
  // restored, and the next cycles neither re-send it nor start `for:` again.
  std::unique_ptr<Agent> agent = MakeAgent();
  ASSERT_NE(agent, nullptr);
  for (int step = 0; step < 6; ++step) Step(*agent, 50);
  EXPECT_EQ(Delivered(receiver).size(), before);
  bool firing = false;
  for (const rules::Alert& a : agent->Alerts()) {
    if (a.rule == "StateWithoutTtlGrowing") firing = a.state == rules::AlertState::kFiring;
  }
  EXPECT_TRUE(firing);
}

TEST_F(AgentTest, HttpApiServesMetricsStatesAlertsAndReload) {
  WebhookReceiver receiver;
  WriteConfig(receiver.url());
  std::unique_ptr<Agent> agent = MakeAgent();
  ASSERT_NE(agent, nullptr);
  HttpApi http(agent.get());
  ASSERT_SW_OK(http.Start("127.0.0.1:0"));
  httplib::Client client("127.0.0.1", http.port());

  EXPECT_EQ(client.Get("/-/healthy")->status, 200);
  EXPECT_EQ(client.Get("/-/ready")->status, 503);  // nothing collected yet
  // 30 h: the TTL'd state is judged after two TTLs (2 h each) plus the 24 h window.
  for (int step = 0; step < 30 * 12; ++step) Step(*agent, 50);
  EXPECT_EQ(client.Get("/-/ready")->status, 200);

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body,
              HasSubstr("statewatch_collector_up{collector=\"engine\",source=\"app\"} 1"));
  EXPECT_THAT(metrics->body,
              HasSubstr("statewatch_state_keys{job=\"cdc\",source=\"app\",state=\"orders_join\"}"));
  EXPECT_THAT(metrics->body, HasSubstr("statewatch_alerts{state=\"firing\"} "));
  EXPECT_THAT(metrics->body, HasSubstr("statewatch_config_last_reload_successful 1"));

  auto states = nlohmann::json::parse(client.Get("/api/v1/states")->body);
  ASSERT_EQ(states["status"], "success");
  std::map<std::string, std::string> verdicts;
  for (const auto& s : states["data"]) {
    if (s["series"] == "statewatch_state_keys") verdicts[s["labels"]["state"]] = s["verdict"];
  }
  EXPECT_EQ(verdicts["orders_join"], "growing_without_ttl");
  EXPECT_EQ(verdicts["sessions"], "bounded");

  auto alerts = nlohmann::json::parse(client.Get("/api/v1/alerts")->body);
  ASSERT_EQ(alerts["status"], "success");
  EXPECT_THAT(alerts.dump(), HasSubstr("orders_join"));

  auto query =
      client.Get("/api/v1/query?series=statewatch_state_keys%7Bstate%3D%22orders_join%22%7D&from=" +
                 std::to_string(kStart / 1000));
  ASSERT_TRUE(query);
  auto q = nlohmann::json::parse(query->body);
  ASSERT_EQ(q["status"], "success") << query->body;
  ASSERT_EQ(q["data"]["result"].size(), 1u);
  EXPECT_EQ(q["data"]["result"][0]["values"].size(), 30u * 12u);
  EXPECT_EQ(client.Get("/api/v1/query?series=%7B&from=x")->status, 400);

  // A broken config on reload: 500 naming the problem, the running config stays.
  std::ofstream(dir_.Sub("statewatch.yaml")) << "sources:\n  - name: app\n    typo: engine\n";
  auto reload = client.Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 500);
  EXPECT_THAT(reload->body, HasSubstr("statewatch.yaml:3:5"));
  EXPECT_THAT(client.Get("/metrics")->body,
              HasSubstr("statewatch_config_last_reload_successful 0"));
  EXPECT_EQ(agent->config().sources.size(), 1u);
  WriteConfig(receiver.url());
  EXPECT_EQ(client.Post("/-/reload", "", "text/plain")->status, 200);
  EXPECT_THAT(client.Get("/metrics")->body,
              HasSubstr("statewatch_config_last_reload_successful 1"));
  http.Stop();
}

TEST_F(AgentTest, ReloadNeedsTheBearerTokenWhenOneIsConfigured) {
  std::ofstream(dir_.Sub("api-token")) << "s3cr3t-t0ken\n";
  std::ofstream(dir_.Sub("statewatch.yaml"))
      << "web:\n  bearer_token_file: " << dir_.Sub("api-token")
      << "\nsources:\n  - name: app\n    type: engine\n";
  std::unique_ptr<Agent> agent = MakeAgent();
  ASSERT_NE(agent, nullptr);
  HttpApi http(agent.get());
  ASSERT_SW_OK(http.Start("127.0.0.1:0"));
  httplib::Client client("127.0.0.1", http.port());

  auto none = client.Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"statewatchd\"");
  EXPECT_THAT(none->body, Not(HasSubstr("s3cr3t")));
  for (const char* wrong : {"Bearer s3cr3t-t0keN", "Bearer s3cr3t-t0ken2", "Bearer ",
                            "Basic s3cr3t-t0ken", "s3cr3t-t0ken"}) {
    auto r = client.Put("/-/reload", {{"Authorization", wrong}}, "", "text/plain");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << wrong;
  }
  auto right =
      client.Post("/-/reload", {{"Authorization", "Bearer s3cr3t-t0ken"}}, "", "text/plain");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  // Reads stay open.
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(client.Get("/api/v1/states")->status, 200);
  // A body over the limit is refused before any handler runs.
  auto big = client.Post("/-/reload", {{"Authorization", "Bearer s3cr3t-t0ken"}},
                         std::string(65 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  http.Stop();
}

TEST(SecretFileTest, ReadsTheFirstLineAndComparesInFull) {
  statewatch::testing::TempDir dir;
  std::ofstream(dir.Sub("t")) << "abc  \nsecond line\n";
  EXPECT_EQ(ReadSecretFile(dir.Sub("t"), "token").value(), "abc");
  std::ofstream(dir.Sub("empty")) << "\n";
  EXPECT_TRUE(ReadSecretFile(dir.Sub("empty"), "token").status().IsInvalidArgument());
  const Status missing = ReadSecretFile(dir.Sub("nope"), "web.bearer_token_file").status();
  EXPECT_TRUE(missing.IsIOError());
  EXPECT_THAT(missing.message(), HasSubstr("web.bearer_token_file: cannot read"));
  EXPECT_TRUE(SecretEquals("abc", "abc"));
  EXPECT_FALSE(SecretEquals("abd", "abc"));
  EXPECT_FALSE(SecretEquals("ab", "abc"));
  EXPECT_FALSE(SecretEquals("abcd", "abc"));
  EXPECT_FALSE(SecretEquals("", ""));  // no token configured is never a match
}

}  // namespace
}  // namespace statewatch::agent
