// Key groups: the unit in which keyed state is partitioned, moved and rescaled (Flink's model).
//
// A key's serialized bytes are hashed (MurmurHash3, 32-bit) and the hash modulo maxParallelism
// is its key group, in [0, maxParallelism). An operator instance owns a contiguous, inclusive
// range of key groups; rescaling reassigns ranges and state moves whole key groups at a time.
// The hash depends only on the key's bytes, so it is stable across runs, hosts and backends.
//
// Thread-safety: pure functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace statewatch {

inline constexpr int kDefaultMaxParallelism = 128;
// Key groups are stored as two big-endian bytes in RocksDB keys and savepoints.
inline constexpr int kUpperBoundMaxParallelism = 1 << 15;

// MurmurHash3_x86_32 over `data`.
uint32_t Murmur3Hash32(std::string_view data, uint32_t seed = 0);

// Key group of a serialized key. REQUIRES: 0 < max_parallelism <= kUpperBoundMaxParallelism.
// A power-of-two max_parallelism (the default 128) takes a mask instead of a division: same
// result, and this runs for every record.
inline int KeyGroupForHash(uint32_t hash, int max_parallelism) {
  const auto mp = static_cast<uint32_t>(max_parallelism);
  return static_cast<int>((mp & (mp - 1)) == 0 ? hash & (mp - 1) : hash % mp);
}
inline int KeyGroupForKey(std::string_view serialized_key, int max_parallelism) {
  return KeyGroupForHash(Murmur3Hash32(serialized_key), max_parallelism);
}

// An inclusive range [start, end] of key groups; empty when end < start.
struct KeyGroupRange {
  int start = 0;
  int end = -1;

  static KeyGroupRange All(int max_parallelism) { return {0, max_parallelism - 1}; }
  static KeyGroupRange Empty() { return {0, -1}; }

  bool empty() const { return end < start; }
  int size() const { return empty() ? 0 : end - start + 1; }
  bool Contains(int key_group) const { return key_group >= start && key_group <= end; }
  KeyGroupRange Intersect(const KeyGroupRange& o) const;
  std::string ToString() const;  // "[start, end]"
  bool operator==(const KeyGroupRange&) const = default;
};

// The range owned by operator instance `index` of `parallelism`, as Flink computes it
// (KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex), so ranges are contiguous,
// cover [0, max_parallelism) and differ in size by at most one.
// REQUIRES: 0 < parallelism <= max_parallelism, 0 <= index < parallelism.
KeyGroupRange KeyGroupRangeForOperator(int max_parallelism, int parallelism, int index);

// The operator index owning `key_group` at `parallelism` (inverse of the above).
int OperatorIndexForKeyGroup(int max_parallelism, int parallelism, int key_group);

}  // namespace statewatch
