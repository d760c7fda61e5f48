// Internal SQLite plumbing shared by SampleStore and AlertStore: a connection that knows which
// file it is and what kind of statewatch store it holds, prepared statements that reset
// themselves, transactions that roll back unless committed, and one Open() that applies the same
// refusal rules to every store. Never included from a public header (STYLE.md: no SQLite types in
// public headers).
//
// Thread-safety: none. Each store serializes its use of one Database with its own mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "statewatch/state/status.h"

namespace statewatch::storage::internal {

class Database;

// A prepared statement, finalized on destruction. Bind*, Step and Column* are thin wrappers;
// NaN is bound as NULL and a NULL real reads back as NaN (SQLite has no NaN).
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt* get() const { return stmt_; }
  sqlite3_stmt** out() { return &stmt_; }

  // Resets the statement and clears its bindings. Call before each use of a cached statement and
  // after it (see Use()): a statement left mid-result keeps a read transaction open.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  // Resets now and again when the returned guard goes out of scope.
  class [[nodiscard]] ResetGuard {
   public:
    explicit ResetGuard(Statement* s) : s_(s) { s_->Reset(); }
    ~ResetGuard() { s_->Reset(); }
    ResetGuard(const ResetGuard&) = delete;
    ResetGuard& operator=(const ResetGuard&) = delete;

   private:
    Statement* s_;
  };
  ResetGuard Use() { return ResetGuard(this); }

  void BindInt64(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindDouble(int i, double v);
  // The text must outlive the step that uses it (bound without a copy).
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  int Step() { return sqlite3_step(stmt_); }

  int64_t ColumnInt64(int i) const { return sqlite3_column_int64(stmt_, i); }
  bool ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  double ColumnDouble(int i) const;
  std::string ColumnText(int i) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// What a store is, for Open(): how to recognise its files and how to bring one up to date.
struct StoreKind {
  // For messages: "sample store", "alert store".
  const char* name = "";
  // Written to the SQLite header (PRAGMA application_id) so that one store's file is never
  // mistaken for another's, or for some other program's database.
  int32_t application_id = 0;
  // The schema version this build writes.
  int version = 0;
  // Files written before application ids were set carry id 0; they are accepted up to this
  // schema version (SampleStore v1). 0: every existing file must carry the id.
  int unmarked_max_version = 0;
  // journal mode is always WAL; the synchronous level is the store's choice.
  const char* synchronous = "NORMAL";
  // WAL pages after which a commit checkpoints (0: SQLite's default, 1000). Larger values let
  // one checkpoint write a page that several commits changed only once.
  int wal_autocheckpoint_pages = 0;
  // Upgrades the schema from `from` to `from + 1` (from 0: creates it) inside the open
  // transaction. Open() then records the version and the application id.
  std::function<Status(Database& db, int from)> migrate;
};

class Database {
 public:
  // Opens or creates `path` as a store of `kind`:
  //  - IOError naming the path when the file cannot be opened (e.g. its directory is missing);
  //  - Corruption naming the path when it is not an SQLite file, or is one but not of this kind
  //    (another store's file, another program's tables);
  //  - FailedPrecondition for a schema version newer than kind.version.
  // All checks run before anything is written, the journal mode included; only then is the file
  // switched to WAL and created or migrated, in one transaction.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const StoreKind& kind);
  // A second, read-only connection to this store's file, for a long read (a sort) that should
  // not hold up this connection's writers: WAL lets it read one snapshot while they commit.
  // No checks or migration (this connection did them). IOError naming the path on failure.
  Result<std::unique_ptr<Database>> OpenReader() const;
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* raw() const { return db_; }

  // A Status for the last failed call on this connection, naming the store, the path and `what`
  // was being done: Corruption for SQLITE_NOTADB/CORRUPT, ResourceExhausted for SQLITE_FULL,
  // IOError otherwise.
  Status Error(const std::string& what) const;
  Status Exec(const char* sql);
  Status Prepare(const char* sql, Statement* stmt) const;
  // The first column of the first row of `sql` (a pragma or an aggregate).
  Result<int64_t> QueryInt64(const char* sql) const;
  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  Database(std::string path, std::string kind_name)
      : path_(std::move(path)), kind_name_(std::move(kind_name)) {}
  // sqlite3_open_v2 of path_ with `flags`, extended result codes and a busy timeout; IOError
  // naming the store, the path and `what` on failure.
  Status Connect(int flags, const char* what);
  Status CheckAndMigrate(const StoreKind& kind);
  Result<int> ReadVersion() const;

  std::string path_;
  std::string kind_name_;
  sqlite3* db_ = nullptr;
};

// A write transaction is BEGIN IMMEDIATE: it takes the write lock up front, so it never fails
// half-way with SQLITE_BUSY on lock upgrade. A read transaction (BEGIN DEFERRED) pins one
// snapshot for several statements. Rolled back on destruction unless committed.
class Transaction {
 public:
  enum class Mode { kWrite, kRead };
  explicit Transaction(Database* db, Mode mode = Mode::kWrite);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Whether BEGIN succeeded; the error when it did not.
  const Status& status() const { return begin_; }
  // COMMIT; on failure the transaction is rolled back (if SQLite has not done so already).
  Status Commit();

 private:
  Database* db_;
  Status begin_;
  bool open_ = false;
};

// Floor division (rounds toward -inf) for bucketing times that may be negative.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace statewatch::storage::internal
