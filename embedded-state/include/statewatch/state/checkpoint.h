// Checkpoints of a keyed-state backend, as Flink takes them: numbered directories `chk-N/` under
// a checkpoint root, each complete only once its metadata file is in place.
//
//   ROOT/chk-7/_metadata       id, time, backend, format, max parallelism, key-group range,
//                              every state's descriptor, and every file with size and CRC-32C
//   ROOT/chk-7/keyed-state     full checkpoints: the state as a keyed snapshot (keyed_snapshot.h)
//   ROOT/chk-7/MANIFEST-…, OPTIONS-…, CURRENT
//                              incremental (RocksDB) checkpoints: RocksDB's small files, per
//                              checkpoint; the SST files they name are in ROOT/shared/
//   ROOT/shared/<db identity>-<number>.sst
//                              SST files, copied once by the first checkpoint that has them and
//                              referenced by every later one that still does; deleted when no
//                              retained checkpoint refers to them
//   ROOT/chk-7/operator-state  operator and broadcast state, when the coordinator has an
//                              OperatorStateBackend (operator_state.h encoding)
//
// Full checkpoints (the heap backend's only mode; RocksDB's with incremental = false) write
// all state each time in the backend-neutral format. Incremental ones (RocksDB) flush the
// memtables, take a RocksDB checkpoint (hard links, no copy) and copy to the root only the SST
// files not already in shared/ — so their cost follows what changed, not the state's size.
// Both restore into either backend at any parallelism.
//
// Completion is atomic: the data files are written and fsync'd first, then `_metadata` is
// written to a temporary name, fsync'd and renamed. A `chk-N/` without `_metadata` does not
// exist — a crash at any point leaves the previous complete checkpoint restorable — and is
// removed by the next successful checkpoint, as are shared files nothing refers to.
//
// _metadata layout (little-endian): magic "SWCHKMD1" | fixed32 format version (2) | fixed64 id |
// fixed64 timestamp ms | str backend | varint32 max parallelism | varint32 range start |
// varint32 range end + 1 | u8 CheckpointFormat | varint32 states | state records (as in keyed
// snapshots) | varint32 files | { str name | u8 flags (1: in shared/) | fixed64 size |
// fixed32 crc32c }* | fixed32 CRC-32C of all before. Version 1 (no format byte, no flags: a
// full checkpoint) is still read.
//
// A checkpoint root belongs to one backend instance (one operator subtask) at a time.
//
// Thread-safety: a CheckpointCoordinator belongs to the backend's task thread (a snapshot
// reads the live state); Stats() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/state/key_group.h"
#include "statewatch/state/keyed_state_backend.h"
#include "statewatch/state/operator_state.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/status.h"

namespace statewatch {

inline constexpr uint32_t kCheckpointMetadataVersion = 2;

// How a checkpoint holds the keyed state. On-disk values: never renumber.
enum class CheckpointFormat : uint8_t {
  kKeyedSnapshot = 0,  // one `keyed-state` file, canonical entries (full checkpoints, savepoints)
  kRocksDbNative = 1,  // RocksDB's own files: SSTs in ROOT/shared/, the rest in chk-N/
};

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
  // RocksDB backend: incremental checkpoints (Flink's execution.checkpointing.incremental,
  // off by default there too). Ignored by the heap backend, whose checkpoints are always full.
  bool incremental = false;
};

struct CheckpointFile {
  std::string name;  // in the checkpoint directory, or in ROOT/shared/ when `shared`
  uint64_t size = 0;
  uint32_t crc32c = 0;
  bool shared = false;
  bool operator==(const CheckpointFile&) const = default;
};

struct CheckpointMetadata {
  uint64_t id = 0;
  int64_t timestamp_millis = 0;  // when it was triggered (the backend's clock)
  std::string backend;
  CheckpointFormat format = CheckpointFormat::kKeyedSnapshot;
  int max_parallelism = 0;
  KeyGroupRange key_group_range;
  std::vector<StateMeta> states;
  std::vector<CheckpointFile> files;
  std::string directory;  // where it was read from or written to (not stored)

  uint64_t full_size_bytes() const;  // every file it needs, shared ones included
  // Where a file of this checkpoint is: `directory`/name, or `directory`/../shared/name.
  std::string PathOf(const CheckpointFile& file) const;
};

// How much of a checkpoint's files ReadCheckpoint checks.
enum class CheckpointVerify {
  kNone,       // the metadata only
  kSizes,      // every file is there with its size (cheap: no file is read)
  kChecksums,  // and its CRC-32C matches (reads every byte; what a restore wants)
};

// N of a directory named "chk-N", or nullopt for any other name.
std::optional<uint64_t> CheckpointIdOf(std::string_view directory_name);

// Reads ROOT/chk-N/_metadata and verifies the files it lists as `verify` says (present, size,
// CRC-32C). NotFound when there is no _metadata (an incomplete checkpoint); Corruption naming
// the file and the reason; NotSupported for another metadata version.
Result<CheckpointMetadata> ReadCheckpoint(const std::string& checkpoint_dir,
                                          CheckpointVerify verify = CheckpointVerify::kChecksums);

// The newest complete checkpoint under `root` that verifies, skipping incomplete or damaged
// ones (each skipped one adds a line with its reason to `skipped`, when given). NotFound when
// there is none. Reads only: nothing is deleted, whatever it finds.
Result<CheckpointMetadata> FindLatestCheckpoint(
    const std::string& root, std::vector<std::string>* skipped = nullptr,
    CheckpointVerify verify = CheckpointVerify::kChecksums);

// Restores `backend` (no state registered yet) from a verified checkpoint of either format. A
// native RocksDB checkpoint is read through a temporary copy made of hard links (or copies,
// across filesystems) in the system's temporary directory; the checkpoint is only read.
Status RestoreFromCheckpoint(KeyedStateBackend& backend, const CheckpointMetadata& checkpoint);
// Rescaling: restores from the checkpoints of several old instances at once (any mix of
// formats), taking from each the key groups in `backend`'s range.
Status RestoreFromCheckpoints(KeyedStateBackend& backend,
                              const std::vector<CheckpointMetadata>& checkpoints);

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
  // Writes a checkpoint (or, with `savepoint`, always full) into `dir`; *delta_bytes is what
  // it copied or wrote.
  Result<CheckpointMetadata> Write(const std::filesystem::path& dir, uint64_t id,
                                   int64_t trigger_millis, bool savepoint, uint64_t* delta_bytes);
  // The incremental part of Write: RocksDB's files, SSTs into shared/ unless already there.
  Status WriteNative(const std::filesystem::path& dir, uint64_t id, CheckpointMetadata* m,
                     uint64_t* delta_bytes);
  void Record(const CheckpointRecord& r);
  void ApplyRetention();
  // Re-reads which shared files the retained checkpoints refer to; deletes the others from
  // shared/ unless a retained checkpoint's metadata could not be read (then nothing is).
  void CollectSharedFiles();

  KeyedStateBackend* backend_;
  CheckpointOptions options_;
  OperatorStateBackend* operator_state_;
  uint64_t next_id_ = 1;
  std::optional<CheckpointMetadata> latest_;
  // Files in shared/ that retained checkpoints refer to, by name: reused, never copied again.
  std::map<std::string, CheckpointFile, std::less<>> shared_files_;
  int64_t last_trigger_millis_ = INT64_MIN;
  int64_t last_end_millis_ = INT64_MIN;

  mutable std::mutex stats_mu_;
  CheckpointStats stats_;  // GUARDED_BY(stats_mu_)
};

}  // namespace statewatch
