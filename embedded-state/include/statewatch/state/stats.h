// Stats: what the engine reports about its state, for statewatchd's engine collector and for
// anyone who wants to see which state grows.
//
// Counters named *_total are cumulative since the backend was created (Prometheus counters);
// RocksDB Statistics tickers are cumulative since the database was opened — compute ratios such
// as the block-cache hit ratio from deltas between two collections, never from the totals.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/ttl_config.h"

namespace statewatch {

// How expired entries left the state.
struct ExpiredRemoved {
  uint64_t on_read = 0;            // read after expiry (cleared, maybe returned once)
  uint64_t full_snapshot = 0;      // left out of a full snapshot
  uint64_t incremental = 0;        // incremental cleanup on access / per record
  uint64_t compaction_filter = 0;  // dropped by the RocksDB compaction filter
  uint64_t total() const { return on_read + full_snapshot + incremental + compaction_filter; }
};

struct StateStats {
  std::string name;
  StateKind kind = StateKind::kValue;
  // Exact number of (key, namespace) pairs holding this state, as stored (expired entries not
  // yet cleaned up are counted: they still cost memory and disk).
  uint64_t keys = 0;
  // Values (= keys), list elements or map entries.
  uint64_t entries = 0;
  // Serialized size of keys and values (heap: as they would be serialized; RocksDB: logical
  // key+value bytes, before compression and space amplification).
  uint64_t approx_bytes = 0;
  TtlConfig ttl;  // ttl.enabled() == false: no TTL
  ExpiredRemoved expired_removed;
};

// Per column family (= per state) figures read from RocksDB properties.
struct RocksDbColumnFamilyStats {
  std::string name;
  uint64_t estimate_num_keys = 0;                  // rocksdb.estimate-num-keys (an estimate)
  uint64_t estimate_pending_compaction_bytes = 0;  // rocksdb.estimate-pending-compaction-bytes
  uint64_t estimate_live_data_size = 0;            // rocksdb.estimate-live-data-size
  uint64_t cur_size_all_mem_tables = 0;            // rocksdb.cur-size-all-mem-tables
  uint64_t total_sst_files_size = 0;               // rocksdb.total-sst-files-size
  std::vector<uint64_t> sst_files_per_level;       // rocksdb.num-files-at-level<N>
  bool has_ttl_compaction_filter = false;
};

struct RocksDbStats {
  std::string path;
  // Database-wide.
  uint64_t actual_delayed_write_rate = 0;  // bytes/s; 0 when writes are not delayed
  bool is_write_stopped = false;
  uint64_t block_cache_capacity = 0;
  uint64_t block_cache_usage = 0;
  uint64_t block_cache_pinned_usage = 0;  // entries in use, which the cache cannot evict
  uint64_t block_cache_hit_total = 0;     // ticker rocksdb.block.cache.hit
  uint64_t block_cache_miss_total = 0;    // ticker rocksdb.block.cache.miss
  uint64_t memtable_budget_bytes = 0;     // WriteBufferManager buffer size; 0 = no shared budget
  uint64_t memory_budget_bytes = 0;       // cache + memtables cap; 0 = none
  // Sums over column families.
  uint64_t estimate_num_keys = 0;
  uint64_t estimate_pending_compaction_bytes = 0;
  uint64_t estimate_live_data_size = 0;
  uint64_t cur_size_all_mem_tables = 0;
  std::vector<RocksDbColumnFamilyStats> column_families;
};

// One finished (or failed) checkpoint, as Flink's REST API lists them.
struct CheckpointRecord {
  uint64_t id = 0;
  bool completed = false;
  int64_t trigger_millis = 0;
  double duration_seconds = 0;
  uint64_t full_size_bytes = 0;   // Flink's state_size
  uint64_t delta_size_bytes = 0;  // Flink's checkpointed_size: written by this checkpoint
  std::string failure;            // why it failed
};

// What users watch (DESIGN.md: checkpoint full size, delta size, duration), for the collectors.
struct CheckpointStats {
  uint64_t completed = 0;
  uint64_t failed = 0;
  std::optional<CheckpointRecord> last_completed;
  std::vector<CheckpointRecord> history;  // newest last, at most kHistory
  static constexpr size_t kHistory = 32;
};

struct BackendStats {
  std::string backend;              // "hashmap" or "rocksdb"
  int64_t collected_at_millis = 0;  // backend clock
  std::vector<StateStats> states;
  std::optional<RocksDbStats> rocksdb;
  // Published by the backend's CheckpointCoordinator (checkpoint.h); absent without one.
  std::optional<CheckpointStats> checkpoints;
};

}  // namespace statewatch
