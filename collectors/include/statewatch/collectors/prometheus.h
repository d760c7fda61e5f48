// PrometheusCollector ("prometheus"): scrapes a Prometheus text endpoint — a Flink
// PrometheusReporter, another statewatchd, anything serving /metrics — and maps what it
// recognises onto the canonical signals (DESIGN.md). Everything else is ignored: a scrape of a
// node_exporter does not fill the history with thousands of unrelated series.
//
// Mapping (names from ../shared/reference/flink-rest-and-metrics.md):
//   Flink RocksDB native metrics, per column family (= state descriptor name):
//     flink_taskmanager_job_task_operator_<cf>_rocksdb_<property>, or with
//     column-family-as-variable, ..._column_family_rocksdb_<property>{column_family="<cf>"}
//       estimate_num_keys                 → statewatch_rocksdb_estimate_num_keys
//       estimate_pending_compaction_bytes → statewatch_rocksdb_pending_compaction_bytes
//       actual_delayed_write_rate         → statewatch_rocksdb_delayed_write_rate_bytes
//       cur_size_all_mem_tables           → statewatch_rocksdb_memtable_bytes
//       estimate_live_data_size           → statewatch_rocksdb_live_data_bytes
//       compaction_pending                → statewatch_rocksdb_compaction_pending (a 0/1 flag)
//     labels: state and cf = the column family, flink_job (job_name), operator
//     (operator_name), subtask (subtask_index). Labels that change on every restart
//     (task_attempt_id, tm_id, host, job_id) are dropped, so a restart does not start new series.
//   Flink RocksDB tickers, per operator subtask: ..._rocksdb_block_cache_hit / _miss →
//     statewatch_rocksdb_block_cache_hit_ratio, from the deltas between two scrapes
//     (collector.h: RatioFromCounterDeltas); none on the first scrape or after a restart.
//   Flink checkpoint gauges (jobmanager_job, label flink_job), skipped while -1 (no checkpoint):
//     lastCheckpointFullSize → statewatch_checkpoint_full_size_bytes
//     lastCheckpointSize     → statewatch_checkpoint_delta_size_bytes (Flink's is the delta)
//     lastCheckpointDuration → statewatch_checkpoint_duration_seconds (ms / 1000)
//     numberOfCompletedCheckpoints / numberOfFailedCheckpoints →
//       statewatch_checkpoints_completed_total / statewatch_checkpoints_failed_total
//   Canonical series (statewatch_state_*, statewatch_rocksdb_*, statewatch_checkpoint*_…) pass
//     through as they are, their own job and source labels kept as exported_job and
//     exported_source (Prometheus' honor_labels: false).
// Every sample gets the collector's job and source labels and the scrape's time.
//
// Bounded: the whole scrape (connect, headers, body) must finish within `timeout`, and a body
// over max_bytes is abandoned. Failures — refused, timed out, a status other than 200, too
// large, malformed text — are Unavailable / ResourceExhausted / InvalidArgument naming the URL
// (and the line); the agent sets up = 0 and the other collectors go on.
//
// Thread-safety: one Collect at a time (collector.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "statewatch/collectors/collector.h"
#include "statewatch/collectors/prometheus_text.h"

namespace statewatch::collectors {

class CollectorRegistry;

struct PrometheusOptions {
  std::string url;  // REQUIRED: http://host:port/path
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  uint64_t max_bytes = 10 << 20;
};

class PrometheusCollector final : public Collector {
 public:
  PrometheusCollector(std::string job, std::string source, PrometheusOptions options);

  std::string_view name() const override { return "prometheus"; }
  Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) override;

  // The mapping alone, for tests and for `statewatch backtest` inputs: canonical samples from
  // one parsed scrape (keeps the ticker readings for the next call's hit ratio).
  void Map(const Exposition& scrape, int64_t now_millis, std::vector<rules::Sample>* out);

 private:
  Result<std::string> Fetch() const;

  const std::string job_;
  const std::string source_;
  const PrometheusOptions options_;
  // Block-cache hit and miss tickers of the previous scrape, by their canonical labels.
  std::map<rules::Labels, std::pair<double, double>> tickers_;
};

// Registers type "prometheus": options url (required), timeout (e.g. 10s, 500ms), max_bytes.
Status RegisterPrometheusCollector(CollectorRegistry& registry);

}  // namespace statewatch::collectors
