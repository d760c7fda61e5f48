#include "rocksdb_options.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <cmath>
#include <string>

namespace statewatch::internal {

namespace {

Status OutOfRange(const char* key, const std::string& expected, const std::string& got) {
  return Status::InvalidArgument(std::string("rocksdb.") + key + " must be " + expected + ", got " +
                                 got);
}

}  // namespace

Status ValidateRocksDbOptions(const RocksDbOptions& o) {
  if (o.write_buffer_bytes == 0) {
    return OutOfRange("write_buffer_size", "positive", std::to_string(o.write_buffer_bytes));
  }
  if (o.max_write_buffer_number < 1) {
    return OutOfRange("max_write_buffer_number", "at least 1",
                      std::to_string(o.max_write_buffer_number));
  }
  // Written as negations so that NaN fails too.
  if (!(o.write_buffer_ratio > 0 && o.write_buffer_ratio <= 1)) {
    return OutOfRange("write_buffer_ratio", "in (0, 1]", std::to_string(o.write_buffer_ratio));
  }
  if (!(o.high_priority_pool_ratio >= 0 && o.high_priority_pool_ratio < 1)) {
    return OutOfRange("high_priority_pool_ratio", "in [0, 1)",
                      std::to_string(o.high_priority_pool_ratio));
  }
  if (!(o.bloom_filter_bits_per_key >= 0 && std::isfinite(o.bloom_filter_bits_per_key))) {
    return OutOfRange("bloom_filter_bits_per_key", "0 (off) or positive",
                      std::to_string(o.bloom_filter_bits_per_key));
  }
  if (o.max_background_jobs < 1) {
    return OutOfRange("max_background_jobs", "at least 1", std::to_string(o.max_background_jobs));
  }
  return Status::OK();
}

RocksDbShared MakeRocksDbShared(const RocksDbOptions& o) {
  RocksDbShared shared;
  rocksdb::LRUCacheOptions cache;
  if (o.memory_budget_bytes > 0) {
    // The cache holds the whole budget; memtables take their share of it through the
    // WriteBufferManager's dummy entries, so cache + memtables never exceed the budget.
    cache.capacity = o.memory_budget_bytes;
    cache.high_pri_pool_ratio = o.high_priority_pool_ratio;
  } else {
    cache.capacity = o.block_cache_bytes;  // RocksDB's default midpoint insertion otherwise
  }
  shared.block_cache = rocksdb::NewLRUCache(cache);
  if (o.memory_budget_bytes > 0) {
    const auto memtable_bytes =
        static_cast<size_t>(static_cast<double>(o.memory_budget_bytes) * o.write_buffer_ratio);
    shared.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(memtable_bytes, shared.block_cache);
  }
  if (o.enable_statistics) shared.statistics = rocksdb::CreateDBStatistics();
  return shared;
}

rocksdb::DBOptions MakeRocksDbDBOptions(const RocksDbOptions& o, const RocksDbShared& shared) {
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.max_background_jobs = o.max_background_jobs;
  db.statistics = shared.statistics;
  db.write_buffer_manager = shared.write_buffer_manager;
  // The LOG stays at INFO: statewatchd reads its "Stalling writes" lines and stats dumps.
  // Bound it so a long-running job does not fill the disk with old logs.
  db.max_log_file_size = 16u << 20;
  db.keep_log_file_num = 4;
  return db;
}

rocksdb::ColumnFamilyOptions MakeRocksDbColumnFamilyOptions(const RocksDbOptions& o,
                                                            const RocksDbShared& shared) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = shared.block_cache;
  if (o.bloom_filter_bits_per_key > 0) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(o.bloom_filter_bits_per_key));
  }
  if (o.memory_budget_bytes > 0) {
    // Index and filter blocks count against the budget too, kept in the high-priority pool so
    // data blocks do not evict them; L0's stay pinned as they are read on every lookup.
    table.cache_index_and_filter_blocks = true;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
  }
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = o.write_buffer_bytes;
  cf.max_write_buffer_number = o.max_write_buffer_number;
  return cf;
}

rocksdb::Options MakeRocksDbOptions(const RocksDbOptions& o, const RocksDbShared& shared) {
  return rocksdb::Options(MakeRocksDbDBOptions(o, shared),
                          MakeRocksDbColumnFamilyOptions(o, shared));
}

rocksdb::WriteOptions MakeRocksDbWriteOptions(const RocksDbOptions& o) {
  rocksdb::WriteOptions w;
  w.disableWAL = o.disable_wal;
  return w;
}

}  // namespace statewatch::internal
