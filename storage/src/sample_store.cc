#include "statewatch/storage/sample_store.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "sqlite_db.h"
#include "statewatch/storage/labels_text.h"

namespace statewatch::storage {
namespace {

using internal::Statement;
using internal::Transaction;

// Rows one retention transaction may touch (scan or delete). A few milliseconds of work: long
// enough to amortise the commit, short enough that Append never waits noticeably behind it.
constexpr int64_t kRetentionChunkRows = 4096;

constexpr char kMetaDownsampledUntil[] = "downsampled_until";
constexpr char kMetaDownsampleResolution[] = "downsample_resolution_ms";

Status Migrate(internal::Database& db, int from) {
  switch (from) {
    case 0:  // v1, as the first release wrote it (schema_version is the Database's own)
      SW_RETURN_IF_ERROR(db.Exec(
          "CREATE TABLE series(id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL,"
          " UNIQUE(name, labels))"));
      return db.Exec(
          "CREATE TABLE samples(series_id INTEGER NOT NULL REFERENCES series(id), t INTEGER NOT "
          "NULL, value REAL, PRIMARY KEY(series_id, t)) WITHOUT ROWID");
    case 1:  // v2: retention bookkeeping
      return db.Exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    default:
      return Status::NotSupported("no migration from sample store schema version " +
                                  std::to_string(from));
  }
}

// The cache key of a series: name, NUL, labels text. The NUL keeps (name, labels) pairs apart
// whatever characters either contains.
void SeriesKey(const std::string& name, const rules::Labels& labels, std::string* key) {
  key->assign(name);
  key->push_back('\0');
  AppendLabelsText(labels, key);
}
std::string_view KeyName(const std::string& key) {
  return std::string_view(key).substr(0, key.find('\0'));
}
std::string_view KeyLabels(const std::string& key) {
  return std::string_view(key).substr(key.find('\0') + 1);
}

}  // namespace

struct SampleStore::Impl {
  std::unique_ptr<internal::Database> db;
  std::mutex mu;            // serializes all use of `db`, the statements and the cache below
  std::mutex retention_mu;  // one ApplyRetention at a time (it releases `mu` between chunks)

  // Prepared once at Open. GUARDED_BY(mu).
  Statement insert_sample;
  Statement find_series;
  Statement insert_series;
  Statement range;
  Statement delete_old;
  Statement thin_scan;
  Statement delete_sample;
  Statement delete_series_if_empty;

  // Series key → id, for series whose row is committed. Ids created by a transaction enter it
  // only after the commit: a rolled-back row's id is reused by the next series created, and a
  // stale entry would file samples under the wrong series. GUARDED_BY(mu).
  std::unordered_map<std::string, int64_t> series_ids;
  std::string key_buf;  // reused per sample; GUARDED_BY(mu)

  struct Row {
    int64_t series_id;
    int64_t t;
    size_t index;  // into the batch
  };
  std::vector<Row> rows;  // reused per batch; GUARDED_BY(mu)

  Status Prepare() {
    SW_RETURN_IF_ERROR(db->Prepare(
        "INSERT OR REPLACE INTO samples(series_id, t, value) VALUES (?1, ?2, ?3)", &insert_sample));
    SW_RETURN_IF_ERROR(
        db->Prepare("SELECT id FROM series WHERE name = ?1 AND labels = ?2", &find_series));
    SW_RETURN_IF_ERROR(
        db->Prepare("INSERT INTO series(name, labels) VALUES (?1, ?2)", &insert_series));
    SW_RETURN_IF_ERROR(db->Prepare(
        "SELECT t, value FROM samples WHERE series_id = ?1 AND t BETWEEN ?2 AND ?3 ORDER BY t",
        &range));
    // DELETE … LIMIT needs a compile-time option Debian's SQLite lacks; the subquery bounds it.
    SW_RETURN_IF_ERROR(db->Prepare(
        "DELETE FROM samples WHERE series_id = ?1 AND t IN (SELECT t FROM samples WHERE "
        "series_id = ?1 AND t < ?2 ORDER BY t LIMIT ?3)",
        &delete_old));
    SW_RETURN_IF_ERROR(db->Prepare(
        "SELECT t FROM samples WHERE series_id = ?1 AND t >= ?2 AND t < ?3 ORDER BY t LIMIT ?4",
        &thin_scan));
    SW_RETURN_IF_ERROR(
        db->Prepare("DELETE FROM samples WHERE series_id = ?1 AND t = ?2", &delete_sample));
    return db->Prepare(
        "DELETE FROM series WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM samples WHERE series_id "
        "= ?1)",
        &delete_series_if_empty);
  }

  // The id of the series whose key is `key`, or nullopt when it has no row.
  Result<std::optional<int64_t>> FindSeries(const std::string& key) {
    auto guard = find_series.Use();
    const std::string_view name = KeyName(key);
    const std::string_view labels = KeyLabels(key);
    find_series.BindText(1, name);
    find_series.BindText(2, labels);
    const int rc = find_series.Step();
    if (rc == SQLITE_ROW) return std::optional<int64_t>(find_series.ColumnInt64(0));
    if (rc != SQLITE_DONE) {
      return db->Error("looking up series " + std::string(name) + std::string(labels));
    }
    return std::optional<int64_t>();
  }

  // The id for `key` inside an Append transaction, creating the series when new. Rows this
  // transaction creates go to `created`, not to the cache.
  Result<int64_t> SeriesIdForAppend(const std::string& key,
                                    std::unordered_map<std::string, int64_t>* created) {
    if (auto it = series_ids.find(key); it != series_ids.end()) return it->second;
    if (auto it = created->find(key); it != created->end()) return it->second;
    Result<std::optional<int64_t>> found = FindSeries(key);
    if (!found.ok()) return found.status();
    if (found->has_value()) {
      // Every row this transaction creates is in `created`, so this one was committed before.
      series_ids.emplace(key, **found);
      return **found;
    }
    auto guard = insert_series.Use();
    insert_series.BindText(1, KeyName(key));
    insert_series.BindText(2, KeyLabels(key));
    if (insert_series.Step() != SQLITE_DONE) {
      return db->Error("adding series " + std::string(KeyName(key)) + std::string(KeyLabels(key)));
    }
    const int64_t id = db->LastInsertRowid();
    created->emplace(key, id);
    return id;
  }

  Status Append(const std::vector<rules::Sample>& samples) {
    Transaction txn(db.get());
    SW_RETURN_IF_ERROR(txn.status());
    std::unordered_map<std::string, int64_t> created;
    rows.clear();
    rows.reserve(samples.size());
    const rules::Sample* prev = nullptr;
    int64_t prev_id = 0;
    for (size_t i = 0; i < samples.size(); ++i) {
      const rules::Sample& s = samples[i];
      if (prev == nullptr || s.series != prev->series || s.labels != prev->labels) {
        SeriesKey(s.series, s.labels, &key_buf);
        Result<int64_t> id = SeriesIdForAppend(key_buf, &created);
        if (!id.ok()) return id.status();
        prev_id = *id;
        prev = &s;
      }
      rows.push_back({prev_id, s.t_millis, i});
    }
    // Insert in key order: consecutive inserts then land on the same or neighbouring B-tree
    // pages instead of hopping across the file. Stable, so that of two samples for the same
    // series and time the later in the batch still wins.
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.series_id != b.series_id ? a.series_id < b.series_id : a.t < b.t;
    });
    auto guard = insert_sample.Use();
    for (const Row& row : rows) {
      insert_sample.Reset();
      insert_sample.BindInt64(1, row.series_id);
      insert_sample.BindInt64(2, row.t);
      insert_sample.BindDouble(3, samples[row.index].value);
      if (insert_sample.Step() != SQLITE_DONE) return db->Error("appending samples");
    }
    SW_RETURN_IF_ERROR(txn.Commit());
    series_ids.merge(created);
    return Status::OK();
  }

  Result<std::optional<int64_t>> GetMeta(const char* key) {
    Statement q;
    SW_RETURN_IF_ERROR(db->Prepare("SELECT value FROM meta WHERE key = ?1", &q));
    q.BindText(1, key);
    const int rc = q.Step();
    if (rc == SQLITE_ROW) return std::optional<int64_t>(q.ColumnInt64(0));
    if (rc != SQLITE_DONE) return db->Error(std::string("reading meta ") + key);
    return std::optional<int64_t>();
  }

  Status SetMeta(const char* key, int64_t value) {
    Statement q;
    SW_RETURN_IF_ERROR(db->Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &q));
    q.BindText(1, key);
    q.BindInt64(2, value);
    if (q.Step() != SQLITE_DONE) return db->Error(std::string("writing meta ") + key);
    return Status::OK();
  }
};

SampleStore::SampleStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SampleStore::~SampleStore() = default;
const std::string& SampleStore::path() const {
  return impl_->db->path();
}

Result<std::unique_ptr<SampleStore>> SampleStore::Open(const std::string& path) {
  internal::StoreKind kind;
  kind.name = "sample store";
  kind.application_id = 0x5357534D;  // 'SWSM'
  kind.version = kSchemaVersion;
  kind.unmarked_max_version = 1;  // v1 files predate the application id
  kind.synchronous = "NORMAL";    // see the header: kill -9 safe, no fsync per batch
  // A scrape of 10 000 series changes the last leaf page of every series: ~2 600 pages (~11 MB)
  // of WAL per batch. At SQLite's default (1 000 pages) every batch is followed by a checkpoint
  // that writes those pages again; at 10 000 one checkpoint serves ~4 batches, which rewrite
  // the same tail pages: 14 instead of 22 MB written per batch (bench/storage_bench.cc). The
  // WAL then stays under ~50 MB on disk.
  kind.wal_autocheckpoint_pages = 10'000;
  kind.migrate = Migrate;
  Result<std::unique_ptr<internal::Database>> db = internal::Database::Open(path, kind);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  SW_RETURN_IF_ERROR(impl->Prepare());
  return std::unique_ptr<SampleStore>(new SampleStore(std::move(impl)));
}

Status SampleStore::Append(const std::vector<rules::Sample>& samples) {
  if (samples.empty()) return Status::OK();
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Append(samples);
}

Result<std::vector<rules::Point>> SampleStore::Query(const std::string& series,
                                                     const rules::Labels& labels,
                                                     int64_t from_millis, int64_t to_millis) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<rules::Point> points;
  SeriesKey(series, labels, &impl_->key_buf);
  int64_t id;
  if (auto it = impl_->series_ids.find(impl_->key_buf); it != impl_->series_ids.end()) {
    id = it->second;
  } else {
    Result<std::optional<int64_t>> found = impl_->FindSeries(impl_->key_buf);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return points;
    id = **found;
    impl_->series_ids.emplace(impl_->key_buf, id);  // outside a transaction: committed
  }
  Statement& q = impl_->range;
  auto guard = q.Use();
  q.BindInt64(1, id);
  q.BindInt64(2, from_millis);
  q.BindInt64(3, to_millis);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) points.push_back({q.ColumnInt64(0), q.ColumnDouble(1)});
  if (rc != SQLITE_DONE) return impl_->db->Error("querying " + series);
  return points;
}

Status SampleStore::ForEachSample(int64_t from_millis, int64_t to_millis,
                                  const std::function<void(const rules::Sample&)>& visit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  internal::Database& db = *impl_->db;
  Transaction snapshot(&db, Transaction::Mode::kRead);
  SW_RETURN_IF_ERROR(snapshot.status());
  Statement list;
  SW_RETURN_IF_ERROR(db.Prepare("SELECT id, name, labels FROM series ORDER BY id", &list));
  Statement& q = impl_->range;
  rules::Sample sample;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    sample.series = list.ColumnText(1);
    Result<rules::Labels> labels = LabelsFromText(list.ColumnText(2));
    if (!labels.ok()) {
      return Status::Corruption("sample store " + db.path() + ": series " + sample.series + ": " +
                                labels.status().message());
    }
    sample.labels = std::move(*labels);
    // One index seek per series on (series_id, t), then a range scan in key order: grouped by
    // series and time-ordered without a sort, and older history outside the range is skipped.
    auto guard = q.Use();
    q.BindInt64(1, list.ColumnInt64(0));
    q.BindInt64(2, from_millis);
    q.BindInt64(3, to_millis);
    int qrc;
    while ((qrc = q.Step()) == SQLITE_ROW) {
      sample.t_millis = q.ColumnInt64(0);
      sample.value = q.ColumnDouble(1);
      visit(sample);
    }
    if (qrc != SQLITE_DONE) return db.Error("reading samples of " + sample.series);
  }
  if (rc != SQLITE_DONE) return db.Error("listing series");
  return snapshot.Commit();
}

Result<std::vector<SeriesInfo>> SampleStore::ListSeries() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare(
      "SELECT s.name, s.labels, count(p.t), min(p.t), max(p.t) FROM series s "
      "LEFT JOIN samples p ON p.series_id = s.id GROUP BY s.id ORDER BY s.name, s.labels",
      &q));
  std::vector<SeriesInfo> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    SeriesInfo info;
    info.name = q.ColumnText(0);
    Result<rules::Labels> labels = LabelsFromText(q.ColumnText(1));
    if (!labels.ok()) {
      return Status::Corruption("sample store " + impl_->db->path() + ": series " + info.name +
                                ": " + labels.status().message());
    }
    info.labels = std::move(*labels);
    info.samples = q.ColumnInt64(2);
    info.first_millis = q.ColumnInt64(3);
    info.last_millis = q.ColumnInt64(4);
    out.push_back(std::move(info));
  }
  if (rc != SQLITE_DONE) return impl_->db->Error("listing series");
  return out;
}

Result<RetentionStats> SampleStore::ApplyRetention(int64_t now_millis,
                                                   const RetentionPolicy& policy) {
  const int64_t retention = policy.retention.count();
  const int64_t after = policy.downsample_after.count();
  const int64_t res = policy.resolution.count();
  if (!(after > 0 && retention > after && res > 0)) {
    return Status::InvalidArgument(
        "retention policy: need retention > downsample_after > 0 and resolution > 0, got "
        "retention " +
        std::to_string(retention) + " ms, downsample_after " + std::to_string(after) +
        " ms, resolution " + std::to_string(res) + " ms");
  }
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  // Samples with t < keep_from are deleted. Thinning covers whole buckets before thin_before,
  // so a bucket is never thinned while samples may still arrive in it (no second "last").
  const int64_t keep_from = now_millis - retention;
  const int64_t thin_before = internal::FloorDiv(now_millis - after, res) * res;

  std::lock_guard<std::mutex> one_at_a_time(impl_->retention_mu);
  struct SeriesRef {
    int64_t id;
    std::string key;
  };
  std::vector<SeriesRef> series;
  int64_t thin_from = kMin;
  int64_t new_mark = thin_before;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    Result<std::optional<int64_t>> until = impl_->GetMeta(kMetaDownsampledUntil);
    if (!until.ok()) return until.status();
    Result<std::optional<int64_t>> stored_res = impl_->GetMeta(kMetaDownsampleResolution);
    if (!stored_res.ok()) return stored_res.status();
    // Buckets of another width were thinned differently: start over from the oldest sample.
    if (until->has_value() && *stored_res == res) {
      thin_from = **until;
      new_mark = std::max(new_mark, **until);  // never re-thin what a longer delay left alone
    }
    Statement list;
    SW_RETURN_IF_ERROR(
        impl_->db->Prepare("SELECT id, name, labels FROM series ORDER BY id", &list));
    int rc;
    while ((rc = list.Step()) == SQLITE_ROW) {
      SeriesRef ref{list.ColumnInt64(0), std::string()};
      ref.key = list.ColumnText(1);
      ref.key.push_back('\0');
      ref.key += list.ColumnText(2);
      series.push_back(std::move(ref));
    }
    if (rc != SQLITE_DONE) return impl_->db->Error("listing series");
  }
  thin_from = std::max(thin_from, keep_from);

  // Per series: delete old samples, thin, remove the series if empty. The position is kept
  // across chunks; series created after the list was read hold only new data.
  enum class Phase { kDelete, kThin, kRemoveIfEmpty };
  RetentionStats stats;
  size_t next = 0;
  Phase phase = Phase::kDelete;
  int64_t cursor = thin_from;
  std::vector<int64_t> times;
  for (;;) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    internal::Database& db = *impl_->db;
    Transaction txn(&db);
    SW_RETURN_IF_ERROR(txn.status());
    int64_t budget = kRetentionChunkRows;
    while (budget > 0 && next < series.size()) {
      const SeriesRef& s = series[next];
      switch (phase) {
        case Phase::kDelete: {
          const int64_t limit = budget;
          Statement& q = impl_->delete_old;
          auto guard = q.Use();
          q.BindInt64(1, s.id);
          q.BindInt64(2, keep_from);
          q.BindInt64(3, limit);
          if (q.Step() != SQLITE_DONE) return db.Error("deleting old samples");
          const int64_t n = db.Changes();
          stats.deleted += n;
          budget -= std::max<int64_t>(n, 1);  // an empty seek costs something too
          if (n < limit) {                    // fewer than asked: nothing older is left
            phase = Phase::kThin;
            cursor = thin_from;
          }
          break;
        }
        case Phase::kThin: {
          if (cursor >= thin_before) {
            phase = Phase::kRemoveIfEmpty;
            break;
          }
          // Keep a sample only when the next one falls in another bucket. The last sample of a
          // chunk is kept for now and becomes the first of the next chunk, where it is judged
          // against its successor; so chunks may cut buckets anywhere.
          const int64_t limit = std::max<int64_t>(budget, 2);
          times.clear();
          {
            Statement& q = impl_->thin_scan;
            auto guard = q.Use();
            q.BindInt64(1, s.id);
            q.BindInt64(2, cursor);
            q.BindInt64(3, thin_before);
            q.BindInt64(4, limit);
            int rc;
            while ((rc = q.Step()) == SQLITE_ROW) times.push_back(q.ColumnInt64(0));
            if (rc != SQLITE_DONE) return db.Error("reading samples to downsample");
          }
          Statement& del = impl_->delete_sample;
          auto guard = del.Use();
          for (size_t i = 0; i + 1 < times.size(); ++i) {
            if (internal::FloorDiv(times[i], res) != internal::FloorDiv(times[i + 1], res)) {
              continue;
            }
            del.Reset();
            del.BindInt64(1, s.id);
            del.BindInt64(2, times[i]);
            if (del.Step() != SQLITE_DONE) return db.Error("downsampling");
            ++stats.downsampled;
            --budget;
          }
          budget -= std::max<int64_t>(static_cast<int64_t>(times.size()), 1);
          if (static_cast<int64_t>(times.size()) < limit) {
            phase = Phase::kRemoveIfEmpty;
          } else {
            cursor = times.back();  // strictly past the previous cursor: times has ≥ 2 rows
          }
          break;
        }
        case Phase::kRemoveIfEmpty: {
          Statement& q = impl_->delete_series_if_empty;
          auto guard = q.Use();
          q.BindInt64(1, s.id);
          if (q.Step() != SQLITE_DONE) return db.Error("removing an empty series");
          if (db.Changes() > 0) {
            ++stats.series_removed;
            // Dropping a cache entry is safe even if this transaction rolls back (a miss only
            // costs a lookup); keeping it would point new samples at a deleted series.
            impl_->series_ids.erase(s.key);
          }
          --budget;
          ++next;
          phase = Phase::kDelete;
          break;
        }
      }
    }
    const bool done = next == series.size();
    if (done) {
      SW_RETURN_IF_ERROR(impl_->SetMeta(kMetaDownsampledUntil, new_mark));
      SW_RETURN_IF_ERROR(impl_->SetMeta(kMetaDownsampleResolution, res));
    }
    SW_RETURN_IF_ERROR(txn.Commit());
    ++stats.chunks;
    if (done) return stats;
  }
}

Result<int64_t> SampleStore::SizeBytes() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Result<int64_t> pages = impl_->db->QueryInt64("PRAGMA page_count");
  if (!pages.ok()) return pages.status();
  Result<int64_t> page_size = impl_->db->QueryInt64("PRAGMA page_size");
  if (!page_size.ok()) return page_size.status();
  return *pages * *page_size;
}

}  // namespace statewatch::storage
