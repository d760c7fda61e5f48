// KeyedStateBackend: where a task's keyed state lives — on the heap ("hashmap") or in RocksDB.
//
//   BackendOptions options;                 // or ParseBackendOptions({{"backend", "rocksdb"}, …})
//   options.backend = "rocksdb";
//   options.rocksdb.local_directory = "/var/lib/job/state";
//   auto backend = NewKeyedStateBackend(options);          // Result<unique_ptr<…>>
//   auto counts = (*backend)->GetValueState(ValueStateDescriptor<int64_t>("count"));
//   (*backend)->SetCurrentKey(std::string("customer-42"));
//   auto n = (*counts)->Value();                             // NotFound the first time
//   (*counts)->Update(n.value_or(0) + 1);
//
// As in Flink, the backend has a *current key*: every state handle reads and writes the value of
// that key. The key's serialized bytes pick its key group; the backend owns a key-group range and
// refuses keys outside it. State handles returned by Get*State stay valid for the backend's life;
// asking again for the same name returns the same handle, or InvalidArgument when kind,
// serializers or TTL differ.
//
// Thread-safety: SetCurrentKey and every state handle belong to one task thread. Get*State,
// StateNames and (RocksDB backend) CollectStats may be called from other threads. With the heap
// backend, CollectStats and ScanState iterate live hash maps: call them from the task thread
// (or while it is paused).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/state/backend_options.h"
#include "statewatch/state/internal/heap_state.h"
#include "statewatch/state/internal/key_context.h"
#include "statewatch/state/internal/kv_state.h"
#include "statewatch/state/internal/raw_column.h"
#include "statewatch/state/internal/rocksdb_state.h"
#include "statewatch/state/serializer.h"
#include "statewatch/state/state.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/stats.h"
#include "statewatch/state/status.h"

namespace statewatch {

class KeyedStateBackend {
 public:
  virtual ~KeyedStateBackend();
  KeyedStateBackend(const KeyedStateBackend&) = delete;
  KeyedStateBackend& operator=(const KeyedStateBackend&) = delete;

  // "hashmap" or "rocksdb".
  virtual std::string_view backend_name() const = 0;
  const KeyGroupRange& key_group_range() const { return env_.range; }
  int max_parallelism() const { return env_.max_parallelism; }
  const Clock& clock() const { return *env_.clock; }

  // --- Current key ---
  // Serializes `key`, computes its key group and makes it current. InvalidArgument when the
  // serialized key exceeds max_key_bytes or falls outside this backend's key-group range.
  template <typename K>
  Status SetCurrentKey(const K& key) {
    scratch_key_.clear();
    Serializer<K>::Serialize(key, &scratch_key_);
    return AdoptScratchKey();
  }
  Status SetCurrentKeyBytes(std::string_view serialized_key) {
    scratch_key_.assign(serialized_key);
    return AdoptScratchKey();
  }
  // The current key's bytes and group; key_group is -1 before the first SetCurrentKey.
  const std::string& current_key_bytes() const { return key_.key; }
  int current_key_group() const { return key_.key_group; }

  // --- States ---
  template <typename T>
  Result<ValueState<T>*> GetValueState(const ValueStateDescriptor<T>& d) {
    return GetOrCreate<ValueState<T>>(d.meta(), [&] {
      return Make<internal::HeapValueState<T>, internal::RocksValueState<T>>(d);
    });
  }
  template <typename T>
  Result<ListState<T>*> GetListState(const ListStateDescriptor<T>& d) {
    return GetOrCreate<ListState<T>>(
        d.meta(), [&] { return Make<internal::HeapListState<T>, internal::RocksListState<T>>(d); });
  }
  template <typename K, typename V>
  Result<MapState<K, V>*> GetMapState(const MapStateDescriptor<K, V>& d) {
    return GetOrCreate<MapState<K, V>>(d.meta(), [&] {
      return Make<internal::HeapMapState<K, V>, internal::RocksMapState<K, V>>(d);
    });
  }
  template <typename T>
  Result<ReducingState<T>*> GetReducingState(const ReducingStateDescriptor<T>& d) {
    if (!d.reduce_function()) return MissingFunction(d.meta());
    return GetOrCreate<ReducingState<T>>(d.meta(), [&] {
      return Make<internal::HeapReducingState<T>, internal::RocksReducingState<T>>(d);
    });
  }
  template <typename IN, typename ACC, typename OUT>
  Result<AggregatingState<IN, OUT>*> GetAggregatingState(
      const AggregatingStateDescriptor<IN, ACC, OUT>& d) {
    if (!d.aggregate_function()) return MissingFunction(d.meta());
    return GetOrCreate<AggregatingState<IN, OUT>>(d.meta(), [&] {
      return Make<internal::HeapAggregatingState<IN, ACC, OUT>,
                  internal::RocksAggregatingState<IN, ACC, OUT>>(d);
    });
  }

  // Registered states.
  std::vector<std::string> StateNames() const;
  // Registered states and those restored but not registered yet: what a snapshot or checkpoint
  // must carry, so state a job has not touched since the restore is not lost (as in Flink).
  // GetStateMeta and ScanState know both.
  std::vector<std::string> SnapshotStateNames() const;
  Result<StateMeta> GetStateMeta(std::string_view state_name) const;

  // --- Iteration ---
  // Visits every stored entry of a state within `options.range` (default: the whole backend
  // range) in key-group order, in canonical form. NotFound for an unknown state.
  Status ScanState(std::string_view state_name, const ScanOptions& options,
                   const StateEntryVisitor& visitor);
  // Visits each distinct (key, namespace) of a state in `range` once (empty = whole range).
  Status ForEachKey(
      std::string_view state_name, KeyGroupRange range,
      const std::function<bool(int key_group, std::string_view key, std::string_view ns)>& visitor);
  // Flink's getKeys(state, namespace): deserialized keys having the state in namespace `ns`.
  template <typename K, typename N = std::string>
  Result<std::vector<K>> GetKeys(std::string_view state_name, const N& ns = N()) {
    std::string ns_bytes = SerializeToString(ns);
    std::vector<K> keys;
    bool bad = false;
    Status s = ForEachKey(state_name, KeyGroupRange::Empty(),
                          [&](int, std::string_view key, std::string_view key_ns) {
                            if (key_ns != ns_bytes) return true;
                            K k;
                            if (!Serializer<K>::Deserialize(key, &k)) {
                              bad = true;
                              return false;
                            }
                            keys.push_back(std::move(k));
                            return true;
                          });
    if (!s.ok()) return s;
    if (bad) return Status::Corruption("state '" + std::string(state_name) + "': undecodable key");
    return keys;
  }

  // --- Restore ---
  // Restores keyed state from snapshots (keyed_snapshot.h: savepoints, full checkpoints)
  // written by either backend at any parallelism: from every file, the entries whose key group
  // lies in this backend's range are taken, the others skipped — so N old instances' files
  // restore into M new ones. Call it before registering any state (FailedPrecondition after).
  // The RocksDB backend writes the entries into their column families as it reads; the heap
  // backend keeps them until the state is registered (Get*State) and stores them then. TTL
  // timestamps are kept. The descriptor must keep the snapshot's kind and serializers and
  // whether TTL is on (InvalidArgument naming both otherwise; the TTL length and cleanup may
  // change). A snapshot of another max_parallelism is InvalidArgument; any read error
  // (ReadKeyedSnapshot) is returned with nothing restored.
  Status RestoreFromSnapshots(const std::vector<std::string>& paths);

  // What a restore source held besides its entries, and how to read it.
  struct RestoreSourceInfo {
    int max_parallelism = 0;
    std::vector<StateMeta> states;  // every state, with entries in this range or not
  };
  using RestoreVisitor = std::function<Status(const StateMeta&, const StateEntry&)>;
  struct RestoreSource {
    std::string name;  // the file or directory, for messages
    // Reads the source, handing every entry (of any key group) to the visitor.
    std::function<Result<RestoreSourceInfo>(const RestoreVisitor&)> read;
  };
  // RestoreFromSnapshots for any source of canonical entries (checkpoint.h uses it for native
  // RocksDB checkpoints). Same rules and errors.
  Status RestoreFrom(const std::vector<RestoreSource>& sources);
  // States restored but not registered yet.
  std::vector<std::string> PendingRestoredStates() const;

  // --- Native checkpoints ---
  struct NativeCheckpoint {
    std::string directory;    // a RocksDB checkpoint: SST files, MANIFEST, OPTIONS, CURRENT
    std::string db_identity;  // names the database's SST files uniquely across databases
  };
  // RocksDB: flushes every memtable and writes a RocksDB checkpoint of the database into a new
  // directory `name` inside the working directory (SST files are hard links, so it costs no
  // copy). Incremental checkpoints are built from it; the caller removes the directory.
  // NotSupported for the heap backend.
  virtual Result<NativeCheckpoint> CreateNativeCheckpoint(const std::string& name);

  // --- Maintenance ---
  // RocksDB: flush all memtables to SST files / run a manual full compaction of one state's
  // column family (the TTL compaction filter runs there). Heap: nothing to do, OK.
  virtual Status Flush() { return Status::OK(); }
  virtual Status CompactState(std::string_view state_name);

  // --- Stats ---
  // Per state: exact keys and entries, bytes, TTL, expired-entry removals by cleanup; for
  // RocksDB also the database properties and tickers (see stats.h).
  Result<BackendStats> CollectStats();
  // Called by a CheckpointCoordinator after each checkpoint, so CollectStats carries them.
  // Any thread.
  void PublishCheckpointStats(const CheckpointStats& stats);

 protected:
  KeyedStateBackend(const BackendOptions& options, internal::RawStore* raw_store);
  // Backend-specific additions to CollectStats (RocksDB properties).
  virtual Status AddBackendStats(BackendStats* stats);
  // Flushes hooks a subclass needs before states are destroyed.
  void DestroyStates();

 private:
  struct Registered {
    StateMeta meta;
    std::unique_ptr<internal::KvStateImpl> impl;
  };

  template <typename HeapImpl, typename RocksImpl, typename Descriptor>
  Result<std::unique_ptr<internal::KvStateImpl>> Make(const Descriptor& d) {
    if (raw_store_ == nullptr) {
      return std::unique_ptr<internal::KvStateImpl>(std::make_unique<HeapImpl>(env_, d));
    }
    Result<internal::RawColumn*> column = raw_store_->OpenColumn(d.meta());
    if (!column.ok()) return column.status();
    return std::unique_ptr<internal::KvStateImpl>(std::make_unique<RocksImpl>(env_, *column, d));
  }

  template <typename S, typename MakeFn>
  Result<S*> GetOrCreate(const StateMeta& meta, MakeFn make) {
    std::lock_guard<std::mutex> lock(mu_);
    Result<internal::KvStateImpl*> impl = FindOrRegisterLocked(meta, make);
    if (!impl.ok()) return impl.status();
    S* typed = dynamic_cast<S*>((*impl)->AsState());
    if (typed == nullptr) return TypeMismatch(meta);
    return typed;
  }

  template <typename MakeFn>
  Result<internal::KvStateImpl*> FindOrRegisterLocked(const StateMeta& meta, MakeFn& make) {
    SW_RETURN_IF_ERROR(CheckRegistrationLocked(meta));
    auto it = states_.find(meta.name);
    if (it != states_.end()) return it->second.impl.get();
    SW_RETURN_IF_ERROR(CheckRestoredLocked(meta));
    Result<std::unique_ptr<internal::KvStateImpl>> made = make();
    if (!made.ok()) return made.status();
    internal::KvStateImpl* raw = made->get();
    SW_RETURN_IF_ERROR(ApplyRestoredLocked(meta.name, raw));
    if (meta.ttl.enabled() && meta.ttl.cleanup_incremental &&
        meta.ttl.incremental_cleanup_every_record) {
      every_record_cleanup_.push_back(raw);
    }
    states_.emplace(meta.name, Registered{meta, std::move(*made)});
    return raw;
  }

  // Validates a descriptor; for a known name, checks it matches the earlier registration.
  Status CheckRegistrationLocked(const StateMeta& meta) const;
  // A state restored from a snapshot must be registered compatibly (RestoreFromSnapshots).
  Status CheckRestoredLocked(const StateMeta& meta) const;
  // ScanState of a state restored but not registered.
  Status ScanRestoredLocked(std::string_view state_name, const ScanOptions& options,
                            const StateEntryVisitor& visitor);
  // Stores the restored entries of `name` (if any) into its new handle and forgets them.
  Status ApplyRestoredLocked(const std::string& name, internal::KvStateImpl* impl);
  // Validates scratch_key_ and makes it the current key (swapping buffers: no copy).
  Status AdoptScratchKey();
  static Status TypeMismatch(const StateMeta& meta);
  static Status MissingFunction(const StateMeta& meta);
  internal::KvStateImpl* FindLocked(std::string_view name) const;

  internal::KeyContext key_;
  internal::BackendEnv env_;
  internal::RawStore* raw_store_;  // nullptr for the heap backend
  std::string scratch_key_;
  std::vector<internal::KvStateImpl*> every_record_cleanup_;

  // Entries from RestoreFromSnapshots waiting for their state's registration.
  struct RestoredEntry {
    int key_group;
    std::string key, ns, user_key, value;
    int64_t timestamp;
    // The entry in canonical form; views into this object.
    StateEntry view() const { return {key_group, key, ns, user_key, value, timestamp}; }
  };
  struct RestoredState {
    StateMeta meta;
    std::vector<RestoredEntry> entries;
  };
  // RestoreFrom's reading: entries into `taken` (heap) or straight into columns it creates,
  // whose names it adds to `columns` (RocksDB).
  Status ReadRestoreSourcesLocked(const std::vector<RestoreSource>& sources,
                                  std::map<std::string, RestoredState, std::less<>>* taken,
                                  std::vector<std::string>* columns);

  mutable std::mutex mu_;  // guards states_ and restored_
  std::map<std::string, Registered, std::less<>> states_;
  std::map<std::string, RestoredState, std::less<>> restored_;
  bool restore_called_ = false;
  std::optional<CheckpointStats> checkpoint_stats_;  // GUARDED_BY(mu_)
};

// Creates a backend from options: "hashmap" or "rocksdb". InvalidArgument for an unknown backend
// name or bad option; IOError naming the directory when RocksDB cannot open it.
Result<std::unique_ptr<KeyedStateBackend>> NewKeyedStateBackend(const BackendOptions& options);

}  // namespace statewatch
