// Internal: a byte-level key-value column (one RocksDB column family), the only thing typed
// RocksDB state handles see of RocksDB — so no RocksDB header reaches a public include.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "statewatch/state/internal/key_context.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/status.h"

namespace statewatch::internal {

class RawIterator {
 public:
  virtual ~RawIterator() = default;
  virtual void Seek(std::string_view target) = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

// Thread-safety: all methods may be called concurrently (RocksDB is thread-safe).
class RawColumn {
 public:
  virtual ~RawColumn() = default;
  virtual Status Get(std::string_view key, std::string* value) = 0;  // NotFound when absent
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // Appends list elements through the column's merge operator.
  virtual Status Merge(std::string_view key, std::string_view operand) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // Iterates keys in [lower, upper); an empty `upper` means unbounded.
  virtual std::unique_ptr<RawIterator> NewIterator(std::string_view lower,
                                                   std::string_view upper) = 0;
  // Expired-entry counters of this column's state (the compaction filter adds to them).
  virtual TtlCounters& counters() = 0;
};

// Creates (or finds) the column for a state. Implemented by the RocksDB backend.
class RawStore {
 public:
  virtual ~RawStore() = default;
  // The column of a state being registered; one a restore created is taken over, with the TTL
  // length and cleanup of `meta`.
  virtual Result<RawColumn*> OpenColumn(const StateMeta& meta) = 0;
  // A column for entries restored before their state is registered: laid out as `meta` (the
  // snapshot's), ready for the registered descriptor to change its TTL length or cleanup.
  virtual Result<RawColumn*> OpenColumnForRestore(const StateMeta& meta) = 0;
  // Drops a column created by a restore that then failed. No state may be registered on it.
  virtual Status DropColumn(std::string_view name) = 0;
};

}  // namespace statewatch::internal
