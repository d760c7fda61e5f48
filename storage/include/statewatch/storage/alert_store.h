// AlertStore: the alerting side's durable state in its own SQLite file (alerts.db).
//
//  - the alert log: every alert state transition, for /api/v1/alerts history and post-mortems;
//  - the active alerts: pending and firing alerts with their timestamps, so that `for:` and
//    `keep_firing_for:` continue across a restart instead of starting over;
//  - the notification outbox: a webhook body is written here before it is sent and removed
//    after a 2xx, so nothing queued is lost to a crash, kill -9 or power cut; items that are
//    given up on (4xx, too many attempts) move to a `dropped` table for the record.
//
// Durability: WAL with synchronous=FULL — every commit is fsynced before the call returns.
// Unlike samples (a lost second of history is harmless), a lost outbox row is an alert nobody
// receives and a lost transition a gap in the record; alerts are few (a handful of writes per
// evaluation at most), so an fsync per commit costs nothing that matters.
//
// Versions and refusal: like SampleStore — schema_version table, SQLite application_id 'SWAL';
// IOError naming the path when the file cannot be opened (e.g. missing directory), Corruption
// naming the path when it is not SQLite or not an alert store, FailedPrecondition for a newer
// schema version; nothing is written before these checks pass.
//
// Thread-safety: all methods may be called from any thread; calls are serialized internally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "statewatch/state/status.h"

namespace statewatch::storage {

// One alert state transition.
struct AlertLogEntry {
  int64_t t_millis = 0;
  std::string alertname;
  std::string labels;  // Prometheus notation text (LabelsToText)
  std::string fingerprint;
  std::string from_state;  // "inactive" | "pending" | "firing"
  std::string to_state;
  double value = 0;              // NaN round-trips
  std::string annotations_json;  // stored as given
};

// A pending or firing alert, so `for:` survives a restart.
struct ActiveAlertRecord {
  std::string fingerprint;  // unique within one ReplaceActiveAlerts call
  std::string alertname;
  std::string labels;
  std::string state;
  int64_t active_at_millis = 0;
  int64_t fired_at_millis = 0;
  int64_t last_active_millis = 0;
  double value = 0;
  std::string annotations_json;
};

// A notification to put in the outbox (see Enqueue).
struct QueuedNotification {
  std::string receiver;
  std::string dedup_key;
  std::string payload;
};

// One queued (or, from Dropped(), given-up) delivery.
struct OutboxItem {
  int64_t id = 0;  // never reused, even after the item is delivered or dropped
  std::string receiver;
  std::string dedup_key;  // e.g. fingerprint|status|startsAt — one queued delivery per key
  std::string payload;    // the exact HTTP body to send
  int attempts = 0;       // failed attempts so far (Reschedule calls)
  int64_t created_millis = 0;
  // Queued items: when the next attempt is due. Dropped items: when it was dropped.
  int64_t next_attempt_millis = 0;
  // Queued items: the error of the last attempt. Dropped items: the reason given to Drop.
  std::string last_error;
};

class AlertStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens or creates the database file at `path` (its directory must exist); see the file
  // comment for the errors.
  static Result<std::unique_ptr<AlertStore>> Open(const std::string& path);
  ~AlertStore();
  AlertStore(const AlertStore&) = delete;
  AlertStore& operator=(const AlertStore&) = delete;

  // Appends transitions to the alert log, all or none (one transaction).
  Status LogTransitions(const std::vector<AlertLogEntry>& entries);
  // Transitions with t >= since_millis, newest first (ties: the later logged first), at most
  // `limit`.
  Result<std::vector<AlertLogEntry>> Transitions(int64_t since_millis, size_t limit);
  // Deletes log entries with t < before_millis, and dropped-outbox records dropped before then
  // (the same retention for both records).
  Status PruneLog(int64_t before_millis);

  // Replaces the whole set of active alerts in one transaction: afterwards exactly `alerts` are
  // stored. InvalidArgument (nothing changed) when two records share a fingerprint.
  Status ReplaceActiveAlerts(const std::vector<ActiveAlertRecord>& alerts);
  // The stored active alerts, ordered by alertname, labels, fingerprint.
  Result<std::vector<ActiveAlertRecord>> ActiveAlerts();

  // One evaluation's writes, all or none (one transaction): `notifications` queued as Enqueue
  // queues each, `log` appended as LogTransitions does, the active set replaced by `active`. A
  // crash then leaves the store as it was before the evaluation or after it — never a logged
  // transition without its notification, nor a queued resolve while the stored active set still
  // says firing (the restart would resolve it again and send it twice).
  Status CommitEvaluation(const std::vector<QueuedNotification>& notifications,
                          const std::vector<AlertLogEntry>& log,
                          const std::vector<ActiveAlertRecord>& active, int64_t now_millis);

  // Outbox. Written before sending, removed after a 2xx.
  //
  // Queues `payload` for `receiver`, due at once (next attempt = now). Idempotent per
  // (receiver, dedup_key): while an item with that key is queued, a second call returns the
  // existing id and changes nothing (payload included). Once it is delivered or dropped, the
  // key may be queued again. Returns the item id.
  Result<int64_t> Enqueue(const std::string& receiver, const std::string& dedup_key,
                          const std::string& payload, int64_t now_millis);
  // Items with next_attempt <= now, oldest (first enqueued) first, at most `limit`.
  Result<std::vector<OutboxItem>> Due(int64_t now_millis, size_t limit);
  Result<size_t> QueuedCount();
  // The earliest next attempt of any queued item (due or not), for the sender's timer; nullopt
  // when the outbox is empty.
  Result<std::optional<int64_t>> NextAttemptMillis();
  // Removes a delivered item. NotFound when no item has that id (already delivered or dropped).
  Status MarkDelivered(int64_t id);
  // After a failed attempt: attempts + 1, the error recorded, next attempt at
  // `next_attempt_millis`. NotFound for an unknown id.
  Status Reschedule(int64_t id, int64_t next_attempt_millis, const std::string& error);
  // Gives up on an item: removes it from the outbox and records it (receiver, dedup key,
  // payload, attempts, reason, time) in the dropped table, in one transaction. NotFound for an
  // unknown id.
  Status Drop(int64_t id, const std::string& reason, int64_t now_millis);
  // Dropped items, most recently dropped first, at most `limit`: last_error holds the reason and
  // next_attempt_millis the time of the drop.
  Result<std::vector<OutboxItem>> Dropped(size_t limit);

  const std::string& path() const;

 private:
  struct Impl;
  explicit AlertStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace statewatch::storage
