// Internal: the RocksDB compaction filter that removes expired TTL state (Flink's
// FlinkCompactionFilter, restated for our byte layouts in encoding.h).
//
// Installed, through its factory, on the column family of every state whose TtlConfig has
// cleanup_compaction_filter. During compactions it drops
//   - Value / Reducing / Aggregating values and Map entries whose timestamp has expired, and
//   - expired elements of List values and of List merge operands (rewriting the rest, or
//     dropping the value when no element is left).
// Bytes it cannot parse are kept: it never drops data it does not understand.
//
// RocksDB runs it in compactions only (not flushes), on the newest version of each key and on
// merge operands before they are merged; a value that a compaction produces by merging operands
// into an older base value is filtered by the next compaction that reads it.
//
// The factory's Name(), "statewatch.TtlCompactionFilterFactory", is what RocksDB writes to the
// OPTIONS file's compaction_filter_factory= line; statewatchd's missing-TTL check looks for it.
// Do not rename it.
//
// Thread-safety: the factory may be called from any compaction thread at once. RocksDB gives
// each (sub)compaction its own filter and calls it from one thread, so a filter keeps its clock
// reading without locks. The clock and counter must outlive the database.
#pragma once

#include <rocksdb/compaction_filter.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "statewatch/state/clock.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/ttl_config.h"

namespace statewatch::internal {

inline constexpr char kTtlCompactionFilterFactoryName[] = "statewatch.TtlCompactionFilterFactory";
inline constexpr char kTtlCompactionFilterName[] = "statewatch.TtlCompactionFilter";

// What the filter of one column family knows about its state.
struct TtlCompactionFilterConfig {
  StateKind kind = StateKind::kValue;
  std::chrono::milliseconds ttl{0};  // > 0
  // The clock is read once per this many entries, not per entry, as in Flink's filter: a
  // compaction visits millions of entries and a Clock may be costly to read. REQUIRES: > 0.
  int query_time_after = 1000;
  const Clock* clock = nullptr;              // not owned; thread-safe
  std::atomic<uint64_t>* removed = nullptr;  // not owned; may be null; + expired entries
};

// Decides, entry by entry during one (sub)compaction, what of a TTL state has expired.
// Thread-safety: one compaction thread (RocksDB's contract for factory-made filters).
class TtlCompactionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit TtlCompactionFilter(const TtlCompactionFilterConfig& config);

  Decision FilterV2(int level, const rocksdb::Slice& key, ValueType value_type,
                    const rocksdb::Slice& existing_value, std::string* new_value,
                    std::string* skip_until) const override;
  const char* Name() const override { return kTtlCompactionFilterName; }

 private:
  // "Now", re-read from the clock on the first entry and then every query_time_after entries.
  int64_t Now() const;
  Decision FilterValue(const rocksdb::Slice& value) const;
  Decision FilterList(const rocksdb::Slice& value, std::string* new_value) const;
  void CountRemoved(uint64_t n) const;

  const TtlCompactionFilterConfig config_;
  const TtlConfig ttl_;  // for TtlConfig::IsExpired, the one definition of "expired"
  // FilterV2 is const, yet the cached clock reading changes; safe as each filter instance is
  // used by a single compaction thread.
  mutable int64_t now_ = 0;
  mutable int entries_since_clock_read_;
};

// Set on a column family's options; makes one TtlCompactionFilter per (sub)compaction.
// A factory can be switched off and on and given a new TTL: a state restored before its
// descriptor is registered gets its column family (and this factory) at restore time, and the
// descriptor may then change the TTL length or turn compaction cleanup off (as Flink allows).
// Thread-safety: CreateCompactionFilter and Reconfigure may be called concurrently; a change
// applies to compactions that start afterwards.
class TtlCompactionFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  explicit TtlCompactionFilterFactory(const TtlCompactionFilterConfig& config, bool enabled = true)
      : config_(config), enabled_(enabled) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;
  const char* Name() const override { return kTtlCompactionFilterFactoryName; }

  // Replaces ttl and query_time_after (kind, clock and counter stay) and whether filters run.
  void Reconfigure(std::chrono::milliseconds ttl, int query_time_after, bool enabled);

 private:
  std::mutex mu_;
  TtlCompactionFilterConfig config_;  // GUARDED_BY(mu_)
  bool enabled_;                      // GUARDED_BY(mu_)
};

}  // namespace statewatch::internal
