#include "statewatch/agent/signal_help.h"

#include <utility>

namespace statewatch::agent {
namespace {

constexpr std::pair<std::string_view, std::string_view> kHelp[] = {
    {"statewatch_state_keys", "Keys (key, namespace pairs) in a keyed state."},
    {"statewatch_state_ttl_seconds", "The state's TTL; 0 when it has none."},
    {"statewatch_state_expired_total", "Expired entries removed, by cleanup strategy."},
    {"statewatch_rocksdb_estimate_num_keys",
     "rocksdb.estimate-num-keys of a column family "
     "(an estimate: overwrites and deletes skew it)."},
    {"statewatch_rocksdb_block_cache_hit_ratio",
     "Block cache hits / lookups over the last collection interval."},
    {"statewatch_rocksdb_pending_compaction_bytes",
     "rocksdb.estimate-pending-compaction-bytes of a column family."},
    {"statewatch_rocksdb_delayed_write_rate_bytes",
     "Rate writes are throttled to while RocksDB stalls them (bytes/s); 0 when not stalled."},
    {"statewatch_rocksdb_memtable_bytes", "rocksdb.cur-size-all-mem-tables of a column family."},
    {"statewatch_rocksdb_live_data_bytes", "rocksdb.estimate-live-data-size of a column family."},
    {"statewatch_rocksdb_sst_files", "SST files of a column family per level."},
    {"statewatch_rocksdb_sst_bytes", "Bytes in SST files of a column family per level."},
    {"statewatch_rocksdb_ttl_compaction_filter",
     "1 when the column family's OPTIONS file sets a TTL compaction filter, else 0."},
    {"statewatch_rocksdb_write_stalls_total",
     "Write stall events in the RocksDB LOG, by kind (delayed, stopped)."},
    {"statewatch_checkpoint_full_size_bytes", "Full size of the last completed checkpoint."},
    {"statewatch_checkpoint_delta_size_bytes", "Bytes the last checkpoint added (incremental)."},
    {"statewatch_checkpoint_duration_seconds", "Duration of the last completed checkpoint."},
    {"statewatch_checkpoints_completed_total", "Checkpoints completed since the job started."},
    {"statewatch_checkpoints_failed_total",
     "Checkpoints that failed or timed out since the job started."},
    {"statewatch_checkpoint_timeout_seconds", "The job's configured checkpoint timeout."},
    {"statewatch_checkpoint_shared_bytes",
     "Bytes under the checkpoint root's shared/ (and taskowned/) directories."},
    {"statewatch_checkpoint_retained", "Complete checkpoints present under the root."},
    {"statewatch_checkpoint_incomplete",
     "chk-N directories without _metadata (in progress, or left by a crash)."},
    {"statewatch_checkpoint_latest_id", "N of the latest complete checkpoint chk-N."},
    {"statewatch_checkpoint_last_completed_timestamp_seconds",
     "When the latest complete checkpoint was finished (its _metadata's mtime)."},
    {"statewatch_rocksdb_compaction_pending",
     "1 when RocksDB reports compaction pending for the column family, else 0."},
    {"statewatch_rocksdb_pinned_memory_bytes",
     "Memory the block cache cannot evict: pinned blocks, plus memtables not charged to it."},
    {"statewatch_rocksdb_memory_budget_bytes", "The backend's cache + memtable memory budget."},
    {"statewatch_filesystem_avail_bytes",
     "Bytes an unprivileged writer may still use on the filesystem holding the path."},
    {"statewatch_filesystem_size_bytes", "Size of the filesystem holding the path."},
};

}  // namespace

std::string SignalHelp(std::string_view series) {
  for (const auto& [name, help] : kHelp) {
    if (name == series) return std::string(help);
  }
  return "Collected signal " + std::string(series) + ".";
}

}  // namespace statewatch::agent
