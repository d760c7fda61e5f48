// Internal: reads the state out of a native RocksDB checkpoint (the files of an incremental
// checkpoint, gathered in one directory), so it restores into either backend at any
// parallelism — the same canonical entries a keyed snapshot holds.
#pragma once

#include <string>
#include <vector>

#include "statewatch/state/key_group.h"
#include "statewatch/state/keyed_state_backend.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/status.h"

namespace statewatch::internal {

// Opens the database in `db_dir` read-only (nothing in it is written but RocksDB's LOG) and
// hands every entry of each of `states` whose key group lies in `range` to `visit`, state by
// state, in key-group order. Corruption/IOError naming the directory and column family.
Status ReadNativeCheckpoint(const std::string& db_dir, const std::vector<StateMeta>& states,
                            KeyGroupRange range, const KeyedStateBackend::RestoreVisitor& visit);

}  // namespace statewatch::internal
