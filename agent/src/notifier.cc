#include "statewatch/agent/notifier.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "statewatch/agent/hmac.h"
#include "statewatch/agent/secret_file.h"
#include "statewatch/agent/webhook_payload.h"

namespace statewatch::agent {

Result<std::unique_ptr<WebhookSender>> WebhookSender::Create(const ReceiverConfig& config) {
  std::unique_ptr<WebhookSender> sender(new WebhookSender(config));
  const std::string what = "receiver '" + config.name + "'";
  const size_t scheme_end = config.url.find("://");
  if (scheme_end == std::string::npos) {
    return Status::InvalidArgument(what + ": url '" + config.url + "' has no scheme");
  }
  const size_t path_start = config.url.find('/', scheme_end + 3);
  sender->scheme_host_port_ = config.url.substr(0, path_start);
  sender->path_ = path_start == std::string::npos ? "/" : config.url.substr(path_start);
  if (config.type == "alertmanager") {
    // The url is Alertmanager's base (as in Prometheus' alertmanagers: config).
    while (!sender->path_.empty() && sender->path_.back() == '/') sender->path_.pop_back();
    sender->path_ += "/api/v2/alerts";
  }
  if (!config.bearer_token_file.empty()) {
    Result<std::string> token = ReadSecretFile(config.bearer_token_file, what + " bearer token");
    if (!token.ok()) return token.status();
    sender->bearer_token_ = *token;
  }
  if (!config.hmac_secret_file.empty()) {
    Result<std::string> secret = ReadSecretFile(config.hmac_secret_file, what + " HMAC secret");
    if (!secret.ok()) return secret.status();
    sender->hmac_secret_ = *secret;
  }
  return sender;
}

namespace {

// httplib names its errors in one word ("Read"); the outbox's last_error and the log say what
// happened in terms of the receiver and the configured timeout.
std::string DescribeError(httplib::Error error, std::chrono::milliseconds timeout_ms) {
  const std::string timeout = std::to_string(timeout_ms.count()) + "ms";
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect (connection refused or host unreachable)";
    case httplib::Error::ConnectionTimeout:
      return "Timeout: not connected within " + timeout;
    case httplib::Error::Read:
      return "Timeout or closed: no answer within " + timeout;
    case httplib::Error::Write:
      return "sending the notification failed (connection closed or no progress within " + timeout +
             ")";
    default:
      return httplib::to_string(error);
  }
}

}  // namespace

Result<int> WebhookSender::Post(const std::string& body, int64_t now_millis) const {
  httplib::Client client(scheme_host_port_);
  client.set_connection_timeout(config_.timeout);
  client.set_read_timeout(config_.timeout);
  client.set_write_timeout(config_.timeout);
  httplib::Headers headers = {{"User-Agent", "statewatchd"}};
  if (!bearer_token_.empty()) headers.emplace("Authorization", "Bearer " + bearer_token_);
  if (!hmac_secret_.empty()) {
    const int64_t seconds = now_millis / 1000;
    headers.emplace("X-Statewatch-Timestamp", std::to_string(seconds));
    headers.emplace("X-Statewatch-Signature", WebhookSignature(hmac_secret_, seconds, body));
  }
  httplib::Result result = client.Post(path_, headers, body, "application/json");
  if (!result) {
    return Status::Unavailable("POST " + config_.url + ": " +
                               DescribeError(result.error(), config_.timeout));
  }
  return result->status;
}

Result<std::unique_ptr<Notifier>> Notifier::Create(storage::AlertStore* store,
                                                   const std::vector<ReceiverConfig>& receivers,
                                                   Options options) {
  std::unique_ptr<Notifier> notifier(new Notifier(store, std::move(options)));
  for (const ReceiverConfig& receiver : receivers) {
    Result<std::unique_ptr<WebhookSender>> sender = WebhookSender::Create(receiver);
    if (!sender.ok()) return sender.status();
    notifier->senders_[receiver.name] = std::move(*sender);
  }
  return notifier;
}

void Notifier::Count(const std::string& receiver, const char* result) {
  if (options_.notifications != nullptr) {
    options_.notifications->Add({{"receiver", receiver}, {"result", result}}).Increment();
  }
}

std::chrono::milliseconds Notifier::Backoff(int attempts) const {
  std::chrono::milliseconds delay = options_.initial_backoff;
  for (int i = 1; i < attempts && delay < options_.max_backoff; ++i) delay *= 2;
  return std::min(delay, options_.max_backoff);
}

void Notifier::MarkNotified(const rules::Alert& alert) {
  if (alert.state != rules::AlertState::kFiring) return;
  std::lock_guard<std::mutex> lock(mu_);
  // Re-armed from the next Queue's slot computation.
  for (const auto& [name, sender] : senders_) last_slot_[{alert.fingerprint, name}] = -1;
}

Notifier::Plan Notifier::PlanNotifications(const std::vector<rules::AlertTransition>& transitions,
                                           const std::vector<rules::Alert>& alerts, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto body_for = [&](const std::string& name, const WebhookSender& sender,
                      const rules::Alert& alert, NotificationStatus status) {
    if (sender.config().type == "alertmanager") {
      const int64_t valid_until = now + 4 * sender.config().repeat_interval.count();
      return BuildAlertmanagerPayload(options_.external_url, alert, status, valid_until);
    }
    return BuildWebhookPayload(name, options_.external_url, alert, status);
  };

  Plan plan;
  for (const rules::AlertTransition& t : transitions) {
    const rules::Alert& alert = t.alert;
    if (alert.state != rules::AlertState::kInactive || t.from != rules::AlertState::kFiring) {
      continue;
    }
    plan.resolved.push_back(alert.fingerprint);
    const std::string key =
        alert.fingerprint + "|resolved|" + std::to_string(alert.fired_at_millis);
    for (const auto& [name, sender] : senders_) {
      if (!sender->config().send_resolved) continue;
      plan.notifications.push_back(
          {name, key, body_for(name, *sender, alert, NotificationStatus::kResolved)});
    }
  }
  for (const rules::Alert& alert : alerts) {
    if (alert.state != rules::AlertState::kFiring) continue;
    // Each receiver repeats at its own interval; the dedup key carries the slot, so a repeat is
    // a new outbox item while a re-queue of the same slot is not.
    for (const auto& [name, sender] : senders_) {
      const int64_t repeat = std::max<int64_t>(1, sender->config().repeat_interval.count());
      const int64_t slot = std::max<int64_t>(0, now - alert.fired_at_millis) / repeat;
      std::pair<std::string, std::string> id{alert.fingerprint, name};
      auto it = last_slot_.find(id);
      if (it != last_slot_.end() && it->second == -1) it->second = slot;  // restored: sent
      if (it != last_slot_.end() && it->second >= slot) continue;
      const std::string key = alert.fingerprint + "|firing|" +
                              std::to_string(alert.fired_at_millis) + "|" + std::to_string(slot);
      plan.notifications.push_back(
          {name, key, body_for(name, *sender, alert, NotificationStatus::kFiring)});
      plan.slots.emplace_back(std::move(id), slot);
    }
  }
  return plan;
}

void Notifier::Apply(const Plan& plan) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& fingerprint : plan.resolved) {
    for (const auto& [name, sender] : senders_) last_slot_.erase({fingerprint, name});
  }
  for (const auto& [id, slot] : plan.slots) last_slot_[id] = slot;
}

Status Notifier::Queue(const std::vector<rules::AlertTransition>& transitions,
                       const std::vector<rules::Alert>& alerts, int64_t now) {
  const Plan plan = PlanNotifications(transitions, alerts, now);
  for (const storage::QueuedNotification& n : plan.notifications) {
    Result<int64_t> id = store_->Enqueue(n.receiver, n.dedup_key, n.payload, now);
    if (!id.ok()) return id.status();
  }
  Apply(plan);
  return Status::OK();
}

Result<DeliveryResult> Notifier::DeliverDue(int64_t now) {
  DeliveryResult result;
  Result<std::vector<storage::OutboxItem>> due = store_->Due(now, 256);
  if (!due.ok()) return due.status();
  for (const storage::OutboxItem& item : *due) {
    auto sender = senders_.find(item.receiver);
    if (sender == senders_.end()) {
      // The receiver left the config; keep a record of what it never got, say so, move on.
      spdlog::warn("outbox item {} for receiver '{}' dropped: receiver no longer configured",
                   item.id, item.receiver);
      SW_RETURN_IF_ERROR(store_->Drop(item.id, "receiver no longer configured", now));
      ++result.dropped;
      Count(item.receiver, "dropped");
      continue;
    }
    Result<int> status = sender->second->Post(item.payload, now);
    if (status.ok() && *status >= 200 && *status < 300) {
      SW_RETURN_IF_ERROR(store_->MarkDelivered(item.id));
      spdlog::debug("notification {} ({}) delivered to receiver '{}'", item.id, item.dedup_key,
                    item.receiver);
      ++result.delivered;
      Count(item.receiver, "delivered");
      continue;
    }
    if (status.ok() && *status >= 400 && *status < 500) {
      const std::string reason = "HTTP " + std::to_string(*status) + " from " + item.receiver;
      spdlog::error("notification {} to receiver '{}' rejected with HTTP {}; dropped", item.id,
                    item.receiver, *status);
      SW_RETURN_IF_ERROR(store_->Drop(item.id, reason, now));
      ++result.dropped;
      Count(item.receiver, "dropped");
      continue;
    }
    const std::string error =
        status.ok() ? "HTTP " + std::to_string(*status) : status.status().message();
    const std::chrono::milliseconds delay = Backoff(item.attempts + 1);
    spdlog::warn("notification {} to receiver '{}' failed (attempt {}): {}; retrying in {} ms",
                 item.id, item.receiver, item.attempts + 1, error, delay.count());
    SW_RETURN_IF_ERROR(store_->Reschedule(item.id, now + delay.count(), error));
    ++result.retried;
    Count(item.receiver, "retried");
  }
  return result;
}

Result<std::optional<int64_t>> Notifier::NextAttemptMillis() const {
  return store_->NextAttemptMillis();
}

}  // namespace statewatch::agent
