// FlinkRestCollector ("flink_rest"): polls a Flink JobManager's REST API for the checkpoint
// statistics of every running job, per job and per operator (job vertex). Field names and
// meanings: ../shared/reference/flink-rest-and-metrics.md §1.
//
// Requests per collection, for each RUNNING job of GET /jobs/overview:
//   GET /jobs/:jid                                  vertex ids → names
//   GET /jobs/:jid/checkpoints                      counts, latest.completed
//   GET /jobs/:jid/checkpoints/config               the checkpoint timeout
//   GET /jobs/:jid/checkpoints/details/:latest-id   per-vertex sizes and duration
// A job with checkpointing disabled answers 404 on /checkpoints; it gets no checkpoint samples
// and is not an error.
//
// Samples (labels job, source, flink_job = the job's name; per operator also operator = the
// vertex name):
//   statewatch_checkpoint_full_size_bytes      latest.completed.state_size (Flink's full size)
//   statewatch_checkpoint_delta_size_bytes     latest.completed.checkpointed_size (the delta)
//   statewatch_checkpoint_duration_seconds     latest.completed.end_to_end_duration / 1000
//   statewatch_checkpoints_completed_total, statewatch_checkpoints_failed_total   counts
//   statewatch_checkpoint_timeout_seconds      checkpoints/config timeout / 1000
//   and the first three per operator, from the latest completed checkpoint's details.
// Nothing is reported for a job before its first completed checkpoint but the counts.
//
// Bad answers — refused, timed out, HTTP errors other than that 404, JSON that does not parse
// or lacks a field — are errors naming the URL (and the field); samples of a collection that
// failed are not kept, so no half-collected job is stored.
//
// Thread-safety: one Collect at a time (collector.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/collectors/collector.h"

namespace statewatch::collectors {

class CollectorRegistry;

struct FlinkRestOptions {
  std::string url;  // REQUIRED: the REST base, e.g. http://jobmanager:8081
  std::chrono::milliseconds timeout = std::chrono::seconds(10);  // per request
  uint64_t max_bytes = 10 << 20;                                 // per response
};

class FlinkRestCollector final : public Collector {
 public:
  FlinkRestCollector(std::string job, std::string source, FlinkRestOptions options);

  std::string_view name() const override { return "flink_rest"; }
  Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) override;

 private:
  const std::string job_;
  const std::string source_;
  const FlinkRestOptions options_;
};

// Registers type "flink_rest": options url (required), timeout, max_bytes.
Status RegisterFlinkRestCollector(CollectorRegistry& registry);

}  // namespace statewatch::collectors
