// Internal: the backend's current key and the per-backend facts every state handle reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "statewatch/state/clock.h"
#include "statewatch/state/key_group.h"

namespace statewatch::internal {

// Set by KeyedStateBackend::SetCurrentKey; read by every state handle on each access.
struct KeyContext {
  std::string key;        // serialized current key
  std::string composite;  // AppendComposite(key, "") — the void-namespace composite
  uint32_t hash = 0;      // Murmur3Hash32(key)
  int key_group = -1;     // -1 until a key is set
  uint64_t epoch = 0;     // incremented by every SetCurrentKey; lets states cache lookups
  // The clock reading shared by this record's accesses (Clock::ShareReadingPerRecord).
  mutable int64_t now = 0;
  mutable uint64_t now_epoch = UINT64_MAX;  // no reading yet
};

// Facts fixed for a backend's lifetime, shared by its state handles.
struct BackendEnv {
  const KeyContext* key = nullptr;
  const Clock* clock = nullptr;
  KeyGroupRange range;
  int max_parallelism = kDefaultMaxParallelism;
  size_t max_key_bytes = 0;
  bool share_clock_reading = false;  // clock->ShareReadingPerRecord()

  // "Now" for TTL: one clock reading per record when the clock allows it, else a fresh one.
  int64_t Now() const {
    if (!share_clock_reading) return clock->NowMillis();
    if (key->now_epoch != key->epoch) {
      key->now = clock->NowMillis();
      key->now_epoch = key->epoch;
    }
    return key->now;
  }
};

// Per-state expired-entry counters. Written by the task thread and (RocksDB) compaction
// threads, read by stats collection from any thread: relaxed atomics suffice for counters.
struct TtlCounters {
  std::atomic<uint64_t> on_read{0};
  std::atomic<uint64_t> full_snapshot{0};
  std::atomic<uint64_t> incremental{0};
  std::atomic<uint64_t> compaction_filter{0};

  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    if (n != 0) c.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace statewatch::internal
