// Internal: turns RocksDbOptions into RocksDB's own option structs, in one place.
//
// The backend opens its database with these, and the benchmarks open their raw-RocksDB baseline
// with the very same functions, so "≤ 1.2× raw RocksDB" compares like with like (same cache,
// bloom filter, memtable sizes, WAL setting).
//
//   RocksDbShared shared = MakeRocksDbShared(options.rocksdb);   // once per database
//   rocksdb::Options db_options = MakeRocksDbOptions(options.rocksdb, shared);
//   rocksdb::ColumnFamilyOptions cf = MakeRocksDbColumnFamilyOptions(options.rocksdb, shared);
//
// Everything memory-related is shared by all column families of one database, as with Flink's
// managed memory: one LRU block cache and, with a memory budget, one WriteBufferManager that
// charges every memtable to that cache, so block cache + memtables stay within the budget.
//
// Thread-safety: pure functions; the returned shared objects are thread-safe (RocksDB's).
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/write_buffer_manager.h>

#include <memory>

#include "statewatch/state/backend_options.h"
#include "statewatch/state/status.h"

namespace statewatch::internal {

// The objects every column family of one database shares. Keep one per database: two
// databases given the same RocksDbShared would also share (and compete for) one budget.
struct RocksDbShared {
  std::shared_ptr<rocksdb::Cache> block_cache;
  // nullptr when memory_budget_bytes == 0 (memtables are then bounded per column family only).
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffer_manager;
  // nullptr when enable_statistics is false.
  std::shared_ptr<rocksdb::Statistics> statistics;
};

// InvalidArgument naming the option ("rocksdb.write_buffer_ratio …") when a knob is out of
// range. Does not look at local_directory (the backend checks the directory itself).
Status ValidateRocksDbOptions(const RocksDbOptions& options);

// REQUIRES: ValidateRocksDbOptions(options).ok().
RocksDbShared MakeRocksDbShared(const RocksDbOptions& options);

// Database-wide options: create_if_missing, background jobs, statistics, the shared
// WriteBufferManager, bounded info-log files.
rocksdb::DBOptions MakeRocksDbDBOptions(const RocksDbOptions& options, const RocksDbShared& shared);

// Per column family options, identical for every state: table format with the shared block
// cache and bloom filter, memtable size and count. No merge operator or compaction filter;
// the backend adds those per state kind and TTL.
rocksdb::ColumnFamilyOptions MakeRocksDbColumnFamilyOptions(const RocksDbOptions& options,
                                                            const RocksDbShared& shared);

// Both of the above in one rocksdb::Options (for DB::Open of a single-column-family database).
rocksdb::Options MakeRocksDbOptions(const RocksDbOptions& options, const RocksDbShared& shared);

// disableWAL as configured: checkpoints, not the WAL, make state durable.
rocksdb::WriteOptions MakeRocksDbWriteOptions(const RocksDbOptions& options);

}  // namespace statewatch::internal
