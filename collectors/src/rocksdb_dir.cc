#include "statewatch/collectors/rocksdb_dir.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "filesystem.h"
#include "log_tailer.h"
#include "statewatch/collectors/collector_options.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::collectors {

namespace fs = std::filesystem;

std::string NewestOptionsFile(const std::string& dir) {
  fs::path newest;
  uint64_t newest_number = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    constexpr std::string_view kPrefix = "OPTIONS-";
    if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    uint64_t number = 0;
    const char* first = name.data() + kPrefix.size();
    const char* last = name.data() + name.size();
    auto [ptr, err] = std::from_chars(first, last, number);
    if (err != std::errc() || ptr != last) continue;
    if (newest.empty() || number > newest_number) {
      newest = it->path();
      newest_number = number;
    }
  }
  return newest.string();
}

namespace {

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = std::move(buf).str();
  return true;
}

}  // namespace

struct RocksDbDirCollector::Impl {
  Impl(std::string job_in, std::string source_in, RocksDbDirOptions options_in)
      : job(std::move(job_in)),
        source(std::move(source_in)),
        options(std::move(options_in)),
        log(options.log_file.empty() ? (fs::path(options.path) / "LOG").string()
                                     : options.log_file) {}

  ~Impl() {
    CloseDb();
    if (!private_secondary_dir.empty()) {
      std::error_code ec;
      fs::remove_all(private_secondary_dir, ec);
    }
  }

  Status Collect(int64_t now, std::vector<rules::Sample>* out);

  // --- the secondary instance ---
  Status CheckDirectory() const;
  void RefreshOptionsFile();
  Status EnsureOpen();
  Status Open();
  void CloseDb();
  void AddDbSamples(int64_t now, std::vector<rules::Sample>* out);
  struct Memtables;
  Memtables ReadMemtables(rocksdb::ColumnFamilyHandle* h);
  bool IsStale(const std::string& cf, const Memtables& m);
  std::vector<uint64_t> WalNumbers() const;
  static uint64_t EstimateNumKeys(const rocksdb::ColumnFamilyMetaData& meta,
                                  const Memtables& memtables);

  // --- the owner's LOG ---
  void OnLogLine(std::string_view line, bool history);
  void AddLogSamples(int64_t now, std::vector<rules::Sample>* out);

  rules::Labels Labels(std::initializer_list<std::pair<std::string, std::string>> extra) const {
    rules::Labels l = {{"job", job}, {"source", source}};
    l.insert(l.end(), extra.begin(), extra.end());
    return l;
  }
  std::string Where() const { return "rocksdb_dir source '" + source + "': "; }

  const std::string job;
  const std::string source;
  const RocksDbDirOptions options;

  bool started = false;
  std::string private_secondary_dir;  // made by mkdtemp when options.secondary_path is empty

  // The secondary: column family names (sorted) and their handles, index for index.
  std::unique_ptr<rocksdb::DB> db;
  std::vector<std::string> cf_names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // Index and filter blocks of every SST file go through this small cache instead of staying
  // in table-reader memory: with max_open_files=-1 every file of the owner is open here, and
  // the collector only reads properties and metadata, never data.
  std::shared_ptr<rocksdb::Cache> block_cache = rocksdb::NewLRUCache(1u << 20);

  // Memtable staleness (IsStale): per column family, the entry count and size last seen and
  // the newest WAL number when they last changed; the WAL numbers of this collection, listed
  // lazily.
  struct MemtableSeen {
    uint64_t entries = 0;
    uint64_t bytes = 0;
    uint64_t newest_wal = 0;
  };
  std::map<std::string, MemtableSeen> memtable_seen;
  std::optional<std::vector<uint64_t>> wal_numbers;

  // The newest OPTIONS file seen, parsed.
  std::string options_file;
  std::map<std::string, CfOptionsSummary> cf_options;
  bool options_file_changed = false;

  // LOG state.
  internal::LogTailer log;
  std::map<std::string, std::array<uint64_t, 2>> stalls;  // cf → {delayed, stopped}
  uint64_t interval_delayed_rate = 0;  // rate of the last "Stalling writes" since last Collect
  bool in_dump = false;
  std::optional<uint64_t> dump_hit, dump_miss;  // of the dump being read
  bool have_dump = false;
  uint64_t last_dump_hit = 0, last_dump_miss = 0;
  std::optional<double> hit_ratio;  // between the last two dumps
};

Status RocksDbDirCollector::Impl::CheckDirectory() const {
  std::error_code ec;
  const fs::path dir(options.path);
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound(Where() + "RocksDB directory '" + options.path + "' does not exist");
  }
  if (!fs::exists(dir / "CURRENT", ec)) {
    return Status::NotFound(Where() + "'" + options.path +
                            "' is not a RocksDB directory (no CURRENT file)");
  }
  return Status::OK();
}

void RocksDbDirCollector::Impl::RefreshOptionsFile() {
  options_file_changed = false;
  const fs::path newest = NewestOptionsFile(options.path);
  if (newest.empty()) {
    // A database without OPTIONS files (written before RocksDB 4.x, or the file is being
    // replaced): nothing tells of new column families, so EnsureOpen lists them each time.
    options_file_changed = true;
    return;
  }
  if (newest.string() == options_file) return;
  std::string text;
  if (!ReadFile(newest, &text)) return;  // deleted in between: the next one is coming
  options_file = newest.string();
  cf_options = ParseOptionsFile(text);
  options_file_changed = true;
}

void RocksDbDirCollector::Impl::CloseDb() {
  if (db == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    rocksdb::Status s = db->DestroyColumnFamilyHandle(h);
    s.PermitUncheckedError();  // fails only for DefaultColumnFamily(), never a handle from Open
  }
  handles.clear();
  cf_names.clear();
  memtable_seen.clear();
  rocksdb::Status s = db->Close();
  s.PermitUncheckedError();  // a secondary has nothing to flush; nothing to report to
  db.reset();
}

Status RocksDbDirCollector::Impl::Open() {
  std::string secondary = options.secondary_path;
  if (secondary.empty()) {
    if (private_secondary_dir.empty()) {
      std::error_code ec;
      fs::path tmp = fs::temp_directory_path(ec);
      if (ec) tmp = "/tmp";
      std::string pattern = (tmp / "statewatch-secondary-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        return Status::IOError(Where() +
                               "cannot create a temporary directory for the secondary "
                               "instance of '" +
                               options.path + "'");
      }
      private_secondary_dir = pattern;
    }
    secondary = private_secondary_dir;
  } else {
    std::error_code ec;
    fs::create_directories(secondary, ec);
  }
  std::string no_wal_dir;
  if (!options.replay_wal) {
    // A secondary replays every WAL file it finds in its wal_dir; pointed at an empty
    // directory of its own it follows the MANIFEST only.
    no_wal_dir = (fs::path(secondary) / "no-wal").string();
    std::error_code ec;
    fs::create_directories(no_wal_dir, ec);
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = false;
  db_options.max_open_files = -1;  // required of secondaries (see the header)
  // The secondary's own info log: small, and not accumulating one file per reopen.
  db_options.keep_log_file_num = 2;
  db_options.max_log_file_size = 1u << 20;
  db_options.wal_dir = no_wal_dir;  // empty: the database directory
  // Every catch-up loads the table readers of new files, and with more than one opening
  // thread RocksDB starts (and joins) that many threads each time — 16 by default, most of a
  // collection's cost when there is nothing new. One thread opens the few files a flush or
  // compaction adds just as well.
  db_options.max_file_opening_threads = 1;

  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, options.path, &names);
  if (!s.ok()) {
    return Status::IOError(Where() + "cannot list the column families of '" + options.path +
                           "': " + s.ToString());
  }
  std::sort(names.begin(), names.end());

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;
  table.cache_index_and_filter_blocks = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    rocksdb::ColumnFamilyOptions cf;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    // A column family with more levels than the default 7 cannot be opened with 7.
    if (auto it = cf_options.find(name); it != cf_options.end() && it->second.num_levels > 0) {
      cf.num_levels = it->second.num_levels;
    }
    descriptors.emplace_back(name, cf);
  }
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> opened;
  s = rocksdb::DB::OpenAsSecondary(db_options, options.path, secondary, descriptors, &opened, &raw);
  if (!s.ok()) {
    return Status::IOError(Where() + "cannot open '" + options.path +
                           "' as a secondary instance: " + s.ToString());
  }
  db.reset(raw);
  handles = std::move(opened);
  cf_names = std::move(names);
  return Status::OK();
}

Status RocksDbDirCollector::Impl::EnsureOpen() {
  if (db != nullptr && options_file_changed) {
    // Column families created or dropped since the open? (The OPTIONS file also changes on
    // SetOptions; then the lists agree and nothing is reopened.)
    rocksdb::DBOptions list_options;
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(list_options, options.path, &names);
    std::sort(names.begin(), names.end());
    if (!s.ok() || names != cf_names) CloseDb();
  }
  if (db == nullptr) return Open();
  rocksdb::Status s = db->TryCatchUpWithPrimary();
  if (s.ok()) return Status::OK();
  // The owner may have been restarted or have moved on in a way the secondary cannot follow:
  // start afresh once before reporting the failure.
  CloseDb();
  Status reopened = Open();
  if (!reopened.ok()) {
    return Status::IOError(Where() + "catching up with the owner of '" + options.path +
                           "' failed (" + s.ToString() +
                           "), and reopening failed: " + reopened.message());
  }
  return Status::OK();
}

// What the secondary holds in memtables for one column family: the owner's writes it replayed
// from the WAL and the owner has not flushed yet — or, see IsStale, has.
struct RocksDbDirCollector::Impl::Memtables {
  uint64_t entries = 0;  // puts, merges and deletes
  uint64_t deletes = 0;
  uint64_t bytes = 0;
};

RocksDbDirCollector::Impl::Memtables RocksDbDirCollector::Impl::ReadMemtables(
    rocksdb::ColumnFamilyHandle* h) {
  const auto property = [&](const std::string& name) {
    uint64_t v = 0;
    return db->GetIntProperty(h, name, &v) ? v : 0;
  };
  Memtables m;
  m.entries = property(rocksdb::DB::Properties::kNumEntriesActiveMemTable) +
              property(rocksdb::DB::Properties::kNumEntriesImmMemTables);
  m.deletes = property(rocksdb::DB::Properties::kNumDeletesActiveMemTable) +
              property(rocksdb::DB::Properties::kNumDeletesImmMemTables);
  m.bytes = property(rocksdb::DB::Properties::kCurSizeAllMemTables);
  return m;
}

// A 7.8 secondary keeps its active memtable after the owner flushed it, until a WAL record of
// that column family from a newer log arrives (newer RocksDB seals it on catch-up): an idle
// column family would count its last writes twice, in the memtable and in the flushed file.
// Neither the memtable's WAL number nor the column family's flushed log number is public, so
// this is decided from what is: the memtable's contents came from a WAL that existed when its
// entry count last changed, i.e. one numbered at most `newest_wal` then. Once every WAL up to
// that number is gone from the directory, the owner no longer needs any of them — all their
// writes are in SST files — and the memtable is stale. (While another column family still pins
// an old WAL this cannot be told, and the memtable counts until the next write replaces it.)
bool RocksDbDirCollector::Impl::IsStale(const std::string& cf, const Memtables& m) {
  if (m.entries == 0) {
    memtable_seen.erase(cf);
    return false;
  }
  if (!wal_numbers) wal_numbers = WalNumbers();
  const uint64_t newest_wal = wal_numbers->empty() ? 0 : wal_numbers->back();
  // (Entry count, bytes) stands for "the contents changed". A memtable replaced between two
  // collections by one of exactly the same count and size is taken for unchanged: counted as
  // stale once its old WALs are gone, until the next change — a one-collection undercount.
  const MemtableSeen now{m.entries, m.bytes, newest_wal};
  auto [it, inserted] = memtable_seen.try_emplace(cf, now);
  if (inserted || it->second.entries != m.entries || it->second.bytes != m.bytes) {
    it->second = now;
    return false;
  }
  return wal_numbers->empty() || wal_numbers->front() > it->second.newest_wal;
}

// The numbers of the WAL files (NNNNNN.log) in the database directory, ascending.
std::vector<uint64_t> RocksDbDirCollector::Impl::WalNumbers() const {
  std::vector<uint64_t> numbers;
  std::error_code ec;
  for (fs::directory_iterator it(options.path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= 4 || name.compare(name.size() - 4, 4, ".log") != 0) continue;
    uint64_t number = 0;
    auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size() - 4, number);
    if (err == std::errc() && ptr == name.data() + name.size() - 4) numbers.push_back(number);
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

// rocksdb.estimate-num-keys as RocksDB computes it (memtable entries + per-file entries − 2 ×
// deletions, files extrapolated from those whose table properties are loaded — all of them
// with max_open_files=-1), but over the files of the CURRENT version. The property itself sums
// every file a version ever loaded (facebook/rocksdb#813: "historical" on purpose), and in a
// 7.8 secondary each compaction's outputs are added on top of their still-counted inputs: it
// doubled from 3000 to 6000 keys after one compaction of an unchanged database. A collector
// whose key count grows with every compaction would make the growth rules fire on nothing.
uint64_t RocksDbDirCollector::Impl::EstimateNumKeys(const rocksdb::ColumnFamilyMetaData& meta,
                                                    const Memtables& memtables) {
  uint64_t non_deletions = 0, deletions = 0, files = 0, sampled = 0;
  for (const rocksdb::LevelMetaData& level : meta.levels) {
    for (const rocksdb::SstFileMetaData& file : level.files) {
      ++files;
      if (file.num_entries == 0) continue;  // table properties not loaded: extrapolated below
      ++sampled;
      non_deletions += file.num_entries - std::min(file.num_deletions, file.num_entries);
      deletions += file.num_deletions;
    }
  }
  uint64_t in_files = 0;
  if (sampled > 0 && non_deletions > deletions) {
    in_files = non_deletions - deletions;
    if (sampled < files) {
      in_files = static_cast<uint64_t>(static_cast<double>(in_files) * static_cast<double>(files) /
                                       static_cast<double>(sampled));
    }
  }
  const uint64_t keys = in_files + memtables.entries;
  return keys > 2 * memtables.deletes ? keys - 2 * memtables.deletes : 0;
}

void RocksDbDirCollector::Impl::AddDbSamples(int64_t now, std::vector<rules::Sample>* out) {
  const auto property = [this](rocksdb::ColumnFamilyHandle* h, const std::string& name) {
    uint64_t v = 0;
    return db->GetIntProperty(h, name, &v) ? static_cast<double>(v) : 0.0;
  };
  wal_numbers.reset();  // listed at most once per collection, and only when needed
  for (size_t i = 0; i < handles.size(); ++i) {
    rocksdb::ColumnFamilyHandle* h = handles[i];
    const std::string& cf = cf_names[i];
    const rules::Labels labels = Labels({{"cf", cf}});
    rocksdb::ColumnFamilyMetaData meta;
    db->GetColumnFamilyMetaData(h, &meta);
    // Without WAL replay the secondary's memtables stay empty: nothing to read, and no
    // memtable size to report (0 would claim the owner's memtables are empty).
    Memtables memtables;
    if (options.replay_wal) {
      memtables = ReadMemtables(h);
      if (IsStale(cf, memtables)) memtables = Memtables{};  // already in the SST files
    }
    out->push_back(MakeSample("statewatch_rocksdb_estimate_num_keys", labels, now,
                              static_cast<double>(EstimateNumKeys(meta, memtables))));
    out->push_back(
        MakeSample("statewatch_rocksdb_pending_compaction_bytes", labels, now,
                   property(h, rocksdb::DB::Properties::kEstimatePendingCompactionBytes)));
    out->push_back(MakeSample("statewatch_rocksdb_live_data_bytes", labels, now,
                              property(h, rocksdb::DB::Properties::kEstimateLiveDataSize)));
    if (options.replay_wal) {
      out->push_back(MakeSample("statewatch_rocksdb_memtable_bytes", labels, now,
                                static_cast<double>(memtables.bytes)));
    }
    for (const rocksdb::LevelMetaData& level : meta.levels) {
      const rules::Labels level_labels =
          Labels({{"cf", cf}, {"level", std::to_string(level.level)}});
      out->push_back(MakeSample("statewatch_rocksdb_sst_files", level_labels, now,
                                static_cast<double>(level.files.size())));
      out->push_back(MakeSample("statewatch_rocksdb_sst_bytes", level_labels, now,
                                static_cast<double>(level.size)));
    }
    if (auto it = cf_options.find(cf); it != cf_options.end()) {
      out->push_back(MakeSample("statewatch_rocksdb_ttl_compaction_filter", labels, now,
                                it->second.has_ttl_compaction_filter() ? 1.0 : 0.0));
    }
  }
}

void RocksDbDirCollector::Impl::OnLogLine(std::string_view text, bool history) {
  const LogLine line = ParseLogLine(text);
  switch (line.kind) {
    case LogLine::Kind::kOther:
      return;
    case LogLine::Kind::kWritesDelayed:
    case LogLine::Kind::kWritesStopped: {
      if (history) return;  // before the collector started: not a stall of this interval
      const bool stopped = line.kind == LogLine::Kind::kWritesStopped;
      ++stalls[line.cf][stopped ? 1 : 0];
      if (!stopped) interval_delayed_rate = line.value;
      return;
    }
    case LogLine::Kind::kStatisticsHeader:
      in_dump = true;
      dump_hit.reset();
      dump_miss.reset();
      return;
    case LogLine::Kind::kBlockCacheHit:
    case LogLine::Kind::kBlockCacheMiss:
      if (!in_dump) return;
      (line.kind == LogLine::Kind::kBlockCacheHit ? dump_hit : dump_miss) = line.value;
      break;
  }
  if (!dump_hit || !dump_miss) return;
  // A complete dump. Its tickers are cumulative since the owner opened the database, so the
  // ratio comes from the difference to the previous dump; a counter that went back means the
  // owner restarted, and no lookups means there is no ratio — either way none is reported
  // rather than a stale one.
  in_dump = false;
  double ratio = 0;
  if (have_dump &&
      RatioFromCounterDeltas(last_dump_hit, last_dump_miss, *dump_hit, *dump_miss, &ratio)) {
    hit_ratio = ratio;
  } else {
    hit_ratio.reset();
  }
  have_dump = true;
  last_dump_hit = *dump_hit;
  last_dump_miss = *dump_miss;
}

void RocksDbDirCollector::Impl::AddLogSamples(int64_t now, std::vector<rules::Sample>* out) {
  // Every open column family has stall counters (0 until its first stall), so a series exists
  // before its first increase, as Prometheus counters should.
  for (const std::string& cf : cf_names) stalls.try_emplace(cf, std::array<uint64_t, 2>{0, 0});
  for (const auto& [cf, counts] : stalls) {
    out->push_back(MakeSample("statewatch_rocksdb_write_stalls_total",
                              Labels({{"cf", cf}, {"kind", "delayed"}}), now,
                              static_cast<double>(counts[0])));
    out->push_back(MakeSample("statewatch_rocksdb_write_stalls_total",
                              Labels({{"cf", cf}, {"kind", "stopped"}}), now,
                              static_cast<double>(counts[1])));
  }
  out->push_back(MakeSample("statewatch_rocksdb_delayed_write_rate_bytes", Labels({}), now,
                            static_cast<double>(interval_delayed_rate)));
  if (hit_ratio) {
    out->push_back(
        MakeSample("statewatch_rocksdb_block_cache_hit_ratio", Labels({}), now, *hit_ratio));
  }
}

Status RocksDbDirCollector::Impl::Collect(int64_t now, std::vector<rules::Sample>* out) {
  if (!started) {
    // What the LOG holds before the first collection is history: its stalls happened before
    // the collector started (its statistics dumps still serve as the first reading).
    log.Start();
    started = true;
  }
  Status s = CheckDirectory();
  if (!s.ok()) {
    CloseDb();  // the directory went away: the next Collect opens whatever appears there
    return s;
  }
  RefreshOptionsFile();
  SW_RETURN_IF_ERROR(EnsureOpen());

  std::vector<rules::Sample> samples;
  AddDbSamples(now, &samples);
  interval_delayed_rate = 0;
  if (log.Read([this](std::string_view line, bool history) { OnLogLine(line, history); })) {
    AddLogSamples(now, &samples);
  }
  internal::AppendFilesystemSamples(options.path, Labels({}), now, &samples);
  out->insert(out->end(), std::make_move_iterator(samples.begin()),
              std::make_move_iterator(samples.end()));
  return Status::OK();
}

RocksDbDirCollector::RocksDbDirCollector(std::string job, std::string source,
                                         RocksDbDirOptions options)
    : impl_(std::make_unique<Impl>(std::move(job), std::move(source), std::move(options))) {}

RocksDbDirCollector::~RocksDbDirCollector() = default;

Status RocksDbDirCollector::Collect(int64_t now_millis, std::vector<rules::Sample>* out) {
  return impl_->Collect(now_millis, out);
}

namespace {

// Same directory, spelled differently ("/var/db/", "/var/./db", through a symlink)?
bool SamePath(const std::string& a, const std::string& b) {
  const auto normal = [](const std::string& p) {
    std::error_code ec;
    fs::path c = fs::weakly_canonical(p, ec);
    if (ec) c = fs::path(p);
    std::string s = c.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  return normal(a) == normal(b);
}

Result<std::unique_ptr<Collector>> NewRocksDbDirCollector(const CollectorParams& params) {
  OptionReader reader(params.source, "rocksdb_dir", params.options);
  RocksDbDirOptions options;
  Result<std::string> path = reader.Required("path");
  if (!path.ok()) return path.status();
  options.path = *path;
  options.secondary_path = reader.Optional("secondary_path", "");
  options.log_file = reader.Optional("log_file", "");
  Result<bool> replay_wal = reader.Bool("replay_wal", false);
  if (!replay_wal.ok()) return replay_wal.status();
  options.replay_wal = *replay_wal;
  SW_RETURN_IF_ERROR(reader.Finish());
  if (!options.secondary_path.empty() && SamePath(options.secondary_path, options.path)) {
    // The secondary would write its own LOG over the owner's.
    return reader.Error("secondary_path", "must not be the database directory itself");
  }
  return std::unique_ptr<Collector>(
      std::make_unique<RocksDbDirCollector>(params.job, params.source, std::move(options)));
}

}  // namespace

Status RegisterRocksDbDirCollector(CollectorRegistry& registry) {
  return registry.Register(
      "rocksdb_dir",
      "a RocksDB directory owned by another process, read as a secondary instance plus its LOG "
      "(options: path, secondary_path, log_file, replay_wal)",
      NewRocksDbDirCollector);
}

}  // namespace statewatch::collectors
