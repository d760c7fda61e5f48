#include "rocksdb_backend.h"

#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/statistics.h>
#include <rocksdb/utilities/checkpoint.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "backends.h"
#include "list_merge_operator.h"
#include "rocksdb_column.h"
#include "ttl_compaction_filter.h"

namespace statewatch::internal {

namespace {

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
  dropped_columns_.clear();
}

RocksDbColumn* RocksDbKeyedStateBackend::FindColumn(std::string_view name) const {
  std::lock_guard<std::mutex> lock(columns_mu_);
  auto it = columns_.find(name);
  return it == columns_.end() ? nullptr : it->second.get();
}

Result<RawColumn*> RocksDbKeyedStateBackend::OpenColumn(const StateMeta& meta) {
  std::lock_guard<std::mutex> lock(columns_mu_);
  if (auto it = columns_.find(meta.name); it != columns_.end()) {
    // Created by a restore: the registered descriptor decides the TTL length and cleanup.
    RocksDbColumn* column = it->second.get();
    const bool filter = meta.ttl.enabled() && meta.ttl.cleanup_compaction_filter;
    if (column->filter_factory() != nullptr) {
      column->filter_factory()->Reconfigure(
          meta.ttl.ttl, std::max(1, meta.ttl.compaction_query_time_after), filter);
      column->set_filter_on(filter);
    }
    return column;
  }
  return CreateColumnLocked(meta, /*for_restore=*/false);
}

Result<RawColumn*> RocksDbKeyedStateBackend::OpenColumnForRestore(const StateMeta& meta) {
  std::lock_guard<std::mutex> lock(columns_mu_);
  if (auto it = columns_.find(meta.name); it != columns_.end()) return it->second.get();
  return CreateColumnLocked(meta, /*for_restore=*/true);
}

Result<RawColumn*> RocksDbKeyedStateBackend::CreateColumnLocked(const StateMeta& meta,
                                                                bool for_restore) {
  if (meta.name == rocksdb::kDefaultColumnFamilyName) {
    return Status::InvalidArgument("state name '" + meta.name +
                                   "' is reserved by RocksDB (its default column family); the "
                                   "rocksdb backend cannot store a state under it");
  }
  // The column comes first: the compaction filter needs the address of its counter.
  auto column = std::make_unique<RocksDbColumn>(db_.get(), write_options_, meta, path_);
  rocksdb::ColumnFamilyOptions cf = cf_options_;
  if (meta.kind == StateKind::kList) cf.merge_operator = NewListAppendOperator();
  const bool filter = meta.ttl.enabled() && meta.ttl.cleanup_compaction_filter;
  // A factory is fixed when the column family is created, so a restored TTL state gets one
  // even with the filter off: its descriptor may turn compaction cleanup on at registration.
  if (filter || (for_restore && meta.ttl.enabled())) {
    TtlCompactionFilterConfig config;
    config.kind = meta.kind;
    config.ttl = meta.ttl.ttl;
    config.query_time_after = std::max(1, meta.ttl.compaction_query_time_after);
    config.clock = &clock();
    config.removed = &column->counters().compaction_filter;
    auto factory = std::make_shared<TtlCompactionFilterFactory>(config, filter);
    cf.compaction_filter_factory = factory;
    column->set_filter(std::move(factory), filter);
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

Status RocksDbKeyedStateBackend::DropColumn(std::string_view name) {
  std::lock_guard<std::mutex> lock(columns_mu_);
  auto it = columns_.find(name);
  if (it == columns_.end()) return Status::NotFound("no column family '" + std::string(name) + "'");
  rocksdb::ColumnFamilyHandle* handle = it->second->handle();
  rocksdb::Status s = db_->DropColumnFamily(handle);
  if (!s.ok()) return it->second->Error("drop", s);
  s = db_->DestroyColumnFamilyHandle(handle);
  if (!s.ok()) return it->second->Error("close", s);
  // A compaction that was running may still count into the column's counters: keep it alive.
  it->second->set_handle(nullptr);
  dropped_columns_.push_back(std::move(it->second));
  columns_.erase(it);
  return Status::OK();
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

Result<KeyedStateBackend::NativeCheckpoint> RocksDbKeyedStateBackend::CreateNativeCheckpoint(
    const std::string& name) {
  NativeCheckpoint out;
  out.directory = (std::filesystem::path(path_) / name).string();
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocks(s, "cannot start a RocksDB checkpoint of " + path_);
  const std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: flush every memtable first, so the checkpoint holds all the state
  // in SST files and needs no WAL (which is off by default, as in Flink).
  s = checkpoint->CreateCheckpoint(out.directory, /*log_size_for_flush=*/0);
  if (!s.ok()) return FromRocks(s, "cannot create a RocksDB checkpoint in " + out.directory);
  s = db_->GetDbIdentity(out.db_identity);
  if (!s.ok()) return FromRocks(s, "cannot read the database identity of " + path_);
  return out;
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
  r.block_cache_pinned_usage = shared_.block_cache->GetPinnedUsage();
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
