// Internal: one RocksDB column family as a RawColumn, and the conversions between RocksDB's and
// statewatch's types. Used by the RocksDB backend (one column per state) and by the reader of
// native RocksDB checkpoints (columns of a read-only database).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/slice.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "statewatch/state/internal/raw_column.h"

namespace statewatch::internal {

class TtlCompactionFilterFactory;

inline rocksdb::Slice ToSlice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
inline std::string_view ToView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

// Converts a failed rocksdb::Status, saying what was being done and where. Cold path only: OK
// and NotFound are handled inline by the callers without building a message.
Status FromRocks(const rocksdb::Status& s, std::string_view context);

// One state's column family as a RawColumn. Owns the state's TTL counters, which the column
// family's compaction filter writes to, so it must outlive the database's background work.
// Thread-safety: all methods may be called concurrently; the handle is set once before use.
class RocksDbColumn final : public RawColumn {
 public:
  RocksDbColumn(rocksdb::DB* db, const rocksdb::WriteOptions& write_options, StateMeta meta,
                const std::string& path)
      : db_(db),
        write_options_(write_options),
        meta_(std::move(meta)),
        context_("column family '" + meta_.name + "' in " + path) {}

  Status Get(std::string_view key, std::string* value) override {
    // Unpinned results are written straight into *value; pinned ones (block cache) are copied
    // once — exactly what DB::Get(std::string*) does, minus a call layer.
    rocksdb::PinnableSlice pinned(value);
    const rocksdb::Status s = db_->Get(read_options_, handle_, ToSlice(key), &pinned);
    if (s.ok()) {
      if (pinned.IsPinned()) value->assign(pinned.data(), pinned.size());
      return Status::OK();
    }
    if (s.IsNotFound()) return Status::NotFound("");
    return Error("get", s);
  }

  Status Put(std::string_view key, std::string_view value) override {
    const rocksdb::Status s = db_->Put(write_options_, handle_, ToSlice(key), ToSlice(value));
    return s.ok() ? Status::OK() : Error("put", s);
  }

  Status Merge(std::string_view key, std::string_view operand) override {
    const rocksdb::Status s = db_->Merge(write_options_, handle_, ToSlice(key), ToSlice(operand));
    return s.ok() ? Status::OK() : Error("merge", s);
  }

  Status Delete(std::string_view key) override {
    const rocksdb::Status s = db_->Delete(write_options_, handle_, ToSlice(key));
    return s.ok() ? Status::OK() : Error("delete", s);
  }

  std::unique_ptr<RawIterator> NewIterator(std::string_view lower, std::string_view upper) override;

  TtlCounters& counters() override { return counters_; }

  // The meta the column was created with: its name and layout (kind, TTL on or off) never
  // change; the TTL length and cleanup are the registered descriptor's, in the factory.
  const StateMeta& meta() const { return meta_; }
  // Whether the TTL compaction filter runs on this column now (stats, OPTIONS checks).
  bool has_ttl_compaction_filter() const { return filter_on_.load(std::memory_order_relaxed); }
  const std::shared_ptr<TtlCompactionFilterFactory>& filter_factory() const { return factory_; }
  void set_filter(std::shared_ptr<TtlCompactionFilterFactory> factory, bool on) {
    factory_ = std::move(factory);
    filter_on_.store(on, std::memory_order_relaxed);
  }
  void set_filter_on(bool on) { filter_on_.store(on, std::memory_order_relaxed); }
  rocksdb::ColumnFamilyHandle* handle() const { return handle_; }
  void set_handle(rocksdb::ColumnFamilyHandle* handle) { handle_ = handle; }
  rocksdb::DB* db() const { return db_; }

  Status Error(std::string_view op, const rocksdb::Status& s) const {
    return FromRocks(s, "rocksdb " + std::string(op) + " in " + context_);
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* handle_ = nullptr;  // owned by whoever opened the database
  const rocksdb::WriteOptions write_options_;
  const rocksdb::ReadOptions read_options_;
  const StateMeta meta_;
  const std::string context_;  // for error messages
  TtlCounters counters_;
  std::shared_ptr<TtlCompactionFilterFactory> factory_;  // set before the column family exists
  std::atomic<bool> filter_on_{false};
};

}  // namespace statewatch::internal
