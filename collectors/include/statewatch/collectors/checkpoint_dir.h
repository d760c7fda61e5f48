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
//                                            files plus shared/ and taskowned/ (an upper
//                                            bound: shared/ also holds what older retained
//                                            checkpoints alone still use)
//   statewatch_checkpoint_delta_size_bytes   what the latest added over the one before:
//                                            statewatch — its files the previous one does not
//                                            list; Flink — its own files plus shared files
//                                            modified after the previous one completed
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
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/collectors/collector.h"

namespace statewatch::collectors {

class CollectorRegistry;

class CheckpointDirCollector final : public Collector {
 public:
  CheckpointDirCollector(std::string job, std::string source, std::string path);

  std::string_view name() const override { return "checkpoint_dir"; }
  Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) override;

 private:
  // Samples of one job's root (job_id empty: the configured root itself).
  Status CollectRoot(const std::string& root, const std::string& job_id, int64_t now_millis,
                     std::vector<rules::Sample>* out) const;

  const std::string job_;
  const std::string source_;
  const std::string path_;
};

// Registers type "checkpoint_dir": option path (required), the checkpoint root.
Status RegisterCheckpointDirCollector(CollectorRegistry& registry);

}  // namespace statewatch::collectors
