#include "rocksdb_backend.h"

#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/statistics.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "backends.h"
#include "list_merge_operator.h"
#include "ttl_compaction_filter.h"

namespace statewatch::internal {

namespace {

rocksdb::Slice ToSlice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
std::string_view ToView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

// Converts a failed rocksdb::Status, saying what was being done and where. Cold path only: OK
// and NotFound are handled inline by the callers without building a message.
Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNotSupported()) return Status::NotSupported(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsNoSpace() || s.IsMemoryLimit()) return Status::ResourceExhausted(msg);
  if (s.IsShutdownInProgress()) return Status::FailedPrecondition(msg);
  return Status::IOError(msg);
}

// Makes `dir` an existing directory that holds no database yet.
Status PrepareDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && st.type() != fs::file_type::not_found) {
    return Status::IOError("cannot access rocksdb.local_directory '" + dir + "': " + ec.message());
  }
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return Status::IOError("rocksdb.local_directory '" + dir + "' exists and is not a directory");
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) {
      return Status::IOError("cannot create rocksdb.local_directory '" + dir +
                             "': " + ec.message());
    }
  }
  if (fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return Status::FailedPrecondition(
        "rocksdb.local_directory '" + dir +
        "' already holds a RocksDB database; state is restored from checkpoints, not by reusing "
        "a working directory");
  }
  return Status::OK();
}

}  // namespace

// One state's column family as a RawColumn. Owns the state's TTL counters, which the column
// family's compaction filter writes to, so it outlives the database (see the destructor).
// Thread-safety: all methods may be called concurrently; the handle is set once before use.
class RocksDbColumn final : public RawColumn {
 public:
  RocksDbColumn(rocksdb::DB* db, const rocksdb::WriteOptions& write_options, StateMeta meta,
                const std::string& path)
      : db_(db),
        write_options_(write_options),
        meta_(std::move(meta)),
        context_("column family '" + meta_.name + "' in " + path) {}

  Status Get(std::string_view key, std::string* value) override {
    // Unpinned results are written straight into *value; pinned ones (block cache) are copied
    // once — exactly what DB::Get(std::string*) does, minus a call layer.
    rocksdb::PinnableSlice pinned(value);
    const rocksdb::Status s = db_->Get(read_options_, handle_, ToSlice(key), &pinned);
    if (s.ok()) {
      if (pinned.IsPinned()) value->assign(pinned.data(), pinned.size());
      return Status::OK();
    }
    if (s.IsNotFound()) return Status::NotFound("");
    return Error("get", s);
  }

  Status Put(std::string_view key, std::string_view value) override {
    const rocksdb::Status s = db_->Put(write_options_, handle_, ToSlice(key), ToSlice(value));
    return s.ok() ? Status::OK() : Error("put", s);
  }

  Status Merge(std::string_view key, std::string_view operand) override {
    const rocksdb::Status s = db_->Merge(write_options_, handle_, ToSlice(key), ToSlice(operand));
    return s.ok() ? Status::OK() : Error("merge", s);
  }

  Status Delete(std::string_view key) override {
    const rocksdb::Status s = db_->Delete(write_options_, handle_, ToSlice(key));
    return s.ok() ? Status::OK() : Error("delete", s);
  }

  std::unique_ptr<RawIterator> NewIterator(std::string_view lower, std::string_view upper) override;

  TtlCounters& counters() override { return counters_; }

  const StateMeta& meta() const { return meta_; }
  bool has_ttl_compaction_filter() const {
    return meta_.ttl.enabled() && meta_.ttl.cleanup_compaction_filter;
  }
  rocksdb::ColumnFamilyHandle* handle() const { return handle_; }
  void set_handle(rocksdb::ColumnFamilyHandle* handle) { handle_ = handle; }
  rocksdb::DB* db() const { return db_; }

  Status Error(std::string_view op, const rocksdb::Status& s) const {
    return FromRocks(s, "rocksdb " + std::string(op) + " in " + context_);
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* handle_ = nullptr;  // owned by the backend
  const rocksdb::WriteOptions write_options_;
  const rocksdb::ReadOptions read_options_;
  const StateMeta meta_;
  const std::string context_;  // for error messages
  TtlCounters counters_;
};

namespace {

// A RocksDB iterator over [lower, upper) of one column family. Owns the bound strings that
// ReadOptions points to, so they live exactly as long as the iterator.
// Thread-safety: one thread at a time; must be destroyed before the backend.
class RocksDbIterator final : public RawIterator {
 public:
  RocksDbIterator(const RocksDbColumn* column, std::string_view lower, std::string_view upper)
      : column_(column), lower_(lower), upper_(upper), lower_slice_(lower_), upper_slice_(upper_) {
    rocksdb::ReadOptions options;
    if (!lower_.empty()) options.iterate_lower_bound = &lower_slice_;
    if (!upper_.empty()) options.iterate_upper_bound = &upper_slice_;
    it_.reset(column->db()->NewIterator(options, column->handle()));
  }
  RocksDbIterator(const RocksDbIterator&) = delete;
  RocksDbIterator& operator=(const RocksDbIterator&) = delete;

  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return ToView(it_->key()); }
  std::string_view value() const override { return ToView(it_->value()); }
  Status status() const override {
    const rocksdb::Status s = it_->status();
    return s.ok() ? Status::OK() : column_->Error("iteration", s);
  }

 private:
  const RocksDbColumn* column_;
  const std::string lower_;
  const std::string upper_;
  const rocksdb::Slice lower_slice_;
  const rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::unique_ptr<RawIterator> RocksDbColumn::NewIterator(std::string_view lower,
                                                        std::string_view upper) {
  return std::make_unique<RocksDbIterator>(this, lower, upper);
}

Result<std::unique_ptr<RocksDbKeyedStateBackend>> RocksDbKeyedStateBackend::Open(
    const BackendOptions& given) {
  // NewKeyedStateBackend fills these in; tests that call Open directly need not.
  BackendOptions options = given;
  if (options.clock == nullptr) options.clock = SystemClock::Default();
  if (options.key_group_range.empty()) {
    options.key_group_range = KeyGroupRange::All(options.max_parallelism);
  }
  const RocksDbOptions& ro = options.rocksdb;
  if (ro.local_directory.empty()) {
    return Status::InvalidArgument("rocksdb.local_directory is required");
  }
  SW_RETURN_IF_ERROR(ValidateRocksDbOptions(ro));
  SW_RETURN_IF_ERROR(PrepareDirectory(ro.local_directory));

  RocksDbShared shared = MakeRocksDbShared(ro);
  rocksdb::DBOptions db_options = MakeRocksDbDBOptions(ro, shared);
  // Backstop for the CURRENT check above, should another process create a database in between.
  db_options.error_if_exists = true;
  rocksdb::ColumnFamilyOptions cf_options = MakeRocksDbColumnFamilyOptions(ro, shared);
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::Open(rocksdb::Options(db_options, cf_options), ro.local_directory, &raw_db);
  if (!s.ok()) {
    return FromRocks(s, "cannot open RocksDB database in '" + ro.local_directory + "'");
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);
  return std::unique_ptr<RocksDbKeyedStateBackend>(new RocksDbKeyedStateBackend(
      options, std::move(shared), std::move(cf_options), std::move(db)));
}

RocksDbKeyedStateBackend::RocksDbKeyedStateBackend(const BackendOptions& options,
                                                   RocksDbShared shared,
                                                   rocksdb::ColumnFamilyOptions cf_options,
                                                   std::unique_ptr<rocksdb::DB> db)
    : KeyedStateBackend(options, this),
      path_(options.rocksdb.local_directory),
      options_(options.rocksdb),
      shared_(std::move(shared)),
      cf_options_(std::move(cf_options)),
      write_options_(MakeRocksDbWriteOptions(options.rocksdb)),
      db_(std::move(db)) {}

RocksDbKeyedStateBackend::~RocksDbKeyedStateBackend() {
  // States first: they hold RawColumn pointers (and may hold iterators).
  DestroyStates();
  std::lock_guard<std::mutex> lock(columns_mu_);
  for (auto& [name, column] : columns_) {
    rocksdb::Status s = db_->DestroyColumnFamilyHandle(column->handle());
    s.PermitUncheckedError();  // only fails for the default handle, which is not in columns_
    column->set_handle(nullptr);
  }
  // Close waits for running flushes and compactions (whose TTL filters write to the columns'
  // counters) and flushes memtables, as the WAL is off. Nothing to report a failure to here.
  rocksdb::Status s = db_->Close();
  s.PermitUncheckedError();
  db_.reset();
  columns_.clear();
}

RocksDbColumn* RocksDbKeyedStateBackend::FindColumn(std::string_view name) const {
  std::lock_guard<std::mutex> lock(columns_mu_);
  auto it = columns_.find(name);
  return it == columns_.end() ? nullptr : it->second.get();
}

Result<RawColumn*> RocksDbKeyedStateBackend::OpenColumn(const StateMeta& meta) {
  std::lock_guard<std::mutex> lock(columns_mu_);
  if (auto it = columns_.find(meta.name); it != columns_.end()) return it->second.get();
  if (meta.name == rocksdb::kDefaultColumnFamilyName) {
    return Status::InvalidArgument("state name '" + meta.name +
                                   "' is reserved by RocksDB (its default column family); the "
                                   "rocksdb backend cannot store a state under it");
  }
  // The column comes first: the compaction filter needs the address of its counter.
  auto column = std::make_unique<RocksDbColumn>(db_.get(), write_options_, meta, path_);
  rocksdb::ColumnFamilyOptions cf = cf_options_;
  if (meta.kind == StateKind::kList) cf.merge_operator = NewListAppendOperator();
  if (column->has_ttl_compaction_filter()) {
    TtlCompactionFilterConfig config;
    config.kind = meta.kind;
    config.ttl = meta.ttl.ttl;
    config.query_time_after = std::max(1, meta.ttl.compaction_query_time_after);
    config.clock = &clock();
    config.removed = &column->counters().compaction_filter;
    cf.compaction_filter_factory = std::make_shared<TtlCompactionFilterFactory>(config);
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  const rocksdb::Status s = db_->CreateColumnFamily(cf, meta.name, &handle);
  if (!s.ok()) {
    return FromRocks(s, "cannot create column family '" + meta.name + "' for state '" + meta.name +
                            "' in " + path_);
  }
  column->set_handle(handle);
  RawColumn* result = column.get();
  columns_.emplace(meta.name, std::move(column));
  return result;
}

Status RocksDbKeyedStateBackend::Flush() {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  {
    std::lock_guard<std::mutex> lock(columns_mu_);
    for (const auto& [name, column] : columns_) handles.push_back(column->handle());
  }
  if (handles.empty()) return Status::OK();
  rocksdb::FlushOptions flush;
  flush.wait = true;
  const rocksdb::Status s = db_->Flush(flush, handles);
  return s.ok() ? Status::OK() : FromRocks(s, "rocksdb flush in " + path_);
}

Status RocksDbKeyedStateBackend::CompactState(std::string_view state_name) {
  RocksDbColumn* column = FindColumn(state_name);
  if (column == nullptr) {
    return Status::NotFound("no state named '" + std::string(state_name) + "'");
  }
  rocksdb::CompactRangeOptions compact;
  // Rewrite the bottommost level too: that is where old, expired data sits. (kForceOptimized
  // skips files this very compaction just wrote.)
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  compact.exclusive_manual_compaction = false;  // background compactions keep running
  const rocksdb::Status s = db_->CompactRange(compact, column->handle(), nullptr, nullptr);
  return s.ok() ? Status::OK() : column->Error("compaction", s);
}

Status RocksDbKeyedStateBackend::AddBackendStats(BackendStats* stats) {
  RocksDbStats r;
  r.path = path_;
  uint64_t v = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &v)) {
    r.actual_delayed_write_rate = v;
  }
  if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &v)) {
    r.is_write_stopped = v != 0;
  }
  r.block_cache_capacity = shared_.block_cache->GetCapacity();
  r.block_cache_usage = shared_.block_cache->GetUsage();
  if (shared_.statistics != nullptr) {
    r.block_cache_hit_total = shared_.statistics->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
    r.block_cache_miss_total = shared_.statistics->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
  }
  if (shared_.write_buffer_manager != nullptr) {
    r.memtable_budget_bytes = shared_.write_buffer_manager->buffer_size();
  }
  r.memory_budget_bytes = options_.memory_budget_bytes;

  // Handles live until the destructor, so the properties can be read without holding the lock.
  std::vector<const RocksDbColumn*> columns;
  {
    std::lock_guard<std::mutex> lock(columns_mu_);
    for (const auto& [name, column] : columns_) columns.push_back(column.get());
  }
  const auto int_property = [this](rocksdb::ColumnFamilyHandle* cf, const std::string& name) {
    uint64_t value = 0;
    return db_->GetIntProperty(cf, name, &value) ? value : 0;
  };
  for (const RocksDbColumn* column : columns) {
    rocksdb::ColumnFamilyHandle* cf = column->handle();
    RocksDbColumnFamilyStats c;
    c.name = column->meta().name;
    c.estimate_num_keys = int_property(cf, rocksdb::DB::Properties::kEstimateNumKeys);
    c.estimate_pending_compaction_bytes =
        int_property(cf, rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
    c.estimate_live_data_size = int_property(cf, rocksdb::DB::Properties::kEstimateLiveDataSize);
    c.cur_size_all_mem_tables = int_property(cf, rocksdb::DB::Properties::kCurSizeAllMemTables);
    c.total_sst_files_size = int_property(cf, rocksdb::DB::Properties::kTotalSstFilesSize);
    c.sst_files_per_level.assign(static_cast<size_t>(cf_options_.num_levels), 0);
    std::string text;
    for (int level = 0; level < cf_options_.num_levels; ++level) {
      if (!db_->GetProperty(
              cf, rocksdb::DB::Properties::kNumFilesAtLevelPrefix + std::to_string(level), &text)) {
        continue;
      }
      uint64_t files = 0;
      std::from_chars(text.data(), text.data() + text.size(), files);
      c.sst_files_per_level[static_cast<size_t>(level)] = files;
    }
    c.has_ttl_compaction_filter = column->has_ttl_compaction_filter();

    r.estimate_num_keys += c.estimate_num_keys;
    r.estimate_pending_compaction_bytes += c.estimate_pending_compaction_bytes;
    r.estimate_live_data_size += c.estimate_live_data_size;
    r.cur_size_all_mem_tables += c.cur_size_all_mem_tables;
    r.column_families.push_back(std::move(c));
  }
  stats->rocksdb = std::move(r);
  return Status::OK();
}

Result<std::unique_ptr<KeyedStateBackend>> NewRocksDbKeyedStateBackend(
    const BackendOptions& options) {
  Result<std::unique_ptr<RocksDbKeyedStateBackend>> backend =
      RocksDbKeyedStateBackend::Open(options);
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<KeyedStateBackend>(std::move(*backend));
}

}  // namespace statewatch::internal
