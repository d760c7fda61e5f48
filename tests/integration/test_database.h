// A small real RocksDB database for integration tests, written and closed by the test (the
// daemon opens it as a secondary, as it would a live job's).
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

namespace statewatch::testing {

// Keys "order-0" … "order-<keys-1>" in column family "orders" (plus an empty default), flushed.
// With `erase`, those keys are deleted instead and the column family compacted, so the
// estimate of its keys drops to zero.
inline void MakeDatabase(const std::string& path, int keys, bool erase = false) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"orders", rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, path, cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  for (int i = 0; i < keys; ++i) {
    const std::string key = "order-" + std::to_string(i);
    ASSERT_TRUE((erase ? db->Delete({}, handles[1], key) : db->Put({}, handles[1], key, "v")).ok());
  }
  ASSERT_TRUE(db->Flush({}, handles[1]).ok());
  if (erase) {
    ASSERT_TRUE(db->CompactRange({}, handles[1], nullptr, nullptr).ok());
  }
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
}

}  // namespace statewatch::testing
