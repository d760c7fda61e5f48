// Internal: the "rocksdb" keyed-state backend — one RocksDB database in a working directory,
// one column family per state.
//
// The typed RocksDB states (rocksdb_state.h) see the database only as RawColumns handed out by
// OpenColumn. Each column family gets the options of rocksdb_options.h, plus the list merge
// operator for List states and the TTL compaction filter for states that ask for compaction
// cleanup. Every rocksdb::Status becomes a statewatch::Status here, naming the directory and
// column family.
//
// The working directory must not already hold a database: state comes back by restoring a
// checkpoint, never by reopening a working directory. The directory is left in place on close
// (with memtables flushed), so tools and tests can inspect it afterwards.
//
// Thread-safety: as KeyedStateBackend. OpenColumn, Flush, CompactState and AddBackendStats may
// run concurrently (columns_mu_ guards the column map); RawColumns are thread-safe.
#pragma once

#include <rocksdb/db.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdb_options.h"
#include "statewatch/state/keyed_state_backend.h"

namespace statewatch::internal {

class RocksDbColumn;

class RocksDbKeyedStateBackend final : public KeyedStateBackend, private RawStore {
 public:
  // Opens a new database in options.rocksdb.local_directory (created with its parents).
  // InvalidArgument: no directory configured, or a knob out of range. IOError: the directory
  // cannot be created or is not a directory, or RocksDB cannot open it. FailedPrecondition: the
  // directory already holds a RocksDB database.
  // A null clock means SystemClock and an empty key-group range all of [0, max_parallelism), as
  // in NewKeyedStateBackend; other fields are expected to be validated by it.
  static Result<std::unique_ptr<RocksDbKeyedStateBackend>> Open(const BackendOptions& options);

  // Destroys the state handles first (they hold RawColumn pointers), then closes the database.
  ~RocksDbKeyedStateBackend() override;

  std::string_view backend_name() const override { return "rocksdb"; }
  // Flushes the memtables of every state's column family to SST files and waits.
  Status Flush() override;
  // Manual compaction of the state's whole column family (flushing its memtable first), down to
  // the bottommost level; the TTL compaction filter runs on everything. NotFound for an unknown
  // state.
  Status CompactState(std::string_view state_name) override;
  Result<NativeCheckpoint> CreateNativeCheckpoint(const std::string& name) override;

  const std::string& path() const { return path_; }
  // The column store the typed states use, for tests and tools that work below the typed API.
  RawStore* raw_store() { return this; }

 protected:
  Status AddBackendStats(BackendStats* stats) override;

 private:
  RocksDbKeyedStateBackend(const BackendOptions& options, RocksDbShared shared,
                           rocksdb::ColumnFamilyOptions cf_options,
                           std::unique_ptr<rocksdb::DB> db);

  // RawStore: the state's column family, created on first use (rocksdb_column.h).
  Result<RawColumn*> OpenColumn(const StateMeta& meta) override;
  Result<RawColumn*> OpenColumnForRestore(const StateMeta& meta) override;
  Status DropColumn(std::string_view name) override;
  Result<RawColumn*> CreateColumnLocked(const StateMeta& meta, bool for_restore);
  RocksDbColumn* FindColumn(std::string_view name) const;

  const std::string path_;
  const RocksDbOptions options_;
  const RocksDbShared shared_;
  // Per-state column families start from these; the default column family (unused) has them.
  const rocksdb::ColumnFamilyOptions cf_options_;
  const rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;

  mutable std::mutex columns_mu_;
  // GUARDED_BY(columns_mu_). Entries are never removed before the destructor, so RawColumn
  // pointers handed out stay valid; ordered by name, which orders the per-CF stats.
  std::map<std::string, std::unique_ptr<RocksDbColumn>, std::less<>> columns_;
  std::vector<std::unique_ptr<RocksDbColumn>> dropped_columns_;  // GUARDED_BY(columns_mu_)
};

}  // namespace statewatch::internal
