#include "statewatch/state/keyed_state_backend.h"

#include <algorithm>
#include <string>

#include "backends.h"
#include "statewatch/state/internal/rocksdb_state.h"
#include "statewatch/state/keyed_snapshot.h"

namespace statewatch {

KeyedStateBackend::KeyedStateBackend(const BackendOptions& options, internal::RawStore* raw_store)
    : raw_store_(raw_store) {
  env_.key = &key_;
  env_.clock = options.clock;
  env_.range = options.key_group_range;
  env_.max_parallelism = options.max_parallelism;
  env_.max_key_bytes = options.max_key_bytes;
  env_.share_clock_reading = options.clock != nullptr && options.clock->ShareReadingPerRecord();
}

KeyedStateBackend::~KeyedStateBackend() {
  DestroyStates();
}

void KeyedStateBackend::DestroyStates() {
  std::lock_guard<std::mutex> lock(mu_);
  every_record_cleanup_.clear();
  states_.clear();
}

Status KeyedStateBackend::AdoptScratchKey() {
  if (scratch_key_.size() > env_.max_key_bytes) {
    return Status::InvalidArgument("key of " + std::to_string(scratch_key_.size()) +
                                   " bytes exceeds max_key_bytes (" +
                                   std::to_string(env_.max_key_bytes) + ")");
  }
  const uint32_t hash = Murmur3Hash32(scratch_key_);
  const int key_group = KeyGroupForHash(hash, env_.max_parallelism);
  if (!env_.range.Contains(key_group)) {
    return Status::InvalidArgument("key belongs to key group " + std::to_string(key_group) +
                                   ", outside this backend's range " + env_.range.ToString());
  }
  key_.key.swap(scratch_key_);
  key_.composite.clear();
  internal::AppendComposite(&key_.composite, key_.key, {});
  key_.hash = hash;
  key_.key_group = key_group;
  ++key_.epoch;
  for (internal::KvStateImpl* state : every_record_cleanup_) state->RunIncrementalCleanup();
  return Status::OK();
}

Status KeyedStateBackend::RestoreFromSnapshots(const std::vector<std::string>& paths) {
  std::vector<RestoreSource> sources;
  for (const std::string& path : paths) sources.push_back(KeyedSnapshotRestoreSource(path));
  return RestoreFrom(sources);
}

Status KeyedStateBackend::RestoreFrom(const std::vector<RestoreSource>& sources) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!states_.empty() || restore_called_) {
    return Status::FailedPrecondition(
        "restore must come before any state is registered, and only once");
  }
  std::map<std::string, RestoredState, std::less<>> taken;
  std::vector<std::string> columns;  // RocksDB: created by this restore
  Status s = ReadRestoreSourcesLocked(sources, &taken, &columns);
  if (!s.ok()) {
    // Nothing restored: drop what was written so far (best effort; the error is the read's).
    for (const std::string& name : columns) (void)raw_store_->DropColumn(name);
    return s;
  }
  restored_ = std::move(taken);
  restore_called_ = true;
  return Status::OK();
}

Status KeyedStateBackend::ReadRestoreSourcesLocked(
    const std::vector<RestoreSource>& sources,
    std::map<std::string, RestoredState, std::less<>>* taken, std::vector<std::string>* columns) {
  for (const RestoreSource& source : sources) {
    // The state of the previous entry: entries come grouped by state, so this is one compare.
    RestoredState* state = nullptr;
    internal::RawColumn* column = nullptr;
    Result<RestoreSourceInfo> info =
        source.read([&](const StateMeta& meta, const StateEntry& e) -> Status {
          if (!env_.range.Contains(e.key_group)) return Status::OK();  // another instance's
          if (state == nullptr || state->meta.name != meta.name) {
            auto [it, fresh] = taken->try_emplace(meta.name);
            state = &it->second;
            column = nullptr;
            if (fresh) {
              state->meta = meta;
            } else if (!(state->meta == meta)) {
              return Status::InvalidArgument("snapshot " + source.name + ": state '" + meta.name +
                                             "' is " + meta.ToString() + " here but " +
                                             state->meta.ToString() + " in an earlier file");
            }
            if (raw_store_ != nullptr) {
              Result<internal::RawColumn*> c = raw_store_->OpenColumnForRestore(meta);
              if (!c.ok()) return c.status();
              if (fresh) columns->push_back(meta.name);
              column = *c;
            }
          }
          if (column != nullptr) return internal::WriteRestoredEntry(*column, meta, e);
          state->entries.push_back({e.key_group, std::string(e.key), std::string(e.ns),
                                    std::string(e.user_key), std::string(e.value), e.timestamp});
          return Status::OK();
        });
    if (!info.ok()) return info.status();
    if (info->max_parallelism != env_.max_parallelism) {
      return Status::InvalidArgument(
          "snapshot " + source.name + " was taken with max_parallelism " +
          std::to_string(info->max_parallelism) + "; this backend has " +
          std::to_string(env_.max_parallelism) + " (key groups cannot be remapped)");
    }
    // States without entries in this range still exist: register them as restored (empty).
    for (const StateMeta& meta : info->states) {
      auto [it, fresh] = taken->try_emplace(meta.name);
      if (fresh) it->second.meta = meta;
    }
  }
  return Status::OK();
}

Result<KeyedStateBackend::NativeCheckpoint> KeyedStateBackend::CreateNativeCheckpoint(
    const std::string& /*name*/) {
  return Status::NotSupported("the " + std::string(backend_name()) +
                              " backend has no native checkpoints");
}

std::vector<std::string> KeyedStateBackend::PendingRestoredStates() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, state] : restored_) names.push_back(name);
  return names;
}

Status KeyedStateBackend::CheckRestoredLocked(const StateMeta& meta) const {
  auto it = restored_.find(meta.name);
  if (it == restored_.end()) return Status::OK();
  const StateMeta& was = it->second.meta;
  // The stored layout depends on these; the TTL length and cleanup may change (as in Flink).
  if (was.kind != meta.kind || was.value_serializer != meta.value_serializer ||
      was.user_key_serializer != meta.user_key_serializer ||
      was.ttl.enabled() != meta.ttl.enabled()) {
    return Status::InvalidArgument("state '" + meta.name + "' was snapshotted as " +
                                   was.ToString() + " and cannot be restored as " +
                                   meta.ToString());
  }
  return Status::OK();
}

Status KeyedStateBackend::ApplyRestoredLocked(const std::string& name,
                                              internal::KvStateImpl* impl) {
  auto it = restored_.find(name);
  if (it == restored_.end()) return Status::OK();
  for (const RestoredEntry& r : it->second.entries)
    SW_RETURN_IF_ERROR(impl->RestoreEntry(r.view()));
  restored_.erase(it);
  return Status::OK();
}

Status KeyedStateBackend::CheckRegistrationLocked(const StateMeta& meta) const {
  if (meta.name.empty()) return Status::InvalidArgument("state name must not be empty");
  // RocksDB's own column family; refused on both backends so a job can switch backends.
  if (meta.name == "default") {
    return Status::InvalidArgument(
        "state name 'default' is reserved (RocksDB's default column "
        "family); choose another name");
  }
  const TtlConfig& ttl = meta.ttl;
  if (ttl.ttl.count() < 0) {
    return Status::InvalidArgument("state '" + meta.name + "': negative TTL");
  }
  if (ttl.enabled() && ttl.cleanup_incremental && ttl.incremental_cleanup_size <= 0) {
    return Status::InvalidArgument("state '" + meta.name +
                                   "': incremental cleanup size must be positive");
  }
  if (ttl.enabled() && ttl.cleanup_compaction_filter && ttl.compaction_query_time_after <= 0) {
    return Status::InvalidArgument("state '" + meta.name +
                                   "': compaction filter query_time_after must be positive");
  }
  auto it = states_.find(meta.name);
  if (it != states_.end() && !(it->second.meta == meta)) {
    return Status::InvalidArgument("state '" + meta.name + "' is already registered as " +
                                   it->second.meta.ToString() + "; cannot register it as " +
                                   meta.ToString());
  }
  return Status::OK();
}

Status KeyedStateBackend::TypeMismatch(const StateMeta& meta) {
  return Status::InvalidArgument("state '" + meta.name +
                                 "' is registered with the same serializer ids but another C++ "
                                 "type; serializer ids must name one type each");
}

Status KeyedStateBackend::MissingFunction(const StateMeta& meta) {
  return Status::InvalidArgument("state '" + meta.name +
                                 "': " + std::string(StateKindName(meta.kind)) +
                                 " needs a reduce/aggregate function");
}

internal::KvStateImpl* KeyedStateBackend::FindLocked(std::string_view name) const {
  auto it = states_.find(name);
  return it == states_.end() ? nullptr : it->second.impl.get();
}

std::vector<std::string> KeyedStateBackend::StateNames() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, reg] : states_) names.push_back(name);
  return names;
}

std::vector<std::string> KeyedStateBackend::SnapshotStateNames() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, reg] : states_) names.push_back(name);
  for (const auto& [name, restored] : restored_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

Result<StateMeta> KeyedStateBackend::GetStateMeta(std::string_view state_name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = states_.find(state_name); it != states_.end()) return it->second.meta;
  if (auto it = restored_.find(state_name); it != restored_.end()) return it->second.meta;
  return Status::NotFound("no state named '" + std::string(state_name) + "'");
}

Status KeyedStateBackend::ScanState(std::string_view state_name, const ScanOptions& options,
                                    const StateEntryVisitor& visitor) {
  internal::KvStateImpl* impl;
  {
    std::lock_guard<std::mutex> lock(mu_);
    impl = FindLocked(state_name);
    if (impl == nullptr) return ScanRestoredLocked(state_name, options, visitor);
  }
  return impl->Scan(options, visitor);
}

Status KeyedStateBackend::ScanRestoredLocked(std::string_view state_name,
                                             const ScanOptions& options,
                                             const StateEntryVisitor& visitor) {
  auto it = restored_.find(state_name);
  if (it == restored_.end()) {
    return Status::NotFound("no state named '" + std::string(state_name) + "'");
  }
  const StateMeta& meta = it->second.meta;
  const KeyGroupRange range =
      options.range.empty() ? env_.range : options.range.Intersect(env_.range);
  if (raw_store_ != nullptr) {  // RocksDB: the entries are in the column already
    Result<internal::RawColumn*> column = raw_store_->OpenColumnForRestore(meta);
    if (!column.ok()) return column.status();
    internal::RawScanOptions scan;
    scan.range = range;
    uint64_t dropped = 0;
    return internal::ScanRawColumn(**column, meta, scan, visitor, &dropped);
  }
  for (const RestoredEntry& r : it->second.entries) {
    if (!range.Contains(r.key_group)) continue;
    if (!visitor(r.view())) break;
  }
  return Status::OK();
}

Status KeyedStateBackend::ForEachKey(
    std::string_view state_name, KeyGroupRange range,
    const std::function<bool(int, std::string_view, std::string_view)>& visitor) {
  // Entries of one (key, namespace) arrive together on both backends: report each run once.
  std::string last_key, last_ns;
  int last_group = -1;
  ScanOptions options;
  options.range = range;
  return ScanState(state_name, options, [&](const StateEntry& e) {
    if (e.key_group == last_group && e.key == last_key && e.ns == last_ns) return true;
    last_group = e.key_group;
    last_key.assign(e.key);
    last_ns.assign(e.ns);
    return visitor(e.key_group, e.key, e.ns);
  });
}

Status KeyedStateBackend::AddBackendStats(BackendStats*) {
  return Status::OK();
}

Status KeyedStateBackend::CompactState(std::string_view state_name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (FindLocked(state_name) == nullptr) {
    return Status::NotFound("no state named '" + std::string(state_name) + "'");
  }
  return Status::OK();
}

void KeyedStateBackend::PublishCheckpointStats(const CheckpointStats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  checkpoint_stats_ = stats;
}

Result<BackendStats> KeyedStateBackend::CollectStats() {
  BackendStats stats;
  stats.backend = std::string(backend_name());
  stats.collected_at_millis = env_.clock->NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, reg] : states_) {
      Result<StateStats> s = reg.impl->Stats();
      if (!s.ok()) return s.status();
      stats.states.push_back(std::move(*s));
    }
    stats.checkpoints = checkpoint_stats_;
  }
  SW_RETURN_IF_ERROR(AddBackendStats(&stats));
  return stats;
}

Result<std::unique_ptr<KeyedStateBackend>> NewKeyedStateBackend(const BackendOptions& options) {
  BackendOptions o = options;
  if (o.max_parallelism <= 0 || o.max_parallelism > kUpperBoundMaxParallelism) {
    return Status::InvalidArgument("max_parallelism must be in [1, " +
                                   std::to_string(kUpperBoundMaxParallelism) + "], got " +
                                   std::to_string(o.max_parallelism));
  }
  if (o.key_group_range.empty()) o.key_group_range = KeyGroupRange::All(o.max_parallelism);
  if (o.key_group_range.start < 0 || o.key_group_range.end >= o.max_parallelism) {
    return Status::InvalidArgument("key_group_range " + o.key_group_range.ToString() +
                                   " is outside [0, " + std::to_string(o.max_parallelism - 1) +
                                   "]");
  }
  if (o.max_key_bytes == 0) return Status::InvalidArgument("max_key_bytes must be positive");
  if (o.clock == nullptr) o.clock = SystemClock::Default();
  if (o.backend == "hashmap") return internal::NewHeapKeyedStateBackend(o);
  if (o.backend == "rocksdb") return internal::NewRocksDbKeyedStateBackend(o);
  return Status::InvalidArgument("unknown state backend '" + o.backend +
                                 "': expected 'hashmap' or 'rocksdb'");
}

}  // namespace statewatch
