// Webhook notifications: the Alertmanager v4 body, HMAC signatures (RFC 4231 vectors), and the
// outbox-backed notifier against a real HTTP receiver — 2xx removes, 5xx and refused
// connections retry with backoff, 4xx drops, repeats and resolves follow Alertmanager.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/webhook_receiver.h"
#include "embedded-state/test_util.h"
#include "statewatch/agent/hmac.h"
#include "statewatch/agent/notifier.h"
#include "statewatch/agent/webhook_payload.h"

namespace statewatch::agent {
namespace {

using statewatch::testing::TempDir;
using statewatch::testing::WebhookReceiver;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1'764'057'600'000;  // 2025-11-25T08:00:00Z

rules::Alert FiringAlert() {
  rules::Alert a;
  a.rule = "StateWithoutTtlGrowing";
  a.labels = {{"alertname", "StateWithoutTtlGrowing"},
              {"job", "cdc"},
              {"severity", "warning"},
              {"state", "orders_join"}};
  a.annotations = {{"summary", "State orders_join grows without a TTL"}};
  a.state = rules::AlertState::kFiring;
  a.active_at_millis = kStart - 3'600'000;
  a.fired_at_millis = kStart;
  a.fingerprint = rules::Fingerprint(a.labels);
  return a;
}

TEST(HmacTest, MatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: 20 bytes of 0x0b, "Hi There".
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(WebhookSignature("Jefe", 12, "body"), "sha256=" + HmacSha256Hex("Jefe", "12.body"));
}

// What a receiver checks: the signature over "<timestamp>.<body>", and a timestamp within five
// minutes of its own clock, so a recorded request replayed later is refused.
TEST(HmacTest, VerifyAcceptsAFreshSignedRequestAndRefusesReplaysAndForgeries) {
  constexpr int64_t kNow = 1'767'225'600;
  const std::string body = R"({"status":"firing"})";
  const std::string signature = WebhookSignature("s3cret", kNow - 10, body);
  const std::string sent = std::to_string(kNow - 10);
  EXPECT_SW_OK(VerifyWebhookSignature("s3cret", sent, signature, body, kNow));
  EXPECT_SW_OK(VerifyWebhookSignature("s3cret", sent, signature, body, kNow - 300 - 10));
  EXPECT_SW_OK(VerifyWebhookSignature("s3cret", sent, signature, body, kNow + 300 - 10));

  auto refused = [&](std::string_view secret, std::string_view timestamp,
                     std::string_view presented, std::string_view text, int64_t now) {
    const Status s = VerifyWebhookSignature(secret, timestamp, presented, text, now);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_EQ(s.message().find("s3cret"), std::string::npos) << s.message();
    return s.message();
  };
  // The same request replayed six minutes later, and one dated ahead of the receiver's clock.
  EXPECT_THAT(refused("s3cret", sent, signature, body, kNow + 350),
              HasSubstr("is 360 s old (at most 300 s): a replayed or forged request"));
  EXPECT_THAT(refused("s3cret", sent, signature, body, kNow - 400), HasSubstr("390 s ahead"));
  // A fresh timestamp on the old signature, an altered body, another secret.
  const std::string now_text = std::to_string(kNow + 350);
  EXPECT_THAT(refused("s3cret", now_text, signature, body, kNow + 350),
              HasSubstr("X-Statewatch-Signature does not match"));
  EXPECT_THAT(refused("s3cret", sent, signature, R"({"status":"resolved"})", kNow),
              HasSubstr("does not match"));
  EXPECT_THAT(refused("other", sent, signature, body, kNow), HasSubstr("does not match"));
  EXPECT_THAT(refused("s3cret", sent, "", body, kNow), HasSubstr("does not match"));
  for (std::string_view bad : {"", "12x", "-5", "1e9", "99999999999999999999"}) {
    EXPECT_THAT(refused("s3cret", bad, signature, body, kNow), HasSubstr("is not unix seconds"))
        << bad;
  }
}

TEST(WebhookPayloadTest, IsAlertmanagerWebhookV4) {
  const rules::Alert alert = FiringAlert();
  const auto body = nlohmann::json::parse(
      BuildWebhookPayload("ops", "http://agent:9465", alert, NotificationStatus::kFiring));
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["receiver"], "ops");
  EXPECT_EQ(body["externalURL"], "http://agent:9465");
  EXPECT_EQ(body["groupKey"],
            "{}:{alertname=\"StateWithoutTtlGrowing\", job=\"cdc\", severity=\"warning\", "
            "state=\"orders_join\"}");
  EXPECT_EQ(body["groupLabels"]["state"], "orders_join");
  EXPECT_EQ(body["commonLabels"]["alertname"], "StateWithoutTtlGrowing");
  EXPECT_EQ(body["commonAnnotations"]["summary"], "State orders_join grows without a TTL");
  ASSERT_EQ(body["alerts"].size(), 1u);
  const auto& a = body["alerts"][0];
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["startsAt"], "2025-11-25T08:00:00.000Z");
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["fingerprint"], alert.fingerprint);
  EXPECT_EQ(a["generatorURL"], "http://agent:9465/api/v1/alerts?fingerprint=" + alert.fingerprint);

  rules::Alert resolved = alert;
  resolved.state = rules::AlertState::kInactive;
  resolved.resolved_at_millis = kStart + 1'500;
  const auto r = nlohmann::json::parse(
      BuildWebhookPayload("ops", "http://agent:9465", resolved, NotificationStatus::kResolved));
  EXPECT_EQ(r["status"], "resolved");
  EXPECT_EQ(r["alerts"][0]["endsAt"], "2025-11-25T08:00:01.500Z");
}

TEST(AlertmanagerPayloadTest, IsAPostableAlertsArrayWithEndsAtAhead) {
  const rules::Alert alert = FiringAlert();
  const int64_t valid_until = kStart + 4 * 60'000;
  const auto body = nlohmann::json::parse(BuildAlertmanagerPayload(
      "http://agent:9465", alert, NotificationStatus::kFiring, valid_until));
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 1u);
  const auto& a = body[0];
  // Alertmanager's postableAlert: labels, annotations, startsAt, endsAt, generatorURL only.
  EXPECT_EQ(a.size(), 5u) << a.dump();
  EXPECT_EQ(a["labels"]["alertname"], "StateWithoutTtlGrowing");
  EXPECT_EQ(a["labels"]["state"], "orders_join");
  EXPECT_EQ(a["annotations"]["summary"], "State orders_join grows without a TTL");
  EXPECT_EQ(a["startsAt"], "2025-11-25T08:00:00.000Z");
  EXPECT_EQ(a["endsAt"], "2025-11-25T08:04:00.000Z");
  EXPECT_EQ(a["generatorURL"], "http://agent:9465/api/v1/alerts?fingerprint=" + alert.fingerprint);

  rules::Alert resolved = alert;
  resolved.state = rules::AlertState::kInactive;
  resolved.resolved_at_millis = kStart + 90'000;
  const auto r = nlohmann::json::parse(BuildAlertmanagerPayload(
      "http://agent:9465", resolved, NotificationStatus::kResolved, valid_until));
  EXPECT_EQ(r[0]["endsAt"], "2025-11-25T08:01:30.000Z");
}

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::AlertStore::Open(dir_.Sub("alerts.db"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  std::unique_ptr<Notifier> Make(std::vector<ReceiverConfig> receivers) {
    Notifier::Options options;
    options.external_url = "http://agent:9465";
    auto n = Notifier::Create(store_.get(), receivers, options);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? std::move(*n) : nullptr;
  }

  ReceiverConfig Receiver(const std::string& url) {
    ReceiverConfig r;
    r.name = "ops";
    r.url = url;
    r.timeout = std::chrono::seconds(5);
    return r;
  }

  size_t Queued() { return store_->QueuedCount().value(); }

  TempDir dir_;
  std::unique_ptr<storage::AlertStore> store_;
};

TEST_F(NotifierTest, DeliversOnceAndRemovesFromTheOutbox) {
  WebhookReceiver receiver;
  auto notifier = Make({Receiver(receiver.url())});
  const rules::Alert alert = FiringAlert();
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  // Queueing the same evaluation again (a retry after a crash) adds nothing.
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  EXPECT_EQ(Queued(), 1u);
  auto result = notifier->DeliverDue(kStart);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->delivered, 1u);
  EXPECT_EQ(Queued(), 0u);
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests()[0].path, "/alerts");
  EXPECT_THAT(receiver.requests()[0].body, HasSubstr("\"status\":\"firing\""));
  // The next evaluation with the alert still firing queues nothing until repeat_interval.
  ASSERT_SW_OK(notifier->Queue({}, {alert}, kStart + 60'000));
  EXPECT_EQ(Queued(), 0u);
  ASSERT_SW_OK(notifier->Queue({}, {alert}, kStart + 4 * 3'600'000));
  EXPECT_EQ(Queued(), 1u);
}

TEST_F(NotifierTest, RetriesServerErrorsWithBackoffUntilDelivered) {
  WebhookReceiver receiver;
  receiver.set_status(500);
  auto notifier = Make({Receiver(receiver.url())});
  const rules::Alert alert = FiringAlert();
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  int64_t now = kStart;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    auto r = notifier->DeliverDue(now);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->retried, 1u) << attempt;
    const int64_t next = notifier->NextAttemptMillis().value().value();
    EXPECT_EQ(next - now, notifier->Backoff(attempt).count());
    // Not due before its time.
    EXPECT_EQ(notifier->DeliverDue(next - 1).value().retried, 0u);
    now = next;
  }
  EXPECT_EQ(notifier->Backoff(1), std::chrono::seconds(1));
  EXPECT_EQ(notifier->Backoff(4), std::chrono::seconds(8));
  EXPECT_EQ(notifier->Backoff(40), std::chrono::minutes(5));
  receiver.set_status(200);
  EXPECT_EQ(notifier->DeliverDue(now).value().delivered, 1u);
  EXPECT_EQ(Queued(), 0u);
  EXPECT_EQ(receiver.requests().size(), 5u);
}

TEST_F(NotifierTest, RefusedConnectionIsRetriedNotLost) {
  int port = 0;
  {
    WebhookReceiver gone;  // learn a free port, then close it
    port = gone.port();
  }
  auto notifier = Make({Receiver("http://127.0.0.1:" + std::to_string(port) + "/")});
  const rules::Alert alert = FiringAlert();
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  auto r = notifier->DeliverDue(kStart);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->retried, 1u);
  EXPECT_EQ(Queued(), 1u);
  auto items = store_->Due(kStart + 10'000, 10).value();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].attempts, 1);
  EXPECT_THAT(items[0].last_error, HasSubstr("127.0.0.1:" + std::to_string(port)));
}

// A slow receiver that answers within the timeout gets the notification once; one slower than
// the timeout counts as not acknowledged: retried with backoff, never dropped, and the error
// says it timed out.
TEST_F(NotifierTest, SlowReceiversAreWaitedForUpToTheTimeoutThenRetried) {
  WebhookReceiver receiver;
  ReceiverConfig config = Receiver(receiver.url());
  config.timeout = std::chrono::milliseconds(300);
  auto notifier = Make({config});
  const rules::Alert alert = FiringAlert();

  receiver.set_delay(std::chrono::milliseconds(100));  // slow, within the timeout
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  auto within = notifier->DeliverDue(kStart);
  ASSERT_TRUE(within.ok());
  EXPECT_EQ(within->delivered, 1u);
  EXPECT_EQ(within->retried, 0u);
  EXPECT_EQ(Queued(), 0u);

  rules::Alert resolved = alert;
  resolved.state = rules::AlertState::kInactive;
  resolved.resolved_at_millis = kStart + 60'000;
  receiver.set_delay(std::chrono::milliseconds(1500));  // slower than the timeout
  ASSERT_SW_OK(notifier->Queue({{resolved, rules::AlertState::kFiring}}, {}, kStart + 60'000));
  auto timed_out = notifier->DeliverDue(kStart + 60'000);
  ASSERT_TRUE(timed_out.ok());
  EXPECT_EQ(timed_out->delivered, 0u);
  EXPECT_EQ(timed_out->retried, 1u);
  EXPECT_EQ(Queued(), 1u);
  auto items = store_->Due(kStart + 3'600'000, 10).value();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].attempts, 1);
  EXPECT_THAT(items[0].last_error, HasSubstr("Timeout"));

  receiver.set_delay(std::chrono::milliseconds(0));  // back to normal: delivered on the retry
  const int64_t next = notifier->NextAttemptMillis().value().value();
  auto retried = notifier->DeliverDue(next);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->delivered, 1u);
  EXPECT_EQ(Queued(), 0u);
  ASSERT_EQ(receiver.requests().size(), 3u);
  EXPECT_EQ(receiver.requests()[1].body, receiver.requests()[2].body);  // the same notification
  EXPECT_THAT(receiver.requests()[2].body, HasSubstr("\"status\":\"resolved\""));
}

TEST_F(NotifierTest, ClientErrorsAreDroppedAndRecorded) {
  WebhookReceiver receiver;
  receiver.set_status(400);
  auto notifier = Make({Receiver(receiver.url())});
  const rules::Alert alert = FiringAlert();
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  EXPECT_EQ(notifier->DeliverDue(kStart).value().dropped, 1u);
  EXPECT_EQ(Queued(), 0u);
  auto dropped = store_->Dropped(10).value();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_THAT(dropped[0].last_error, HasSubstr("HTTP 400"));
}

TEST_F(NotifierTest, ResolveIsSentOnceAndOnlyWithSendResolved) {
  WebhookReceiver receiver;
  ReceiverConfig quiet = Receiver(receiver.url("/quiet"));
  quiet.name = "quiet";
  quiet.send_resolved = false;
  auto notifier = Make({Receiver(receiver.url()), quiet});
  rules::Alert resolved = FiringAlert();
  resolved.state = rules::AlertState::kInactive;
  resolved.resolved_at_millis = kStart + 60'000;
  ASSERT_SW_OK(notifier->Queue({{resolved, rules::AlertState::kFiring}}, {}, kStart + 60'000));
  ASSERT_SW_OK(notifier->Queue({{resolved, rules::AlertState::kFiring}}, {}, kStart + 60'000));
  EXPECT_EQ(notifier->DeliverDue(kStart + 60'000).value().delivered, 1u);
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests()[0].path, "/alerts");
  EXPECT_THAT(receiver.requests()[0].body, HasSubstr("\"status\":\"resolved\""));
}

TEST_F(NotifierTest, SignsBodiesAndSendsTheBearerToken) {
  WebhookReceiver receiver;
  ReceiverConfig r = Receiver(receiver.url());
  r.bearer_token_file = dir_.Sub("token");
  r.hmac_secret_file = dir_.Sub("secret");
  std::ofstream(r.bearer_token_file) << "t0ken\n";
  std::ofstream(r.hmac_secret_file) << "s3cret\n";
  auto notifier = Make({r});
  const rules::Alert alert = FiringAlert();
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  ASSERT_EQ(notifier->DeliverDue(kStart).value().delivered, 1u);
  const auto request = receiver.requests().at(0);
  auto header = [&](const char* name) {
    auto it = request.headers.find(name);
    return it == request.headers.end() ? std::string() : it->second;
  };
  EXPECT_EQ(header("Authorization"), "Bearer t0ken");
  EXPECT_EQ(header("X-Statewatch-Timestamp"), std::to_string(kStart / 1000));
  EXPECT_EQ(header("X-Statewatch-Signature"),
            WebhookSignature("s3cret", kStart / 1000, request.body));
}

// Each attempt is signed when it goes out: a retry ten minutes after a 503 passes a receiver's
// replay check at that time, while the first attempt's copy no longer would.
TEST_F(NotifierTest, ARetryIsSignedAfreshAndPassesTheReceiversReplayCheck) {
  WebhookReceiver receiver;
  receiver.set_status(503);
  ReceiverConfig r = Receiver(receiver.url());
  r.hmac_secret_file = dir_.Sub("secret");
  std::ofstream(r.hmac_secret_file) << "s3cret\n";
  auto notifier = Make({r});
  const rules::Alert alert = FiringAlert();
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  ASSERT_EQ(notifier->DeliverDue(kStart).value().retried, 1u);
  receiver.set_status(200);
  const int64_t later = kStart + 10 * 60'000;
  ASSERT_EQ(notifier->DeliverDue(later).value().delivered, 1u);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  auto verify = [](const WebhookReceiver::Request& q, int64_t now_millis) {
    return VerifyWebhookSignature("s3cret", q.headers.find("X-Statewatch-Timestamp")->second,
                                  q.headers.find("X-Statewatch-Signature")->second, q.body,
                                  now_millis / 1000);
  };
  EXPECT_EQ(requests[0].body, requests[1].body);  // the same notification
  EXPECT_SW_OK(verify(requests[0], kStart));
  EXPECT_SW_OK(verify(requests[1], later));
  EXPECT_TRUE(verify(requests[0], later).IsInvalidArgument());  // as a replay, refused
}

TEST_F(NotifierTest, AlertmanagerReceiverPostsToApiV2AndRepeatsAtItsOwnInterval) {
  WebhookReceiver receiver;
  ReceiverConfig am = Receiver(receiver.url("/am/"));
  am.name = "am";
  am.type = "alertmanager";
  am.repeat_interval = std::chrono::minutes(1);
  ReceiverConfig hook = Receiver(receiver.url());
  hook.repeat_interval = std::chrono::hours(4);
  auto notifier = Make({am, hook});
  const rules::Alert alert = FiringAlert();
  ASSERT_SW_OK(notifier->Queue({{alert, rules::AlertState::kPending}}, {alert}, kStart));
  ASSERT_EQ(notifier->DeliverDue(kStart).value().delivered, 2u);
  std::vector<WebhookReceiver::Request> got = receiver.requests();
  ASSERT_EQ(got.size(), 2u);
  auto to = [&](const std::string& path) {
    std::vector<nlohmann::json> bodies;
    for (const auto& r : receiver.requests()) {
      if (r.path == path) bodies.push_back(nlohmann::json::parse(r.body));
    }
    return bodies;
  };
  ASSERT_EQ(to("/am/api/v2/alerts").size(), 1u);
  EXPECT_EQ(to("/am/api/v2/alerts")[0][0]["endsAt"], FormatRfc3339(kStart + 4 * 60'000));
  ASSERT_EQ(to("/alerts").size(), 1u);

  // Two minutes on, Alertmanager has been re-sent the alert (its endsAt moved on) and the
  // webhook, with a 4 h repeat, has not.
  for (int64_t t = kStart + 30'000; t <= kStart + 120'000; t += 30'000) {
    ASSERT_SW_OK(notifier->Queue({}, {alert}, t));
    ASSERT_TRUE(notifier->DeliverDue(t).ok());
  }
  const std::vector<nlohmann::json> am_bodies = to("/am/api/v2/alerts");
  ASSERT_EQ(am_bodies.size(), 3u);
  EXPECT_EQ(am_bodies[2][0]["endsAt"], FormatRfc3339(kStart + 120'000 + 4 * 60'000));
  EXPECT_EQ(to("/alerts").size(), 1u);

  // Resolved: Alertmanager gets endsAt = the resolve time, so it resolves at once.
  rules::Alert resolved = alert;
  resolved.state = rules::AlertState::kInactive;
  resolved.resolved_at_millis = kStart + 150'000;
  ASSERT_SW_OK(notifier->Queue({{resolved, rules::AlertState::kFiring}}, {}, kStart + 150'000));
  ASSERT_EQ(notifier->DeliverDue(kStart + 150'000).value().delivered, 2u);
  const std::vector<nlohmann::json> after = to("/am/api/v2/alerts");
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after[3][0]["endsAt"], FormatRfc3339(kStart + 150'000));
  // And no more repeats once resolved.
  ASSERT_SW_OK(notifier->Queue({}, {}, kStart + 600'000));
  EXPECT_EQ(Queued(), 0u);
}

TEST_F(NotifierTest, MissingSecretFileIsAnErrorNamingIt) {
  ReceiverConfig r = Receiver("http://127.0.0.1:1/");
  r.hmac_secret_file = dir_.Sub("no-such-secret");
  auto n = Notifier::Create(store_.get(), {r}, Notifier::Options{});
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("no-such-secret"));
  EXPECT_THAT(n.status().message(), HasSubstr("receiver 'ops'"));
}

}  // namespace
}  // namespace statewatch::agent
