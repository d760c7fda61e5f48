// Notifier: turns alert transitions into webhook deliveries that survive crashes.
//
// Every notification is written to the outbox (AlertStore, SQLite, synchronous=FULL) before any
// attempt to send it and removed only after the receiver answered 2xx. 5xx, timeouts and refused
// connections are retried with exponential backoff (1 s doubling to 5 min by default); a 4xx
// means the receiver will never accept this body, so it is logged and dropped (kept in the
// store's dropped table). A kill -9 at any moment loses nothing: the next start finds the queue.
//
// What is queued follows Prometheus + Alertmanager: a "firing" notification when an alert starts
// firing and again every `repeat_interval` while it fires; one "resolved" notification when it
// resolves (if the receiver has send_resolved). Pending alerts are never sent.
//
// Thread-safety: Queue and DeliverDue may run on different threads; DeliverDue is not meant to
// run concurrently with itself (one sender).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "statewatch/agent/config.h"
#include "statewatch/rules/rule_engine.h"
#include "statewatch/storage/alert_store.h"

namespace statewatch::agent {

// Posts bodies to one receiver's URL with its token, signature and timeout (type alertmanager:
// to URL/api/v2/alerts).
class WebhookSender {
 public:
  // Reads the token and secret files now, so a missing file is a config error naming it.
  static Result<std::unique_ptr<WebhookSender>> Create(const ReceiverConfig& config);
  // The HTTP status, or an error Status (Unavailable) when no response came: refused, timed
  // out, reset.
  Result<int> Post(const std::string& body, int64_t now_millis) const;
  const ReceiverConfig& config() const { return config_; }

 private:
  explicit WebhookSender(ReceiverConfig config) : config_(std::move(config)) {}
  ReceiverConfig config_;
  std::string scheme_host_port_;
  std::string path_;
  std::string bearer_token_;
  std::string hmac_secret_;
};

struct DeliveryResult {
  size_t delivered = 0;
  size_t retried = 0;
  size_t dropped = 0;
};

class Notifier {
 public:
  struct Options {
    std::string external_url;
    std::chrono::milliseconds initial_backoff = std::chrono::seconds(1);
    std::chrono::milliseconds max_backoff = std::chrono::minutes(5);
    // statewatch_notifications_total{receiver, result="delivered"|"retried"|"dropped"}; may be
    // null.
    prometheus::Family<prometheus::Counter>* notifications = nullptr;
  };

  // `store` is not owned and must outlive the notifier.
  static Result<std::unique_ptr<Notifier>> Create(storage::AlertStore* store,
                                                  const std::vector<ReceiverConfig>& receivers,
                                                  Options options);

  // What one evaluation calls for: the notifications to queue, and what the notifier remembers
  // once they are stored (the repeat slot sent per alert and receiver).
  struct Plan {
    std::vector<storage::QueuedNotification> notifications;
    std::vector<std::pair<std::pair<std::string, std::string>, int64_t>> slots;  // sent
    std::vector<std::string> resolved;  // fingerprints whose repeats end
  };
  // Plans what this evaluation calls for: `transitions` from RuleEngine::Evaluate and the
  // current `alerts` (for repeats). Changes nothing until Apply: a plan whose notifications
  // could not be stored is planned again at the next evaluation.
  Plan PlanNotifications(const std::vector<rules::AlertTransition>& transitions,
                         const std::vector<rules::Alert>& alerts, int64_t now_millis);
  // Records a plan whose notifications are stored (AlertStore::CommitEvaluation or Enqueue).
  void Apply(const Plan& plan);
  // PlanNotifications, Enqueue of each, Apply: for callers without an evaluation to commit with
  // it. Returns the first storage error; nothing is sent here.
  Status Queue(const std::vector<rules::AlertTransition>& transitions,
               const std::vector<rules::Alert>& alerts, int64_t now_millis);

  // For alerts restored after a restart: their current firing notification went out (or sits
  // in the outbox) before the restart, so the next one is due a repeat_interval later.
  void MarkNotified(const rules::Alert& alert);

  // Attempts every due outbox item once.
  Result<DeliveryResult> DeliverDue(int64_t now_millis);

  // When the next queued item is due (nullopt: queue empty).
  Result<std::optional<int64_t>> NextAttemptMillis() const;

  // Backoff after `attempts` failed attempts: initial·2^(attempts-1), capped.
  std::chrono::milliseconds Backoff(int attempts) const;

 private:
  Notifier(storage::AlertStore* store, Options options) : store_(store), options_(options) {}
  void Count(const std::string& receiver, const char* result);

  storage::AlertStore* store_;
  Options options_;
  std::map<std::string, std::unique_ptr<WebhookSender>> senders_;  // by receiver name
  std::mutex mu_;
  // (fingerprint, receiver) → the repeat slot last queued: floor((now - fired_at) /
  // the receiver's repeat_interval).
  std::map<std::pair<std::string, std::string>, int64_t> last_slot_;
};

}  // namespace statewatch::agent
