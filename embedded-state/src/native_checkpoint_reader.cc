#include "native_checkpoint_reader.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <memory>

#include "list_merge_operator.h"
#include "rocksdb_column.h"
#include "statewatch/state/internal/rocksdb_state.h"

namespace statewatch::internal {

Status ReadNativeCheckpoint(const std::string& db_dir, const std::vector<StateMeta>& states,
                            KeyGroupRange range, const KeyedStateBackend::RestoreVisitor& visit) {
  rocksdb::DBOptions db_options;
  db_options.max_open_files = 256;  // a restore reads each file once; no need to keep them all
  // Only the states' column families (and RocksDB's default) are opened: read-only mode allows
  // a subset. List states need their merge operator to read values still held as operands.
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const StateMeta& meta : states) {
    rocksdb::ColumnFamilyOptions cf;
    if (meta.kind == StateKind::kList) cf.merge_operator = NewListAppendOperator();
    descriptors.emplace_back(meta.name, cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, db_dir, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, "cannot open the RocksDB checkpoint in " + db_dir);
  const std::unique_ptr<rocksdb::DB> db(raw);
  Status result;
  for (size_t i = 0; i < states.size() && result.ok(); ++i) {
    RocksDbColumn column(db.get(), rocksdb::WriteOptions(), states[i], db_dir);
    column.set_handle(handles[i + 1]);
    RawScanOptions scan;
    scan.range = range;
    uint64_t dropped = 0;
    Status visit_status;
    result = ScanRawColumn(
        column, states[i], scan,
        [&](const StateEntry& e) {
          visit_status = visit(states[i], e);
          return visit_status.ok();
        },
        &dropped);
    if (result.ok()) result = visit_status;
  }
  for (rocksdb::ColumnFamilyHandle* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  return result;
}

}  // namespace statewatch::internal
