// Checkpoints of a keyed-state backend, as Flink takes them: numbered directories `chk-N/` under
// a checkpoint root, each complete only once its metadata file is in place.
//
//   ROOT/chk-7/keyed-state   the backend's state as a keyed snapshot (keyed_snapshot.h)
//   ROOT/chk-7/operator-state  the instance's operator and broadcast state, when the
//                            coordinator has an OperatorStateBackend (operator_state.h encoding)
//   ROOT/chk-7/_metadata     id, time, backend, max parallelism, key-group range, every state's
//                            descriptor, and every file with its size and CRC-32C
//
// Completion is atomic: the data files are written and fsync'd first, then `_metadata` is
// written to a temporary name, fsync'd and renamed. A `chk-N/` without `_metadata` does not
// exist — a crash at any point leaves the previous complete checkpoint restorable — and is
// removed by the next successful checkpoint. Checkpoints are full in this version (the heap
// backend's only mode, and the RocksDB backend's full mode); RocksDB's incremental mode with a
// shared SST area comes next (issue #4).
//
// _metadata layout (little-endian): magic "SWCHKMD1" | fixed32 format version | fixed64 id |
// fixed64 timestamp ms | str backend | varint32 max parallelism | varint32 range start |
// varint32 range end + 1 | varint32 states | state records (as in keyed snapshots) |
// varint32 files | { str name | fixed64 size | fixed32 crc32c }* | fixed32 CRC-32C of all before.
//
// Thread-safety: a CheckpointCoordinator belongs to the backend's task thread (a heap snapshot
// reads the live tables); Stats() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "statewatch/state/key_group.h"
#include "statewatch/state/keyed_state_backend.h"
#include "statewatch/state/operator_state.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/status.h"

namespace statewatch {

inline constexpr uint32_t kCheckpointMetadataVersion = 1;

struct CheckpointOptions {
  // Directory holding chk-N/. REQUIRED; created when missing (its parent must exist).
  std::string root;
  // Complete checkpoints kept; older ones are deleted after a newer one completes. >= 1.
  int retained = 3;
  // Time-triggered checkpoints (MaybeTrigger): every `interval` (0: only on demand), at least
  // `min_pause` after the previous one ended, as Flink's execution.checkpointing.* options.
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds min_pause{0};
  // A checkpoint that took longer than this counts as failed and is discarded (Flink's
  // execution.checkpointing.timeout, default 10 min).
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
};

struct CheckpointFile {
  std::string name;  // relative to the checkpoint directory
  uint64_t size = 0;
  uint32_t crc32c = 0;
  bool operator==(const CheckpointFile&) const = default;
};

struct CheckpointMetadata {
  uint64_t id = 0;
  int64_t timestamp_millis = 0;  // when it was triggered (the backend's clock)
  std::string backend;
  int max_parallelism = 0;
  KeyGroupRange key_group_range;
  std::vector<StateMeta> states;
  std::vector<CheckpointFile> files;
  std::string directory;  // where it was read from or written to (not stored)

  uint64_t full_size_bytes() const;  // every file it needs
};

// Reads ROOT/chk-N/_metadata and verifies every file it lists (present, size, CRC-32C).
// NotFound when there is no _metadata (an incomplete checkpoint); Corruption naming the file
// and the reason; NotSupported for another metadata version.
Result<CheckpointMetadata> ReadCheckpoint(const std::string& checkpoint_dir);

// The newest complete checkpoint under `root` that verifies, skipping incomplete or damaged
// ones (each skipped one adds a line with its reason to `skipped`, when given). NotFound when
// there is none. Reads only: nothing is deleted, whatever it finds.
Result<CheckpointMetadata> FindLatestCheckpoint(const std::string& root,
                                                std::vector<std::string>* skipped = nullptr);

// Restores `backend` (no state registered yet) from a verified checkpoint.
Status RestoreFromCheckpoint(KeyedStateBackend& backend, const CheckpointMetadata& checkpoint);

// The operator state a verified checkpoint holds (an empty snapshot when it has none). To
// rescale, read every old instance's and pass them to RedistributeOperatorState; at the same
// parallelism, hand it to OperatorStateBackend::Restore. Corruption naming the file.
Result<OperatorStateSnapshot> ReadOperatorStateSnapshot(const CheckpointMetadata& checkpoint);

class CheckpointCoordinator {
 public:
  // `backend` (and `operator_state`, when given) are not owned and must outlive the
  // coordinator. Scans the root for the newest complete checkpoint, so ids continue after a
  // restart. InvalidArgument for bad options, IOError naming the root when it cannot be created
  // or read.
  static Result<std::unique_ptr<CheckpointCoordinator>> Open(
      KeyedStateBackend* backend, CheckpointOptions options,
      OperatorStateBackend* operator_state = nullptr);

  // Takes a checkpoint now. On failure (I/O error, timeout) the partial directory is removed,
  // the failure counted, and the previous checkpoint stays the latest.
  Result<CheckpointMetadata> Trigger();
  // Takes one if `interval` has passed since the last trigger and `min_pause` since the last
  // end (the backend's clock); nullopt when not due or when interval is 0.
  Result<std::optional<CheckpointMetadata>> MaybeTrigger();

  // Writes a savepoint into `directory` (created; AlreadyExists when it is there already —
  // a savepoint is never overwritten): always full, in the backend-neutral format, laid out as
  // a checkpoint (keyed-state, operator-state, _metadata with id 0) and outside the root's
  // retention. Restore it with ReadCheckpoint + RestoreFromCheckpoint into either backend.
  // Not counted in Stats(). On error the partial directory is removed.
  Result<CheckpointMetadata> TriggerSavepoint(const std::string& directory);

  CheckpointStats Stats() const;
  const std::optional<CheckpointMetadata>& latest() const { return latest_; }

 private:
  CheckpointCoordinator(KeyedStateBackend* backend, CheckpointOptions options,
                        OperatorStateBackend* operator_state);
  Result<CheckpointMetadata> Write(const std::filesystem::path& dir, uint64_t id,
                                   int64_t trigger_millis);
  void Record(const CheckpointRecord& r);
  void ApplyRetention();

  KeyedStateBackend* backend_;
  CheckpointOptions options_;
  OperatorStateBackend* operator_state_;
  uint64_t next_id_ = 1;
  std::optional<CheckpointMetadata> latest_;
  int64_t last_trigger_millis_ = INT64_MIN;
  int64_t last_end_millis_ = INT64_MIN;

  mutable std::mutex stats_mu_;
  CheckpointStats stats_;  // GUARDED_BY(stats_mu_)
};

}  // namespace statewatch
