// EngineCollector ("engine"): the statewatch engine in the same process, through its stats API.
//
// Labels: `job` and `source` as constructed (source defaults to "engine"; the registry passes
// the source's configured name).
//
// Per state (labels job, source, state):
//   statewatch_state_keys            exact (key, namespace) count
//   statewatch_state_ttl_seconds     0 when the state has no TTL
//   statewatch_state_expired_total   expired entries removed, label cleanup=on_read|
//                                    full_snapshot|incremental|compaction_filter
// Per RocksDB column family (labels job, source, cf):
//   statewatch_rocksdb_estimate_num_keys, statewatch_rocksdb_pending_compaction_bytes,
//   statewatch_rocksdb_live_data_bytes, statewatch_rocksdb_memtable_bytes
// With a CheckpointCoordinator on the backend (labels job, source):
//   statewatch_checkpoint_full_size_bytes, statewatch_checkpoint_delta_size_bytes,
//   statewatch_checkpoint_duration_seconds (the last completed checkpoint),
//   statewatch_checkpoints_completed_total, statewatch_checkpoints_failed_total
// Per RocksDB backend (labels job, source):
//   statewatch_rocksdb_delayed_write_rate_bytes, statewatch_rocksdb_block_cache_hit_ratio (from
//   ticker deltas since the previous collection; absent on the first one and when the interval
//   had no block-cache lookups),
//   statewatch_rocksdb_pinned_memory_bytes (what the block cache cannot evict: its pinned
//   entries — index/filter blocks, blocks held by iterators, the WriteBufferManager's memtable
//   reservations under a memory budget — plus memtables when no budget charges them to the
//   cache), statewatch_rocksdb_memory_budget_bytes (only with a budget), and
//   statewatch_filesystem_avail_bytes / _size_bytes of the working directory (label path)
//
// Thread-safety: as KeyedStateBackend::CollectStats — with the heap backend, call Collect on the
// task thread that drives the backend (or while it is paused).
#pragma once

#include <string>
#include <vector>

#include "statewatch/collectors/collector.h"
#include "statewatch/state/keyed_state_backend.h"

namespace statewatch::collectors {

class CollectorRegistry;

class EngineCollector final : public Collector {
 public:
  // `backend` is not owned and must outlive the collector. `job` and `source` label every
  // sample.
  EngineCollector(std::string job, KeyedStateBackend* backend, std::string source = "engine");

  std::string_view name() const override { return "engine"; }
  Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) override;

 private:
  std::string job_;
  std::string source_;
  KeyedStateBackend* backend_;
  bool have_previous_ = false;
  uint64_t previous_hits_ = 0;
  uint64_t previous_misses_ = 0;
};

// Registers type "engine": option `backend` names one of CollectorParams::engines; when omitted
// and exactly one backend is attached, that one. No other options.
Status RegisterEngineCollector(CollectorRegistry& registry);

}  // namespace statewatch::collectors
