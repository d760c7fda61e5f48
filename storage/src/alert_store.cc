#include "statewatch/storage/alert_store.h"

#include <limits>
#include <mutex>
#include <set>

#include "sqlite_db.h"

namespace statewatch::storage {
namespace {

using internal::Statement;
using internal::Transaction;

Status Migrate(internal::Database& db, int from) {
  switch (from) {
    case 0:
      SW_RETURN_IF_ERROR(db.Exec(
          "CREATE TABLE alert_log(id INTEGER PRIMARY KEY, t INTEGER NOT NULL, alertname TEXT NOT "
          "NULL, labels TEXT NOT NULL, fingerprint TEXT NOT NULL, from_state TEXT NOT NULL, "
          "to_state TEXT NOT NULL, value REAL, annotations TEXT NOT NULL)"));
      SW_RETURN_IF_ERROR(db.Exec("CREATE INDEX alert_log_by_time ON alert_log(t, id)"));
      SW_RETURN_IF_ERROR(db.Exec(
          "CREATE TABLE active_alerts(fingerprint TEXT PRIMARY KEY, alertname TEXT NOT NULL, "
          "labels TEXT NOT NULL, state TEXT NOT NULL, active_at INTEGER NOT NULL, fired_at "
          "INTEGER NOT NULL, last_active INTEGER NOT NULL, value REAL, annotations TEXT NOT "
          "NULL)"));
      // AUTOINCREMENT: ids are never reused, so a sender holding the id of an item that has
      // since been delivered or dropped can never mark or reschedule a newer item by mistake.
      SW_RETURN_IF_ERROR(db.Exec(
          "CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL, "
          "dedup_key TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
          "created INTEGER NOT NULL, next_attempt INTEGER NOT NULL, last_error TEXT NOT NULL "
          "DEFAULT '', UNIQUE(receiver, dedup_key))"));
      SW_RETURN_IF_ERROR(db.Exec("CREATE INDEX outbox_by_next_attempt ON outbox(next_attempt)"));
      SW_RETURN_IF_ERROR(db.Exec(
          "CREATE TABLE outbox_dropped(seq INTEGER PRIMARY KEY, id INTEGER NOT NULL, receiver "
          "TEXT NOT NULL, dedup_key TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT "
          "NULL, created INTEGER NOT NULL, reason TEXT NOT NULL, t INTEGER NOT NULL)"));
      return db.Exec("CREATE INDEX outbox_dropped_by_time ON outbox_dropped(t, seq)");
    default:
      return Status::NotSupported("no migration from alert store schema version " +
                                  std::to_string(from));
  }
}

// SQLite's LIMIT is signed; a size_t beyond it means "no limit".
int64_t SqlLimit(size_t limit) {
  return limit > static_cast<size_t>(std::numeric_limits<int64_t>::max())
             ? std::numeric_limits<int64_t>::max()
             : static_cast<int64_t>(limit);
}

// The statements behind LogTransitions, ReplaceActiveAlerts and Enqueue, for a caller that holds
// the lock and has a transaction open (each public method alone, or CommitEvaluation's one
// transaction for all three).

Status InsertLogEntries(internal::Database& db, const std::vector<AlertLogEntry>& entries) {
  if (entries.empty()) return Status::OK();
  Statement q;
  SW_RETURN_IF_ERROR(db.Prepare(
      "INSERT INTO alert_log(t, alertname, labels, fingerprint, from_state, to_state, value, "
      "annotations) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      &q));
  for (const AlertLogEntry& e : entries) {
    auto guard = q.Use();
    q.BindInt64(1, e.t_millis);
    q.BindText(2, e.alertname);
    q.BindText(3, e.labels);
    q.BindText(4, e.fingerprint);
    q.BindText(5, e.from_state);
    q.BindText(6, e.to_state);
    q.BindDouble(7, e.value);
    q.BindText(8, e.annotations_json);
    if (q.Step() != SQLITE_DONE) return db.Error("logging a transition of " + e.alertname);
  }
  return Status::OK();
}

Status CheckFingerprintsUnique(const std::vector<ActiveAlertRecord>& alerts) {
  std::set<std::string_view> fingerprints;
  for (const ActiveAlertRecord& a : alerts) {
    if (!fingerprints.insert(a.fingerprint).second) {
      return Status::InvalidArgument("active alerts: fingerprint " + a.fingerprint +
                                     " appears twice (" + a.alertname + a.labels + ")");
    }
  }
  return Status::OK();
}

Status WriteActiveAlerts(internal::Database& db, const std::vector<ActiveAlertRecord>& alerts) {
  SW_RETURN_IF_ERROR(db.Exec("DELETE FROM active_alerts"));
  Statement q;
  SW_RETURN_IF_ERROR(db.Prepare(
      "INSERT INTO active_alerts(fingerprint, alertname, labels, state, active_at, fired_at, "
      "last_active, value, annotations) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
      &q));
  for (const ActiveAlertRecord& a : alerts) {
    q.Reset();
    q.BindText(1, a.fingerprint);
    q.BindText(2, a.alertname);
    q.BindText(3, a.labels);
    q.BindText(4, a.state);
    q.BindInt64(5, a.active_at_millis);
    q.BindInt64(6, a.fired_at_millis);
    q.BindInt64(7, a.last_active_millis);
    q.BindDouble(8, a.value);
    q.BindText(9, a.annotations_json);
    if (q.Step() != SQLITE_DONE) return db.Error("storing active alert " + a.fingerprint);
  }
  q.Reset();
  return Status::OK();
}

// Idempotent per (receiver, dedup_key) while queued: returns the existing item's id then.
Result<int64_t> InsertOutboxItem(internal::Database& db, const QueuedNotification& n,
                                 int64_t now_millis) {
  Statement insert;
  SW_RETURN_IF_ERROR(
      db.Prepare("INSERT INTO outbox(receiver, dedup_key, payload, created, next_attempt) "
                 "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(receiver, dedup_key) DO NOTHING",
                 &insert));
  insert.BindText(1, n.receiver);
  insert.BindText(2, n.dedup_key);
  insert.BindText(3, n.payload);
  insert.BindInt64(4, now_millis);
  if (insert.Step() != SQLITE_DONE) return db.Error("queueing for " + n.receiver);
  if (db.Changes() > 0) return db.LastInsertRowid();
  // Already queued: hand back the existing item, change nothing.
  Statement find;
  SW_RETURN_IF_ERROR(
      db.Prepare("SELECT id FROM outbox WHERE receiver = ?1 AND dedup_key = ?2", &find));
  find.BindText(1, n.receiver);
  find.BindText(2, n.dedup_key);
  if (find.Step() != SQLITE_ROW) return db.Error("finding the queued item for " + n.dedup_key);
  const int64_t id = find.ColumnInt64(0);
  find.Reset();
  return id;
}

}  // namespace

struct AlertStore::Impl {
  std::unique_ptr<internal::Database> db;
  std::mutex mu;  // serializes all use of `db`

  // Runs a one-row write (UPDATE/DELETE by id); NotFound when it touched no row.
  Status WriteById(const char* sql, const char* what, int64_t id,
                   const std::function<void(Statement&)>& bind) {
    Statement q;
    SW_RETURN_IF_ERROR(db->Prepare(sql, &q));
    bind(q);
    if (q.Step() != SQLITE_DONE)
      return db->Error(std::string(what) + " outbox item " + std::to_string(id));
    if (db->Changes() == 0) {
      return Status::NotFound("alert store " + db->path() + ": no outbox item " +
                              std::to_string(id));
    }
    return Status::OK();
  }
};

AlertStore::AlertStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AlertStore::~AlertStore() = default;
const std::string& AlertStore::path() const {
  return impl_->db->path();
}

Result<std::unique_ptr<AlertStore>> AlertStore::Open(const std::string& path) {
  internal::StoreKind kind;
  kind.name = "alert store";
  kind.application_id = 0x5357414C;  // 'SWAL'
  kind.version = kSchemaVersion;
  kind.unmarked_max_version = 0;
  kind.synchronous = "FULL";  // see the header: a lost outbox row is a lost alert
  kind.migrate = Migrate;
  Result<std::unique_ptr<internal::Database>> db = internal::Database::Open(path, kind);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  return std::unique_ptr<AlertStore>(new AlertStore(std::move(impl)));
}

Status AlertStore::LogTransitions(const std::vector<AlertLogEntry>& entries) {
  if (entries.empty()) return Status::OK();
  std::lock_guard<std::mutex> lock(impl_->mu);
  // One transaction for the whole evaluation: a commit (an fsync) per transition made a cycle
  // with 2 000 new alerts take half a second.
  Transaction txn(impl_->db.get());
  SW_RETURN_IF_ERROR(txn.status());
  SW_RETURN_IF_ERROR(InsertLogEntries(*impl_->db, entries));
  return txn.Commit();
}

Result<std::vector<AlertLogEntry>> AlertStore::Transitions(int64_t since_millis, size_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare(
      "SELECT t, alertname, labels, fingerprint, from_state, to_state, value, annotations "
      "FROM alert_log WHERE t >= ?1 ORDER BY t DESC, id DESC LIMIT ?2",
      &q));
  q.BindInt64(1, since_millis);
  q.BindInt64(2, SqlLimit(limit));
  std::vector<AlertLogEntry> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    AlertLogEntry e;
    e.t_millis = q.ColumnInt64(0);
    e.alertname = q.ColumnText(1);
    e.labels = q.ColumnText(2);
    e.fingerprint = q.ColumnText(3);
    e.from_state = q.ColumnText(4);
    e.to_state = q.ColumnText(5);
    e.value = q.ColumnDouble(6);
    e.annotations_json = q.ColumnText(7);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return impl_->db->Error("reading the alert log");
  return out;
}

Status AlertStore::PruneLog(int64_t before_millis) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Transaction txn(impl_->db.get());
  SW_RETURN_IF_ERROR(txn.status());
  for (const char* sql :
       {"DELETE FROM alert_log WHERE t < ?1", "DELETE FROM outbox_dropped WHERE t < ?1"}) {
    Statement q;
    SW_RETURN_IF_ERROR(impl_->db->Prepare(sql, &q));
    q.BindInt64(1, before_millis);
    if (q.Step() != SQLITE_DONE) return impl_->db->Error("pruning the alert log");
  }
  return txn.Commit();
}

Status AlertStore::ReplaceActiveAlerts(const std::vector<ActiveAlertRecord>& alerts) {
  SW_RETURN_IF_ERROR(CheckFingerprintsUnique(alerts));
  std::lock_guard<std::mutex> lock(impl_->mu);
  Transaction txn(impl_->db.get());
  SW_RETURN_IF_ERROR(txn.status());
  SW_RETURN_IF_ERROR(WriteActiveAlerts(*impl_->db, alerts));
  return txn.Commit();
}

Result<std::vector<ActiveAlertRecord>> AlertStore::ActiveAlerts() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare(
      "SELECT fingerprint, alertname, labels, state, active_at, fired_at, last_active, value, "
      "annotations FROM active_alerts ORDER BY alertname, labels, fingerprint",
      &q));
  std::vector<ActiveAlertRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    ActiveAlertRecord a;
    a.fingerprint = q.ColumnText(0);
    a.alertname = q.ColumnText(1);
    a.labels = q.ColumnText(2);
    a.state = q.ColumnText(3);
    a.active_at_millis = q.ColumnInt64(4);
    a.fired_at_millis = q.ColumnInt64(5);
    a.last_active_millis = q.ColumnInt64(6);
    a.value = q.ColumnDouble(7);
    a.annotations_json = q.ColumnText(8);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return impl_->db->Error("reading active alerts");
  return out;
}

Result<int64_t> AlertStore::Enqueue(const std::string& receiver, const std::string& dedup_key,
                                    const std::string& payload, int64_t now_millis) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Transaction txn(impl_->db.get());
  SW_RETURN_IF_ERROR(txn.status());
  Result<int64_t> id = InsertOutboxItem(*impl_->db, {receiver, dedup_key, payload}, now_millis);
  if (!id.ok()) return id.status();
  SW_RETURN_IF_ERROR(txn.Commit());
  return id;
}

Status AlertStore::CommitEvaluation(const std::vector<QueuedNotification>& notifications,
                                    const std::vector<AlertLogEntry>& log,
                                    const std::vector<ActiveAlertRecord>& active,
                                    int64_t now_millis) {
  SW_RETURN_IF_ERROR(CheckFingerprintsUnique(active));
  std::lock_guard<std::mutex> lock(impl_->mu);
  Transaction txn(impl_->db.get());
  SW_RETURN_IF_ERROR(txn.status());
  for (const QueuedNotification& n : notifications) {
    Result<int64_t> id = InsertOutboxItem(*impl_->db, n, now_millis);
    if (!id.ok()) return id.status();
  }
  SW_RETURN_IF_ERROR(InsertLogEntries(*impl_->db, log));
  SW_RETURN_IF_ERROR(WriteActiveAlerts(*impl_->db, active));
  return txn.Commit();
}

namespace {

// Rows of (id, receiver, dedup_key, payload, attempts, created, next_attempt-or-t,
// last_error-or-reason) as OutboxItems.
Result<std::vector<OutboxItem>> ReadOutboxItems(internal::Database& db, Statement& q,
                                                const char* what) {
  std::vector<OutboxItem> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    OutboxItem item;
    item.id = q.ColumnInt64(0);
    item.receiver = q.ColumnText(1);
    item.dedup_key = q.ColumnText(2);
    item.payload = q.ColumnText(3);
    item.attempts = static_cast<int>(q.ColumnInt64(4));
    item.created_millis = q.ColumnInt64(5);
    item.next_attempt_millis = q.ColumnInt64(6);
    item.last_error = q.ColumnText(7);
    out.push_back(std::move(item));
  }
  if (rc != SQLITE_DONE) return db.Error(what);
  return out;
}

}  // namespace

Result<std::vector<OutboxItem>> AlertStore::Due(int64_t now_millis, size_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare(
      "SELECT id, receiver, dedup_key, payload, attempts, created, next_attempt, last_error "
      "FROM outbox WHERE next_attempt <= ?1 ORDER BY id LIMIT ?2",
      &q));
  q.BindInt64(1, now_millis);
  q.BindInt64(2, SqlLimit(limit));
  return ReadOutboxItems(*impl_->db, q, "reading due outbox items");
}

Result<size_t> AlertStore::QueuedCount() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Result<int64_t> n = impl_->db->QueryInt64("SELECT count(*) FROM outbox");
  if (!n.ok()) return n.status();
  return static_cast<size_t>(*n);
}

Result<std::optional<int64_t>> AlertStore::NextAttemptMillis() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare("SELECT min(next_attempt) FROM outbox", &q));
  if (q.Step() != SQLITE_ROW) return impl_->db->Error("reading the next attempt time");
  if (q.ColumnIsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(q.ColumnInt64(0));
}

Status AlertStore::MarkDelivered(int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->WriteById("DELETE FROM outbox WHERE id = ?1", "removing delivered", id,
                          [id](Statement& q) { q.BindInt64(1, id); });
}

Status AlertStore::Reschedule(int64_t id, int64_t next_attempt_millis, const std::string& error) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->WriteById(
      "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?2, last_error = ?3 "
      "WHERE id = ?1",
      "rescheduling", id, [&](Statement& q) {
        q.BindInt64(1, id);
        q.BindInt64(2, next_attempt_millis);
        q.BindText(3, error);
      });
}

Status AlertStore::Drop(int64_t id, const std::string& reason, int64_t now_millis) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Transaction txn(impl_->db.get());
  SW_RETURN_IF_ERROR(txn.status());
  SW_RETURN_IF_ERROR(impl_->WriteById(
      "INSERT INTO outbox_dropped(id, receiver, dedup_key, payload, attempts, created, reason, t) "
      "SELECT id, receiver, dedup_key, payload, attempts, created, ?2, ?3 FROM outbox "
      "WHERE id = ?1",
      "recording dropped", id, [&](Statement& q) {
        q.BindInt64(1, id);
        q.BindText(2, reason);
        q.BindInt64(3, now_millis);
      }));
  SW_RETURN_IF_ERROR(impl_->WriteById("DELETE FROM outbox WHERE id = ?1", "dropping", id,
                                      [id](Statement& q) { q.BindInt64(1, id); }));
  return txn.Commit();
}

Result<std::vector<OutboxItem>> AlertStore::Dropped(size_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare(
      "SELECT id, receiver, dedup_key, payload, attempts, created, t, reason FROM outbox_dropped "
      "ORDER BY t DESC, seq DESC LIMIT ?1",
      &q));
  q.BindInt64(1, SqlLimit(limit));
  return ReadOutboxItems(*impl_->db, q, "reading dropped outbox items");
}

}  // namespace statewatch::storage
