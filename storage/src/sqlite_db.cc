#include "sqlite_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace statewatch::storage::internal {
namespace {
constexpr mode_t kFileMode = 0640;
}  // namespace

void Statement::BindDouble(int i, double v) {
  if (std::isnan(v)) {
    sqlite3_bind_null(stmt_, i);
  } else {
    sqlite3_bind_double(stmt_, i, v);
  }
}

double Statement::ColumnDouble(int i) const {
  return ColumnIsNull(i) ? std::numeric_limits<double>::quiet_NaN()
                         : sqlite3_column_double(stmt_, i);
}

std::string Statement::ColumnText(int i) const {
  const unsigned char* text = sqlite3_column_text(stmt_, i);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, i)));
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

Status Database::Error(const std::string& what) const {
  const int code = db_ ? sqlite3_extended_errcode(db_) & 0xff : SQLITE_CANTOPEN;
  const std::string msg =
      kind_name_ + " " + path_ + ": " + what + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open");
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) return Status::Corruption(msg);
  if (code == SQLITE_FULL) return Status::ResourceExhausted(msg);
  return Status::IOError(msg);
}

Status Database::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error(std::string("executing \"") + sql + "\"");
  }
  return Status::OK();
}

Status Database::Prepare(const char* sql, Statement* stmt) const {
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt->out(), nullptr) !=
      SQLITE_OK) {
    return Error(std::string("preparing \"") + sql + "\"");
  }
  return Status::OK();
}

Result<int64_t> Database::QueryInt64(const char* sql) const {
  Statement q;
  SW_RETURN_IF_ERROR(Prepare(sql, &q));
  if (q.Step() != SQLITE_ROW) return Error(std::string("reading \"") + sql + "\"");
  return q.ColumnInt64(0);
}

Result<int> Database::ReadVersion() const {
  Result<int64_t> exists = QueryInt64(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!exists.ok()) return exists.status();
  if (*exists == 0) return 0;
  Result<int64_t> version = QueryInt64("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version.ok()) return version.status();
  return static_cast<int>(*version);
}

Status Database::CheckAndMigrate(const StoreKind& kind) {
  // The first read of the file: an SQLite header check happens here, so a file that is not a
  // database fails with SQLITE_NOTADB → Corruption naming the path.
  Result<int64_t> app_id = QueryInt64("PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  Result<int> version = ReadVersion();
  if (!version.ok()) return version.status();
  const std::string where = kind_name_ + " " + path_;
  if (*app_id != 0 && *app_id != kind.application_id) {
    char id[16];
    std::snprintf(id, sizeof id, "0x%08x", static_cast<unsigned>(*app_id));
    return Status::Corruption(where + ": not a statewatch " + kind.name + " (application_id " + id +
                              "); refusing to touch it");
  }
  if (*version > kind.version) {
    return Status::FailedPrecondition(where + " has schema version " + std::to_string(*version) +
                                      ", newer than this statewatch supports (" +
                                      std::to_string(kind.version) + "); refusing to touch it");
  }
  if (*app_id == 0) {
    if (*version > kind.unmarked_max_version) {
      return Status::Corruption(where + ": schema version " + std::to_string(*version) +
                                " without the statewatch " + kind.name +
                                " application id; refusing to touch it");
    }
    if (*version == 0) {
      // A new file has no tables. One with tables but no schema_version is someone else's.
      Result<int64_t> tables = QueryInt64("SELECT count(*) FROM sqlite_master");
      if (!tables.ok()) return tables.status();
      if (*tables != 0) {
        return Status::Corruption(where + ": an SQLite database without a statewatch schema; " +
                                  "refusing to touch it");
      }
    }
  }

  // Checks done: from here on the file is ours to change.
  {
    Statement mode;
    SW_RETURN_IF_ERROR(Prepare("PRAGMA journal_mode=WAL", &mode));
    if (mode.Step() != SQLITE_ROW) return Error("switching to WAL");
    if (mode.ColumnText(0) != "wal") {
      return Status::IOError(where + ": cannot use WAL journal mode (got " + mode.ColumnText(0) +
                             ")");
    }
  }  // finalized: a statement in progress would block the COMMIT below
  SW_RETURN_IF_ERROR(Exec((std::string("PRAGMA synchronous=") + kind.synchronous).c_str()));
  SW_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
  if (kind.wal_autocheckpoint_pages > 0) {
    SW_RETURN_IF_ERROR(Exec(
        ("PRAGMA wal_autocheckpoint=" + std::to_string(kind.wal_autocheckpoint_pages)).c_str()));
    // After a checkpoint the WAL is reused from the start but keeps its size; cap what stays.
    SW_RETURN_IF_ERROR(Exec(("PRAGMA journal_size_limit=" +
                             std::to_string(int64_t{2} * kind.wal_autocheckpoint_pages * 4096))
                                .c_str()));
  }
  if (*version == kind.version && *app_id == kind.application_id) return Status::OK();

  Transaction txn(this);
  SW_RETURN_IF_ERROR(txn.status());
  for (int from = *version; from < kind.version; ++from) {
    SW_RETURN_IF_ERROR(kind.migrate(*this, from));
  }
  if (*version == 0) {
    SW_RETURN_IF_ERROR(Exec("CREATE TABLE schema_version(version INTEGER NOT NULL)"));
  }
  SW_RETURN_IF_ERROR(Exec("DELETE FROM schema_version"));
  SW_RETURN_IF_ERROR(
      Exec(("INSERT INTO schema_version(version) VALUES (" + std::to_string(kind.version) + ")")
               .c_str()));
  SW_RETURN_IF_ERROR(
      Exec(("PRAGMA application_id=" + std::to_string(kind.application_id)).c_str()));
  return txn.Commit();
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const StoreKind& kind) {
  std::unique_ptr<Database> db(new Database(path, kind.name));
  // The history and the outbox (alert texts, receiver names) are nobody else's business:
  // create the file 0640 ourselves, whatever the umask, before SQLite would make it 0644.
  // SQLite gives its -wal and -shm files the database file's mode.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    return Status::IOError(kind.name + std::string(" ") + path +
                           ": creating: " + std::strerror(errno));
  }
  struct stat st {};
  const bool fresh = ::fstat(fd, &st) == 0 && st.st_size == 0;
  // A file we just created (or an empty one) gets exactly 0640; an existing database keeps the
  // mode its owner chose.
  if (fresh) (void)::fchmod(fd, kFileMode);
  ::close(fd);
  SW_RETURN_IF_ERROR(
      db->Connect(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, "opening"));
  SW_RETURN_IF_ERROR(db->CheckAndMigrate(kind));
  return db;
}

Result<std::unique_ptr<Database>> Database::OpenReader() const {
  std::unique_ptr<Database> reader(new Database(path_, kind_name_));
  SW_RETURN_IF_ERROR(
      reader->Connect(SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, "opening a reader"));
  return reader;
}

Status Database::Connect(int flags, const char* what) {
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    return Status::IOError(kind_name_ + " " + path_ + ": " + what + ": " +
                           (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db_, 1);
  // Another connection (a backup, sqlite3 on the command line) may hold the lock briefly.
  sqlite3_busy_timeout(db_, 5000);
  return Status::OK();
}

Transaction::Transaction(Database* db, Mode mode) : db_(db) {
  begin_ = db_->Exec(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  open_ = begin_.ok();
}

Transaction::~Transaction() {
  if (open_ && !sqlite3_get_autocommit(db_->raw())) {
    sqlite3_exec(db_->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::Commit() {
  Status s = db_->Exec("COMMIT");
  if (s.ok()) open_ = false;
  // On failure the destructor rolls back whatever SQLite left open.
  return s;
}

}  // namespace statewatch::storage::internal
