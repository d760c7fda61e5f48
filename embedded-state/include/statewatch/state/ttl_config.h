// TtlConfig: time-to-live for one state, with Flink's update types, visibility and cleanup.
//
// A stored value (a List element, a Map entry) carries the timestamp of its last write — or last
// access, with OnReadAndWrite — and is expired once `timestamp + ttl <= now`.
//
//   TtlConfig ttl = TtlConfig::Of(std::chrono::hours(24 * 7))
//                       .SetUpdateType(TtlUpdateType::kOnCreateAndWrite)
//                       .SetVisibility(TtlVisibility::kNeverReturnExpired)
//                       .CleanupInRocksdbCompactFilter(1000);
//
// Cleanup strategies decide when expired data is physically removed (visibility decides whether
// a read may still see it): on a full snapshot (expired entries are left out of the snapshot),
// incrementally (each state access also checks a few entries, heap and RocksDB), and in RocksDB
// compactions (a CompactionFilter drops expired values, list elements and map entries). Several
// may be combined. Without any, expired data is removed only when read.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace statewatch {

// On-disk values (savepoint metadata): do not renumber.
enum class TtlUpdateType : uint8_t {
  kOnCreateAndWrite = 1,  // timestamp set when the value is created or written
  kOnReadAndWrite = 2,    // reads refresh the timestamp too
};

enum class TtlVisibility : uint8_t {
  kNeverReturnExpired = 1,           // an expired value reads as NotFound
  kReturnExpiredIfNotCleanedUp = 2,  // returned (once) if still physically present
};

struct TtlConfig {
  // Zero means TTL disabled.
  std::chrono::milliseconds ttl{0};
  TtlUpdateType update_type = TtlUpdateType::kOnCreateAndWrite;
  TtlVisibility visibility = TtlVisibility::kNeverReturnExpired;

  // Cleanup: full snapshot. Snapshot iteration skips (and counts) expired entries.
  bool cleanup_full_snapshot = false;

  // Cleanup: incremental. Every state access also examines `incremental_cleanup_size` entries
  // of the same state and removes the expired ones; `incremental_cleanup_every_record` also
  // runs it when the backend processes a record for any state (Flink's runCleanupForEveryRecord).
  bool cleanup_incremental = false;
  int incremental_cleanup_size = 5;
  bool incremental_cleanup_every_record = false;

  // Cleanup: RocksDB compaction filter. Re-reads the clock every `compaction_query_time_after`
  // entries (reading it per entry would slow compactions; Flink's default is 1000).
  // Ignored by the heap backend.
  bool cleanup_compaction_filter = false;
  int compaction_query_time_after = 1000;

  static TtlConfig Disabled() { return TtlConfig{}; }
  static TtlConfig Of(std::chrono::milliseconds ttl_duration) {
    TtlConfig c;
    c.ttl = ttl_duration;
    return c;
  }
  TtlConfig& SetUpdateType(TtlUpdateType t) {
    update_type = t;
    return *this;
  }
  TtlConfig& SetVisibility(TtlVisibility v) {
    visibility = v;
    return *this;
  }
  TtlConfig& CleanupFullSnapshot() {
    cleanup_full_snapshot = true;
    return *this;
  }
  TtlConfig& CleanupIncrementally(int size, bool every_record = false) {
    cleanup_incremental = true;
    incremental_cleanup_size = size;
    incremental_cleanup_every_record = every_record;
    return *this;
  }
  TtlConfig& CleanupInRocksdbCompactFilter(int query_time_after_num_entries = 1000) {
    cleanup_compaction_filter = true;
    compaction_query_time_after = query_time_after_num_entries;
    return *this;
  }

  bool enabled() const { return ttl.count() > 0; }
  // Expired when ts + ttl <= now (saturating: a far-future ts never overflows).
  bool IsExpired(int64_t ts_millis, int64_t now_millis) const {
    return ts_millis <= now_millis - ttl.count();
  }
  std::string ToString() const;
  bool operator==(const TtlConfig&) const = default;
};

}  // namespace statewatch
