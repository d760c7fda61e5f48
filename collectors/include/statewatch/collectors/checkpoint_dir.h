// CheckpointDirCollector ("checkpoint_dir"): a checkpoint root on disk — a statewatch
// engine's (checkpoint.h) or a Flink job's — measured by walking it, so checkpoint growth is
// seen even where no metrics endpoint is (DESIGN.md: "directory walk of chk-N/ + shared files").
//
// Layouts it understands:
//   ROOT/chk-N/_metadata, ROOT/chk-N/…, ROOT/shared/…, ROOT/taskowned/…   one job's root
//   ROOT/<job-id>/chk-N/…                                                 Flink's
//                                 state.checkpoints.dir: every job below it, label job_id
// A chk-N/ is complete once it has `_metadata` (both Flink and statewatch write it last).
//
// It reads no data file: sizes and times come from stat. The one file it opens is a
// statewatch checkpoint's `_metadata` (a few KB), which lists exactly which shared files the
// checkpoint uses; Flink's `_metadata` is Java-serialized and is not read.
//
// Samples (labels job, source, and job_id for a Flink root of several jobs):
//   statewatch_checkpoint_full_size_bytes    the latest complete checkpoint: statewatch —
//                                            exactly the bytes it needs; Flink — its own
//                                            files plus the shared/ and taskowned/ files
//                                            written before it completed (an upper bound:
//                                            shared/ also holds what older retained
//                                            checkpoints alone still use)
//   statewatch_checkpoint_delta_size_bytes   what the latest added over the one before:
//                                            statewatch — its files the previous one does not
//                                            list; Flink — its own files plus the shared files
//                                            written after the previous one completed and
//                                            before it did
//   statewatch_checkpoint_duration_seconds   statewatch only: from the trigger time in the
//                                            metadata to the metadata's modification time
//   statewatch_checkpoint_shared_bytes       all of shared/ (and taskowned/)
//   statewatch_checkpoint_retained           complete checkpoints present
//   statewatch_checkpoint_incomplete         chk-N/ without _metadata (in progress, or a
//                                            crash's leftovers)
//   statewatch_checkpoint_latest_id          N of the latest complete checkpoint
//   statewatch_checkpoint_last_completed_timestamp_seconds  its _metadata's mtime
// Without a complete checkpoint only retained (0), incomplete and shared bytes are reported.
//
// A missing root is NotFound naming it (the job may not have started: the next Collect tries
// again); a root that is not a directory or cannot be listed is IOError naming it.
// Directories vanishing during the walk (retention deleting an old chk-N/) are skipped.
//
// Thread-safety: one Collect at a time (collector.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/collectors/collector.h"

namespace statewatch::collectors {

class CollectorRegistry;

struct CheckpointRootListing;

class CheckpointDirCollector final : public Collector {
 public:
  CheckpointDirCollector(std::string job, std::string source, std::string path);

  std::string_view name() const override { return "checkpoint_dir"; }
  Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) override;

 private:
  // Samples of one job's root.
  void EmitRoot(const CheckpointRootListing& root, int64_t now_millis,
                std::vector<rules::Sample>* out) const;

  const std::string job_;
  const std::string source_;
  const std::string path_;
};

// Registers type "checkpoint_dir": option path (required), the checkpoint root.
Status RegisterCheckpointDirCollector(CollectorRegistry& registry);

// --- The walk itself, shared by the collector and `statewatch inspect` ---

// One complete checkpoint (a chk-N/ with _metadata) of a job's root.
struct CompletedCheckpoint {
  uint64_t id = 0;
  std::string path;  // ROOT/chk-N
  // Its _metadata's modification time, seconds since the epoch (nullopt: it vanished).
  std::optional<double> completed_seconds;
  // statewatch only: the trigger time its metadata records (the backend's clock).
  std::optional<double> triggered_seconds;
  // As statewatch_checkpoint_full_size_bytes / _delta_size_bytes above describe them, the
  // delta relative to the retained checkpoint before it (the oldest one's delta is its size).
  uint64_t full_size_bytes = 0;
  uint64_t delta_size_bytes = 0;
  // A statewatch _metadata was read: sizes are exact. Otherwise (Flink) they come from stat.
  bool from_metadata = false;
};

// One job's checkpoint root.
struct CheckpointRootListing {
  std::string path;
  std::string job_id;                         // empty: the root given itself
  std::vector<CompletedCheckpoint> complete;  // oldest (lowest id) first
  std::vector<uint64_t> incomplete;           // ids of chk-N/ without _metadata, ascending
  uint64_t shared_bytes = 0;                  // all of shared/ and taskowned/
};

// True when `dir` looks like one job's root: it has shared/ or a chk-N/ directory.
bool IsCheckpointJobRoot(const std::string& dir);

// Walks `path` as the collector does: the root itself when it is a job's root, else each
// directory below it that is one (Flink's state.checkpoints.dir, sorted by job id), else the
// root itself with nothing in it. NotFound naming a missing root; IOError naming a root that
// is not a directory or cannot be listed. Reads nothing but statewatch _metadata files.
Result<std::vector<CheckpointRootListing>> ListCheckpointRoots(const std::string& path);

}  // namespace statewatch::collectors
