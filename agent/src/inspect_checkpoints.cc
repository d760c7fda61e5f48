// `statewatch inspect` on a checkpoint root: the checkpoint_dir collector's walk, every
// retained checkpoint, and the growth of their full size over time.
#include <cmath>

#include "statewatch/agent/inspect.h"
#include "statewatch/rules/linear_trend.h"

namespace statewatch::agent {

std::optional<CheckpointGrowth> FitCheckpointGrowth(
    const std::vector<collectors::CompletedCheckpoint>& checkpoints) {
  std::vector<rules::Point> points;
  uint64_t first_bytes = 0, last_bytes = 0;
  for (const collectors::CompletedCheckpoint& c : checkpoints) {
    if (!c.completed_seconds) continue;
    if (points.empty()) first_bytes = c.full_size_bytes;
    last_bytes = c.full_size_bytes;
    points.push_back({static_cast<int64_t>(std::llround(*c.completed_seconds * 1e3)),
                      static_cast<double>(c.full_size_bytes)});
  }
  if (points.size() < 2) return std::nullopt;
  const std::optional<rules::TrendFit> fit = rules::FitLinearTrend(points, points.front().t_millis);
  if (!fit) return std::nullopt;
  CheckpointGrowth g;
  g.bytes_per_hour = fit->slope_per_hour();
  g.method =
      "least-squares slope of full size over completion time (_metadata modification time) of "
      "the retained checkpoints";
  g.checkpoints = fit->samples;
  g.span_seconds = static_cast<double>(fit->last_millis - fit->first_millis) / 1e3;
  g.r_squared = fit->r_squared;
  g.first_bytes = first_bytes;
  g.last_bytes = last_bytes;
  return g;
}

Result<std::vector<CheckpointJobReport>> InspectCheckpointRoot(const std::string& path) {
  Result<std::vector<collectors::CheckpointRootListing>> roots =
      collectors::ListCheckpointRoots(path);
  if (!roots.ok()) return Status::IOError("inspect: " + path + ": " + roots.status().message());
  std::vector<CheckpointJobReport> jobs;
  for (collectors::CheckpointRootListing& root : *roots) {
    CheckpointJobReport job;
    job.format = "none";
    for (const collectors::CompletedCheckpoint& c : root.complete) {
      job.format = c.from_metadata ? "statewatch" : "flink";
    }
    job.growth = FitCheckpointGrowth(root.complete);
    job.listing = std::move(root);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace statewatch::agent
