#include "statewatch/storage/sample_store.h"

#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "statewatch/storage/labels_text.h"

namespace statewatch::storage {
namespace {

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt** out() { return &stmt_; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

struct SampleStore::Impl {
  std::string path;
  sqlite3* db = nullptr;
  std::mutex mu;  // serializes all use of `db`

  ~Impl() { sqlite3_close_v2(db); }

  Status Error(const std::string& what) const {
    const int code = db ? sqlite3_errcode(db) : SQLITE_CANTOPEN;
    const std::string msg =
        "sample store " + path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) return Status::Corruption(msg);
    if (code == SQLITE_FULL) return Status::ResourceExhausted(msg);
    return Status::IOError(msg);
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      sqlite3_free(err);
      return Error(std::string("executing \"") + sql + "\"");
    }
    return Status::OK();
  }

  Status Prepare(const char* sql, Statement* stmt) {
    if (sqlite3_prepare_v2(db, sql, -1, stmt->out(), nullptr) != SQLITE_OK) {
      return Error(std::string("preparing \"") + sql + "\"");
    }
    return Status::OK();
  }

  // The stored schema version; 0 for a new (empty) database.
  Result<int> ReadVersion() {
    Statement exists;
    SW_RETURN_IF_ERROR(Prepare(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        &exists));
    if (sqlite3_step(exists.get()) != SQLITE_ROW) return Error("reading the schema");
    if (sqlite3_column_int(exists.get(), 0) == 0) return 0;
    Statement read;
    SW_RETURN_IF_ERROR(Prepare("SELECT max(version) FROM schema_version", &read));
    if (sqlite3_step(read.get()) != SQLITE_ROW) return Error("reading the schema version");
    return sqlite3_column_type(read.get(), 0) == SQLITE_NULL ? 0
                                                             : sqlite3_column_int(read.get(), 0);
  }

  // Checks the version before changing anything (journal mode included), then creates or
  // upgrades the schema in one transaction.
  Status Migrate() {
    Result<int> version = ReadVersion();
    if (!version.ok()) return version.status();
    if (*version > kSchemaVersion) {
      return Status::FailedPrecondition("sample store " + path + " has schema version " +
                                        std::to_string(*version) +
                                        ", newer than this statewatch supports (" +
                                        std::to_string(kSchemaVersion) + "); refusing to touch it");
    }
    SW_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    SW_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
    SW_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
    if (*version == kSchemaVersion) return Status::OK();
    SW_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = CreateSchemaV1();
    SW_RETURN_IF_ERROR(Exec(s.ok() ? "COMMIT" : "ROLLBACK"));
    return s;
  }

  Status CreateSchemaV1() {
    SW_RETURN_IF_ERROR(Exec("CREATE TABLE schema_version(version INTEGER NOT NULL)"));
    SW_RETURN_IF_ERROR(
        Exec("CREATE TABLE series(id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL,"
             " UNIQUE(name, labels))"));
    SW_RETURN_IF_ERROR(
        Exec("CREATE TABLE samples(series_id INTEGER NOT NULL REFERENCES series(id), t INTEGER NOT "
             "NULL, value REAL, PRIMARY KEY(series_id, t)) WITHOUT ROWID"));
    return Exec("INSERT INTO schema_version(version) VALUES (1)");
  }

  // The id of a series, created when new.
  Result<int64_t> SeriesId(const std::string& name, const std::string& labels, bool create) {
    Statement find;
    SW_RETURN_IF_ERROR(Prepare("SELECT id FROM series WHERE name = ?1 AND labels = ?2", &find));
    sqlite3_bind_text(find.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    sqlite3_bind_text(find.get(), 2, labels.data(), static_cast<int>(labels.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(find.get());
    if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(find.get(), 0));
    if (rc != SQLITE_DONE) return Error("looking up series " + name + labels);
    if (!create) return Status::NotFound("");
    Statement insert;
    SW_RETURN_IF_ERROR(Prepare("INSERT INTO series(name, labels) VALUES (?1, ?2)", &insert));
    sqlite3_bind_text(insert.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert.get(), 2, labels.data(), static_cast<int>(labels.size()),
                      SQLITE_STATIC);
    if (sqlite3_step(insert.get()) != SQLITE_DONE) return Error("adding series " + name + labels);
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
  }
};

SampleStore::SampleStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SampleStore::~SampleStore() = default;
const std::string& SampleStore::path() const {
  return impl_->path;
}

Result<std::unique_ptr<SampleStore>> SampleStore::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const int rc =
      sqlite3_open_v2(path.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return impl->Error("opening");
  sqlite3_busy_timeout(impl->db, 5000);
  SW_RETURN_IF_ERROR(impl->Migrate());
  return std::unique_ptr<SampleStore>(new SampleStore(std::move(impl)));
}

Status SampleStore::Append(const std::vector<rules::Sample>& samples) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SW_RETURN_IF_ERROR(impl_->Exec("BEGIN IMMEDIATE"));
  auto write_all = [&]() -> Status {
    Statement insert;
    SW_RETURN_IF_ERROR(impl_->Prepare(
        "INSERT OR REPLACE INTO samples(series_id, t, value) VALUES (?1, ?2, ?3)", &insert));
    std::string last_key;
    int64_t last_id = -1;
    for (const rules::Sample& s : samples) {
      const std::string labels = LabelsToText(s.labels);
      const std::string key = s.series + labels;
      if (key != last_key) {  // batches usually repeat a series: skip the lookup then
        Result<int64_t> id = impl_->SeriesId(s.series, labels, /*create=*/true);
        if (!id.ok()) return id.status();
        last_id = *id;
        last_key = key;
      }
      sqlite3_reset(insert.get());
      sqlite3_bind_int64(insert.get(), 1, last_id);
      sqlite3_bind_int64(insert.get(), 2, s.t_millis);
      if (std::isnan(s.value)) {
        sqlite3_bind_null(insert.get(), 3);
      } else {
        sqlite3_bind_double(insert.get(), 3, s.value);
      }
      if (sqlite3_step(insert.get()) != SQLITE_DONE) return impl_->Error("appending samples");
    }
    return Status::OK();
  };
  Status s = write_all();
  Status end = impl_->Exec(s.ok() ? "COMMIT" : "ROLLBACK");
  return s.ok() ? end : s;
}

Result<std::vector<rules::Point>> SampleStore::Query(const std::string& series,
                                                     const rules::Labels& labels,
                                                     int64_t from_millis, int64_t to_millis) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<rules::Point> points;
  Result<int64_t> id = impl_->SeriesId(series, LabelsToText(labels), /*create=*/false);
  if (!id.ok()) {
    if (id.status().IsNotFound()) return points;
    return id.status();
  }
  Statement q;
  SW_RETURN_IF_ERROR(impl_->Prepare(
      "SELECT t, value FROM samples WHERE series_id = ?1 AND t BETWEEN ?2 AND ?3 ORDER BY t", &q));
  sqlite3_bind_int64(q.get(), 1, *id);
  sqlite3_bind_int64(q.get(), 2, from_millis);
  sqlite3_bind_int64(q.get(), 3, to_millis);
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    const double v = sqlite3_column_type(q.get(), 1) == SQLITE_NULL
                         ? std::numeric_limits<double>::quiet_NaN()
                         : sqlite3_column_double(q.get(), 1);
    points.push_back({static_cast<int64_t>(sqlite3_column_int64(q.get(), 0)), v});
  }
  if (rc != SQLITE_DONE) return impl_->Error("querying " + series);
  return points;
}

Result<std::vector<SeriesInfo>> SampleStore::ListSeries() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->Prepare(
      "SELECT s.name, s.labels, count(p.t), min(p.t), max(p.t) FROM series s "
      "LEFT JOIN samples p ON p.series_id = s.id GROUP BY s.id ORDER BY s.name, s.labels",
      &q));
  std::vector<SeriesInfo> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    SeriesInfo info;
    info.name = reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 0));
    Result<rules::Labels> labels =
        LabelsFromText(reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 1)));
    if (!labels.ok()) {
      return Status::Corruption("sample store " + impl_->path + ": series " + info.name + ": " +
                                labels.status().message());
    }
    info.labels = std::move(*labels);
    info.samples = sqlite3_column_int64(q.get(), 2);
    info.first_millis = sqlite3_column_int64(q.get(), 3);
    info.last_millis = sqlite3_column_int64(q.get(), 4);
    out.push_back(std::move(info));
  }
  if (rc != SQLITE_DONE) return impl_->Error("listing series");
  return out;
}

}  // namespace statewatch::storage
