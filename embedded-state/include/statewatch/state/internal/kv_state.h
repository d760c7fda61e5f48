// Internal: the type-erased side of a keyed state handle, used by the backend for stats,
// iteration over key groups and (issue #4) snapshots. Every typed state implementation derives
// from both its public interface (ValueState<T>, …) and KvStateImpl.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "statewatch/state/key_group.h"
#include "statewatch/state/state.h"
#include "statewatch/state/stats.h"
#include "statewatch/state/status.h"

namespace statewatch {

// One stored entry in canonical, backend-neutral form: what a savepoint writes and what
// iteration yields. A List yields one entry per element, in order; a Map one per map entry.
struct StateEntry {
  int key_group = 0;
  std::string_view key;              // serialized key
  std::string_view ns;               // serialized namespace (empty = void)
  std::string_view user_key;         // serialized map key; empty for other kinds
  std::string_view value;            // serialized value / element / accumulator, without timestamp
  int64_t timestamp = kNoTimestamp;  // TTL last-access time in ms

  static constexpr int64_t kNoTimestamp = INT64_MIN;
};

// Returns false to stop the scan.
using StateEntryVisitor = std::function<bool(const StateEntry&)>;

struct ScanOptions {
  KeyGroupRange range = KeyGroupRange::Empty();  // empty = the backend's whole range
  // Apply full-snapshot TTL cleanup: skip expired entries (and count them) when the state's
  // TtlConfig asks for cleanup_full_snapshot. Set by snapshot writers.
  bool for_snapshot = false;
};

namespace internal {

class KvStateImpl {
 public:
  virtual ~KvStateImpl() = default;
  virtual const StateMeta& meta() const = 0;
  virtual State* AsState() = 0;
  // Visits stored entries in key-group order (physical: expired-but-present entries included
  // unless options.for_snapshot applies the cleanup).
  virtual Status Scan(const ScanOptions& options, const StateEntryVisitor& visitor) = 0;
  // Exact counts; heap: task thread only.
  virtual Result<StateStats> Stats() = 0;
  // The per-record incremental cleanup hook (TtlConfig::incremental_cleanup_every_record).
  virtual void RunIncrementalCleanup() {}
  // Stores one entry from a snapshot, TTL timestamp as it was (restore): a list element is
  // appended, a map entry or a value replaces what is there. e.key_group must lie in the
  // backend's range. Corruption when a serialized part does not decode.
  virtual Status RestoreEntry(const StateEntry& e) = 0;
};

}  // namespace internal
}  // namespace statewatch
