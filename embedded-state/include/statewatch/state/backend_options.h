// BackendOptions: everything that configures a KeyedStateBackend, in one commented struct.
//
// Behaviour fields first, then RocksDB performance knobs. Every knob is shared by all states of
// one backend, like Flink's managed memory: one block cache and one memtable budget serve every
// column family.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "statewatch/state/clock.h"
#include "statewatch/state/key_group.h"
#include "statewatch/state/status.h"

namespace statewatch {

struct RocksDbOptions {
  // Working directory of the database. REQUIRED. Created if missing; must not already hold a
  // database (state is brought back by restoring a checkpoint, never by reusing a working dir).
  // Left in place, memtables flushed, when the backend closes, so tools can inspect it; delete
  // it before reusing the path.
  std::string local_directory;

  // --- Memory ---
  // Block cache for all column families.
  size_t block_cache_bytes = 64u << 20;
  // Per column family memtable size and count before writes stall.
  size_t write_buffer_bytes = 32u << 20;
  int max_write_buffer_number = 2;
  // If > 0, caps block cache + memtables of all column families together: the block cache gets
  // this capacity and memtables are charged to it through a WriteBufferManager limited to
  // `write_buffer_ratio` of it (Flink's managed-memory model). block_cache_bytes is then ignored.
  size_t memory_budget_bytes = 0;
  double write_buffer_ratio = 0.5;
  // Share of the cache reserved for index and filter blocks when a budget is set.
  double high_priority_pool_ratio = 0.1;

  // --- Reads ---
  // Bloom filter bits per key; 0 disables filters. 10 gives ~1 % false positives.
  double bloom_filter_bits_per_key = 10;

  // --- Background work and observability ---
  int max_background_jobs = 2;
  // Statistics tickers (block-cache hit/miss …) for the stats API. Costs a few percent.
  bool enable_statistics = true;
  // Writes skip the WAL: checkpoints, not the log, make state durable (as in Flink).
  bool disable_wal = true;
};

struct BackendOptions {
  // "hashmap" (objects on the heap) or "rocksdb".
  std::string backend = "hashmap";

  // Key groups: keys hash into [0, max_parallelism); this backend owns `key_group_range`
  // (empty = all of them). Writing a key outside the range is an error.
  int max_parallelism = kDefaultMaxParallelism;
  KeyGroupRange key_group_range = KeyGroupRange::Empty();

  // Largest serialized key (and map user key) accepted; bigger ones are InvalidArgument.
  size_t max_key_bytes = 64u << 10;

  // Where "now" comes from for TTL. nullptr = SystemClock. Not owned; must outlive the backend.
  const Clock* clock = nullptr;

  RocksDbOptions rocksdb;
};

// Reads options from flat "key: value" pairs, the shape of a YAML mapping or Flink's
// configuration. Keys: backend, max_parallelism, key_group_range ("start-end"), max_key_bytes,
// rocksdb.local_directory, rocksdb.block_cache_size, rocksdb.write_buffer_size,
// rocksdb.max_write_buffer_number, rocksdb.memory_budget, rocksdb.write_buffer_ratio,
// rocksdb.high_priority_pool_ratio, rocksdb.bloom_filter_bits_per_key,
// rocksdb.max_background_jobs, rocksdb.enable_statistics, rocksdb.disable_wal.
// Sizes accept plain bytes or a unit: "64MiB", "1GiB", "512KiB", "64mb".
// Unknown keys and malformed values are InvalidArgument naming the key and what was expected.
Result<BackendOptions> ParseBackendOptions(const std::map<std::string, std::string>& config);

// Parses "64MiB", "1g", "4096" into bytes; InvalidArgument otherwise.
Result<uint64_t> ParseByteSize(const std::string& text);

}  // namespace statewatch
