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

// Samples stay in `head` (clustered by time) until they are this old and ApplyRetention runs
// (hourly in the agent): a quarter of an hour of slack for late scrapes, and few enough rows
// that reading one series out of `head` is cheap.
constexpr int64_t kHeadMillis = 15 * 60 * 1000;

constexpr char kMetaDownsampledUntil[] = "downsampled_until";
constexpr char kMetaDownsampleResolution[] = "downsample_resolution_ms";
constexpr char kMetaSealedUntil[] = "sealed_until";

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

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
    case 2:  // v3: new samples go to `head`, clustered by time; `samples` keeps the rest
      SW_RETURN_IF_ERROR(
          db.Exec("CREATE TABLE head(t INTEGER NOT NULL, series_id INTEGER NOT NULL REFERENCES "
                  "series(id), value REAL, PRIMARY KEY(t, series_id)) WITHOUT ROWID"));
      // Everything already stored counts as sealed, so that per series all of `samples` stays
      // older than all of `head` (one scan of the old table, once).
      return db.Exec(
          "INSERT INTO meta(key, value) SELECT 'sealed_until', "
          "min(max(t), 9223372036854775806) + 1 FROM samples HAVING count(*) > 0");
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
  Statement insert_head;
  Statement head_next_time;
  Statement head_point;
  Statement head_range;
  Statement insert_sample;
  Statement insert_moved;
  Statement find_series;
  Statement insert_series;
  Statement range;
  Statement delete_old;
  Statement thin_scan;
  Statement delete_sample;
  Statement series_has_samples;
  Statement delete_series;  // after series_has_samples and head said it has none

  // Series key → id, for series whose row is committed. Ids created by a transaction enter it
  // only after the commit: a rolled-back row's id is reused by the next series created, and a
  // stale entry would file samples under the wrong series. GUARDED_BY(mu).
  std::unordered_map<std::string, int64_t> series_ids;
  std::string key_buf;  // reused per sample; GUARDED_BY(mu)

  // Samples with t >= sealed_until go to `head`, older ones to `samples`; so per series every
  // sample in `samples` is older than every sample in `head` (while ApplyRetention moves rows,
  // see Seal). Mirrors meta.sealed_until. GUARDED_BY(mu).
  int64_t sealed_until = kMinTime;

  struct Row {
    int64_t series_id;
    int64_t t;
    size_t index;  // into the batch
  };
  std::vector<Row> rows;  // reused per batch; GUARDED_BY(mu)

  Status Prepare() {
    SW_RETURN_IF_ERROR(db->Prepare(
        "INSERT OR REPLACE INTO head(t, series_id, value) VALUES (?2, ?1, ?3)", &insert_head));
    SW_RETURN_IF_ERROR(db->Prepare(
        "SELECT t FROM head WHERE t >= ?1 AND t <= ?2 ORDER BY t LIMIT 1", &head_next_time));
    SW_RETURN_IF_ERROR(
        db->Prepare("SELECT value FROM head WHERE t = ?1 AND series_id = ?2", &head_point));
    SW_RETURN_IF_ERROR(db->Prepare(
        "SELECT t, series_id, value FROM head WHERE t BETWEEN ?1 AND ?2 ORDER BY t, series_id",
        &head_range));
    SW_RETURN_IF_ERROR(db->Prepare(
        "INSERT OR REPLACE INTO samples(series_id, t, value) VALUES (?1, ?2, ?3)", &insert_sample));
    SW_RETURN_IF_ERROR(db->Prepare(
        "INSERT OR IGNORE INTO samples(series_id, t, value) VALUES (?1, ?2, ?3)", &insert_moved));
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
    SW_RETURN_IF_ERROR(
        db->Prepare("SELECT 1 FROM samples WHERE series_id = ?1 LIMIT 1", &series_has_samples));
    return db->Prepare("DELETE FROM series WHERE id = ?1", &delete_series);
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
    // Recent samples (all of them, normally) first, then any older than the seal.
    const auto late = std::stable_partition(rows.begin(), rows.end(),
                                            [&](const Row& r) { return r.t >= sealed_until; });
    // Each part in its table's key order: a scrape's rows then fill the last pages of `head`
    // one after another, instead of one page per series. Stable, so that of two samples for
    // the same series and time the later in the batch still wins.
    std::stable_sort(rows.begin(), late, [](const Row& a, const Row& b) {
      return a.t != b.t ? a.t < b.t : a.series_id < b.series_id;
    });
    std::stable_sort(late, rows.end(), [](const Row& a, const Row& b) {
      return a.series_id != b.series_id ? a.series_id < b.series_id : a.t < b.t;
    });
    for (auto it = rows.begin(); it != late; ++it) {
      SW_RETURN_IF_ERROR(InsertRow(insert_head, it->series_id, it->t, samples[it->index].value,
                                   "appending samples"));
    }
    for (auto it = late; it != rows.end(); ++it) {
      SW_RETURN_IF_ERROR(InsertRow(insert_sample, it->series_id, it->t, samples[it->index].value,
                                   "appending older samples"));
    }
    SW_RETURN_IF_ERROR(txn.Commit());
    series_ids.merge(created);
    return Status::OK();
  }

  // Runs one of the prepared inserts of a sample row (insert_head, insert_sample, insert_moved:
  // all take ?1 series id, ?2 time, ?3 value); on failure SQLite's error, doing `what`.
  Status InsertRow(Statement& insert, int64_t series_id, int64_t t, double value,
                   const char* what) {
    auto guard = insert.Use();
    insert.BindInt64(1, series_id);
    insert.BindInt64(2, t);
    insert.BindDouble(3, value);
    if (insert.Step() != SQLITE_DONE) return db->Error(what);
    return Status::OK();
  }

  // Appends the points of series `id` in `head` with from <= t <= to, in time order, at most
  // `limit` of them. `head` is clustered by (time, series id), so this visits each distinct time
  // in the range: one seek for the next time, one for the point. A scrape stamps all its samples
  // with one time, so `head` (the last quarter to hour and a quarter) holds few of them.
  Status HeadPoints(int64_t id, int64_t from, int64_t to, std::vector<rules::Point>* out,
                    size_t limit = std::numeric_limits<size_t>::max()) {
    int64_t t = from;
    for (size_t found = 0; found < limit && t <= to;) {
      int64_t next;
      {
        auto guard = head_next_time.Use();
        head_next_time.BindInt64(1, t);
        head_next_time.BindInt64(2, to);
        const int rc = head_next_time.Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return db->Error("reading recent samples");
        next = head_next_time.ColumnInt64(0);
      }
      auto guard = head_point.Use();
      head_point.BindInt64(1, next);
      head_point.BindInt64(2, id);
      const int rc = head_point.Step();
      if (rc == SQLITE_ROW) {
        out->push_back({next, head_point.ColumnDouble(0)});
        ++found;
      } else if (rc != SQLITE_DONE) {
        return db->Error("reading recent samples");
      }
      if (next == kMaxTime) break;
      t = next + 1;
    }
    return Status::OK();
  }

  // Moves the samples older than seal_before from `head` to `samples`, in steps that each hold
  // `mu` for one transaction of at most kRetentionChunkRows rows:
  //  1. the boundary: meta.sealed_until = seal_before. From then on Append writes any sample
  //     older than it to `samples`, so the part of `head` to move no longer changes;
  //  2. that part of `head` read in (series, t) order on a second, read-only connection: SQLite
  //     sorts it (in a bounded cache, spilling to temp files) without holding `mu`;
  //  3. written to `samples` in that order, so that each series' last leaf is written once per
  //     move with all its samples since the last, instead of once per sample (moved in time
  //     order, every chunk of 4 096 rows touched a leaf of each of 4 096 series). INSERT OR
  //     IGNORE: a row already in `samples` for that time was written there after step 1, so it
  //     is the newer;
  //  4. the moved part of `head` deleted: a prefix of its key order.
  // Between chunks of 3 and 4 a sample may be in both tables, the same value; Query takes the
  // one in `samples`, ForEachSample waits for the move. A crash part-way leaves rows older than
  // sealed_until in `head`: Open calls this again, which moves them before anything reads.
  Status Seal(int64_t seal_before, RetentionStats* stats) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (seal_before > sealed_until) {
        Transaction txn(db.get());
        SW_RETURN_IF_ERROR(txn.status());
        SW_RETURN_IF_ERROR(SetMeta(kMetaSealedUntil, seal_before));
        SW_RETURN_IF_ERROR(txn.Commit());
        sealed_until = seal_before;
        ++stats->chunks;
      }
      seal_before = sealed_until;
      Result<bool> due = HeadHasRowsBefore(seal_before);
      if (!due.ok()) return due.status();
      if (!*due) return Status::OK();
    }
    {
      // 2 and 3. The reader's snapshot begins at its first step, after the boundary's commit.
      Result<std::unique_ptr<internal::Database>> reader = db->OpenReader();
      if (!reader.ok()) return reader.status();
      Statement sorted;
      SW_RETURN_IF_ERROR((*reader)->Prepare(
          "SELECT series_id, t, value FROM head WHERE t < ?1 ORDER BY series_id, t", &sorted));
      sorted.BindInt64(1, seal_before);
      struct Moved {
        int64_t series_id, t;
        double value;
      };
      std::vector<Moved> chunk;
      chunk.reserve(kRetentionChunkRows);
      for (int rc = SQLITE_ROW; rc == SQLITE_ROW;) {
        chunk.clear();
        while (static_cast<int64_t>(chunk.size()) < kRetentionChunkRows &&
               (rc = sorted.Step()) == SQLITE_ROW) {
          chunk.push_back({sorted.ColumnInt64(0), sorted.ColumnInt64(1), sorted.ColumnDouble(2)});
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
          return (*reader)->Error("reading recent samples to move");
        }
        if (chunk.empty()) break;
        std::lock_guard<std::mutex> lock(mu);
        Transaction txn(db.get());
        SW_RETURN_IF_ERROR(txn.status());
        for (const Moved& m : chunk) {
          SW_RETURN_IF_ERROR(
              InsertRow(insert_moved, m.series_id, m.t, m.value, "moving recent samples"));
        }
        SW_RETURN_IF_ERROR(txn.Commit());
        stats->sealed += static_cast<int64_t>(chunk.size());
        ++stats->chunks;
      }
    }
    Statement nth_head, delete_head;
    SW_RETURN_IF_ERROR(db->Prepare(
        "SELECT t, series_id FROM head WHERE t < ?1 ORDER BY t, series_id LIMIT 1 OFFSET ?2",
        &nth_head));
    SW_RETURN_IF_ERROR(
        db->Prepare("DELETE FROM head WHERE (t, series_id) <= (?1, ?2)", &delete_head));
    // 4: the moved prefix of head.
    for (bool done = false; !done;) {
      std::lock_guard<std::mutex> lock(mu);
      Transaction txn(db.get());
      SW_RETURN_IF_ERROR(txn.status());
      auto nth_guard = nth_head.Use();
      auto delete_guard = delete_head.Use();
      nth_head.BindInt64(1, seal_before);
      nth_head.BindInt64(2, kRetentionChunkRows - 1);
      const int rc = nth_head.Step();
      if (rc == SQLITE_ROW) {
        delete_head.BindInt64(1, nth_head.ColumnInt64(0));
        delete_head.BindInt64(2, nth_head.ColumnInt64(1));
      } else if (rc == SQLITE_DONE) {
        delete_head.BindInt64(1, seal_before - 1);  // all of the rest: t < seal_before
        delete_head.BindInt64(2, kMaxTime);
        done = true;
      } else {
        return db->Error("finding recent samples to delete");
      }
      nth_head.Reset();
      if (delete_head.Step() != SQLITE_DONE) return db->Error("deleting moved samples");
      SW_RETURN_IF_ERROR(txn.Commit());
      ++stats->chunks;
    }
    return Status::OK();
  }

  // Whether `head` holds a sample older than `t`: a seek to its first key.
  Result<bool> HeadHasRowsBefore(int64_t t) {
    if (t == kMinTime) return false;
    auto guard = head_next_time.Use();
    head_next_time.BindInt64(1, kMinTime);
    head_next_time.BindInt64(2, t - 1);
    const int rc = head_next_time.Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db->Error("reading recent samples");
    return rc == SQLITE_ROW;
  }

  // Name and labels of a series from columns 0 and 1 of `q`; Corruption when the stored labels
  // do not parse.
  Status ReadSeries(const Statement& q, std::string* name, rules::Labels* labels) const {
    *name = q.ColumnText(0);
    Result<rules::Labels> parsed = LabelsFromText(q.ColumnText(1));
    if (!parsed.ok()) {
      return Status::Corruption("sample store " + db->path() + ": series " + *name + ": " +
                                parsed.status().message());
    }
    *labels = std::move(*parsed);
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
  // A scrape of 10 000 series adds ~50 pages to the WAL; moving an hour of them out of `head`
  // touches a page per series in `samples`, in chunks of up to 4 096. At 10 000 pages a
  // checkpoint (which writes each page again) serves many batches and whole moves, and pages a
  // later commit changes again are written once. The WAL then stays under ~50 MB on disk.
  kind.wal_autocheckpoint_pages = 10'000;
  kind.migrate = Migrate;
  Result<std::unique_ptr<internal::Database>> db = internal::Database::Open(path, kind);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  SW_RETURN_IF_ERROR(impl->Prepare());
  Result<std::optional<int64_t>> sealed = impl->GetMeta(kMetaSealedUntil);
  if (!sealed.ok()) return sealed.status();
  impl->sealed_until = sealed->value_or(kMinTime);
  // A move out of `head` that a crash interrupted is finished before anything reads (one seek
  // when there is none).
  RetentionStats resumed;
  SW_RETURN_IF_ERROR(impl->Seal(impl->sealed_until, &resumed));
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
  {
    Statement& q = impl_->range;
    auto guard = q.Use();
    q.BindInt64(1, id);
    q.BindInt64(2, from_millis);
    q.BindInt64(3, to_millis);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) points.push_back({q.ColumnInt64(0), q.ColumnDouble(1)});
    if (rc != SQLITE_DONE) return impl_->db->Error("querying " + series);
  }
  std::vector<rules::Point> recent;
  SW_RETURN_IF_ERROR(impl_->HeadPoints(id, from_millis, to_millis, &recent));
  if (points.empty() || recent.empty() || points.back().t_millis < recent.front().t_millis) {
    points.insert(points.end(), recent.begin(), recent.end());
    return points;
  }
  // Only while ApplyRetention is part-way through moving rows can the tables overlap in time.
  // On equal t `samples` wins: a copy of the same row, or a later write (see Impl::Seal).
  std::vector<rules::Point> merged;
  merged.reserve(points.size() + recent.size());
  size_t i = 0, j = 0;
  while (i < points.size() || j < recent.size()) {
    if (j == recent.size() || (i < points.size() && points[i].t_millis <= recent[j].t_millis)) {
      if (j < recent.size() && points[i].t_millis == recent[j].t_millis) ++j;
      merged.push_back(points[i++]);
    } else {
      merged.push_back(recent[j++]);
    }
  }
  return merged;
}

Status SampleStore::ForEachSample(int64_t from_millis, int64_t to_millis,
                                  const std::function<void(const rules::Sample&)>& visit) {
  // Not while ApplyRetention is part-way through moving rows from `head` to `samples`: only
  // then can a sample be in both tables (the two passes below would visit it twice).
  std::lock_guard<std::mutex> one_at_a_time(impl_->retention_mu);
  std::lock_guard<std::mutex> lock(impl_->mu);
  internal::Database& db = *impl_->db;
  Transaction snapshot(&db, Transaction::Mode::kRead);
  SW_RETURN_IF_ERROR(snapshot.status());
  Statement list;
  SW_RETURN_IF_ERROR(db.Prepare("SELECT name, labels, id FROM series ORDER BY id", &list));
  Statement& q = impl_->range;
  // Every series, for the second pass: ids are dense, and 10 000 series are a few MB.
  std::unordered_map<int64_t, rules::Sample> by_id;
  rules::Sample sample;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    SW_RETURN_IF_ERROR(impl_->ReadSeries(list, &sample.series, &sample.labels));
    const int64_t id = list.ColumnInt64(2);
    by_id.emplace(id, sample);
    // One index seek per series on (series_id, t), then a range scan in key order: grouped by
    // series and time-ordered without a sort, and older history outside the range is skipped.
    auto guard = q.Use();
    q.BindInt64(1, id);
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
  // Then the recent samples, in one pass in time order: newer than all of the above per series.
  Statement& h = impl_->head_range;
  auto guard = h.Use();
  h.BindInt64(1, from_millis);
  h.BindInt64(2, to_millis);
  while ((rc = h.Step()) == SQLITE_ROW) {
    auto it = by_id.find(h.ColumnInt64(1));
    if (it == by_id.end())
      return Status::Corruption("sample store " + db.path() +
                                ": a recent sample of an unknown series");
    it->second.t_millis = h.ColumnInt64(0);
    it->second.value = h.ColumnDouble(2);
    visit(it->second);
  }
  if (rc != SQLITE_DONE) return db.Error("reading recent samples");
  return snapshot.Commit();
}

Result<std::vector<SeriesInfo>> SampleStore::ListSeries() {
  std::lock_guard<std::mutex> one_at_a_time(impl_->retention_mu);  // no row counted twice
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare(
      "SELECT s.name, s.labels, count(p.t), min(p.t), max(p.t), s.id FROM series s "
      "LEFT JOIN samples p ON p.series_id = s.id GROUP BY s.id ORDER BY s.name, s.labels",
      &q));
  // Counts and spans of the recent samples, added to the older ones' below.
  struct Recent {
    int64_t count, first, last;
  };
  std::unordered_map<int64_t, Recent> recent;
  {
    Statement h;
    SW_RETURN_IF_ERROR(impl_->db->Prepare(
        "SELECT series_id, count(*), min(t), max(t) FROM head GROUP BY series_id", &h));
    int rc;
    while ((rc = h.Step()) == SQLITE_ROW) {
      recent[h.ColumnInt64(0)] = {h.ColumnInt64(1), h.ColumnInt64(2), h.ColumnInt64(3)};
    }
    if (rc != SQLITE_DONE) return impl_->db->Error("counting recent samples");
  }
  std::vector<SeriesInfo> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    SeriesInfo info;
    SW_RETURN_IF_ERROR(impl_->ReadSeries(q, &info.name, &info.labels));
    info.samples = q.ColumnInt64(2);
    info.first_millis = q.ColumnInt64(3);
    info.last_millis = q.ColumnInt64(4);
    if (auto it = recent.find(q.ColumnInt64(5)); it != recent.end()) {
      if (info.samples == 0) {
        info.first_millis = it->second.first;
        info.last_millis = it->second.last;
      } else {
        info.first_millis = std::min(info.first_millis, it->second.first);
        info.last_millis = std::max(info.last_millis, it->second.last);
      }
      info.samples += it->second.count;
    }
    out.push_back(std::move(info));
  }
  if (rc != SQLITE_DONE) return impl_->db->Error("listing series");
  return out;
}

Result<std::vector<SeriesInfo>> SampleStore::ListSeriesLabels(const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Statement q;
  SW_RETURN_IF_ERROR(impl_->db->Prepare(
      name.empty() ? "SELECT name, labels FROM series ORDER BY name, labels"
                   : "SELECT name, labels FROM series WHERE name = ?1 ORDER BY labels",
      &q));
  if (!name.empty()) q.BindText(1, name);
  std::vector<SeriesInfo> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    SeriesInfo info;
    SW_RETURN_IF_ERROR(impl_->ReadSeries(q, &info.name, &info.labels));
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
  // Samples with t < keep_from are deleted. Thinning covers whole buckets before thin_before,
  // so a bucket is never thinned while samples may still arrive in it (no second "last").
  const int64_t keep_from = now_millis - retention;
  const int64_t thin_before = internal::FloorDiv(now_millis - after, res) * res;

  std::lock_guard<std::mutex> one_at_a_time(impl_->retention_mu);
  RetentionStats stats;
  // First move what is no longer recent from `head` to `samples`, where the rest of this
  // works per series. All the retention below looks at must be moved.
  SW_RETURN_IF_ERROR(
      impl_->Seal(std::max({now_millis - kHeadMillis, thin_before, keep_from}), &stats));
  struct SeriesRef {
    int64_t id;
    std::string key;
  };
  std::vector<SeriesRef> series;
  int64_t thin_from = kMinTime;
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
          // Most series still have older samples: one seek says so. Only one without any is
          // looked for in `head` (a series that came back since the move has its samples
          // there: its row must stay), a skip over head's distinct times.
          bool empty;
          {
            Statement& has = impl_->series_has_samples;
            auto has_guard = has.Use();
            has.BindInt64(1, s.id);
            const int rc = has.Step();
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.Error("finding empty series");
            empty = rc == SQLITE_DONE;
          }
          if (empty) {
            std::vector<rules::Point> recent;
            SW_RETURN_IF_ERROR(impl_->HeadPoints(s.id, kMinTime, kMaxTime, &recent, 1));
            empty = recent.empty();
          }
          if (empty) {
            Statement& q = impl_->delete_series;
            auto guard = q.Use();
            q.BindInt64(1, s.id);
            if (q.Step() != SQLITE_DONE) return db.Error("removing an empty series");
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
