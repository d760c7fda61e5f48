#include "statewatch/collectors/prometheus.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "bounded_get.h"
#include "statewatch/collectors/collector_options.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::collectors {
namespace {

constexpr std::string_view kOperatorPrefix = "flink_taskmanager_job_task_operator_";
constexpr std::string_view kJobPrefix = "flink_jobmanager_job_";
constexpr std::string_view kRocksInfix = "rocksdb_";

std::string LabelOf(const rules::Labels& labels, std::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Flink's RocksDB column-family properties we map, by Prometheus name suffix.
const std::map<std::string_view, std::string_view>& PropertyNames() {
  static const std::map<std::string_view, std::string_view> kNames = {
      {"estimate_num_keys", "statewatch_rocksdb_estimate_num_keys"},
      {"estimate_pending_compaction_bytes", "statewatch_rocksdb_pending_compaction_bytes"},
      {"actual_delayed_write_rate", "statewatch_rocksdb_delayed_write_rate_bytes"},
      {"cur_size_all_mem_tables", "statewatch_rocksdb_memtable_bytes"},
      {"estimate_live_data_size", "statewatch_rocksdb_live_data_bytes"},
      {"compaction_pending", "statewatch_rocksdb_compaction_pending"},
  };
  return kNames;
}

// Flink's checkpoint gauges: canonical name and the factor to base units.
const std::map<std::string_view, std::pair<std::string_view, double>>& CheckpointGauges() {
  static const std::map<std::string_view, std::pair<std::string_view, double>> kGauges = {
      {"lastCheckpointFullSize", {"statewatch_checkpoint_full_size_bytes", 1}},
      {"lastCheckpointSize", {"statewatch_checkpoint_delta_size_bytes", 1}},
      {"lastCheckpointDuration", {"statewatch_checkpoint_duration_seconds", 1e-3}},
      {"numberOfCompletedCheckpoints", {"statewatch_checkpoints_completed_total", 1}},
      {"numberOfFailedCheckpoints", {"statewatch_checkpoints_failed_total", 1}},
  };
  return kGauges;
}

// Canonical series another statewatchd (or the engine) exports, passed through as they are.
bool IsCanonical(std::string_view name) {
  return StartsWith(name, "statewatch_state_") || StartsWith(name, "statewatch_rocksdb_") ||
         StartsWith(name, "statewatch_checkpoint");
}

}  // namespace

PrometheusCollector::PrometheusCollector(std::string job, std::string source,
                                         PrometheusOptions options)
    : job_(std::move(job)), source_(std::move(source)), options_(std::move(options)) {}

Result<std::string> PrometheusCollector::Fetch() const {
  internal::BoundedGetOptions get;
  get.timeout = options_.timeout;
  get.max_bytes = options_.max_bytes;
  get.accept = "text/plain;version=0.0.4";  // not OpenMetrics or protobuf
  Result<internal::HttpResponse> response = internal::BoundedGet(options_.url, get);
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return Status::Unavailable("GET " + options_.url + ": HTTP " +
                               std::to_string(response->status));
  }
  return std::move(response->body);
}

Status PrometheusCollector::Collect(int64_t now_millis, std::vector<rules::Sample>* out) {
  Result<std::string> body = Fetch();
  if (!body.ok()) return body.status();
  Result<Exposition> scrape = ParsePrometheusText(*body);
  if (!scrape.ok()) {
    const std::string message = options_.url + ": " + scrape.status().message();
    return scrape.status().IsResourceExhausted() ? Status::ResourceExhausted(message)
                                                 : Status::InvalidArgument(message);
  }
  Map(*scrape, now_millis, out);
  return Status::OK();
}

void PrometheusCollector::Map(const Exposition& scrape, int64_t now_millis,
                              std::vector<rules::Sample>* out) {
  const auto base = [&] { return rules::Labels{{"job", job_}, {"source", source_}}; };
  std::map<rules::Labels, std::pair<double, double>> tickers;  // this scrape's hit/miss
  for (const ExpositionSample& s : scrape.samples) {
    const std::string_view name = s.name;
    if (IsCanonical(name)) {
      rules::Labels labels = base();
      for (const auto& [k, v] : s.labels) {
        labels.emplace_back(k == "job" || k == "source" ? "exported_" + k : k, v);
      }
      out->push_back(MakeSample(s.name, std::move(labels), now_millis, s.value));
      continue;
    }
    if (StartsWith(name, kJobPrefix)) {
      auto it = CheckpointGauges().find(name.substr(kJobPrefix.size()));
      if (it == CheckpointGauges().end() || s.value < 0 || std::isnan(s.value)) continue;
      rules::Labels labels = base();
      labels.emplace_back("flink_job", LabelOf(s.labels, "job_name"));
      out->push_back(MakeSample(std::string(it->second.first), std::move(labels), now_millis,
                                s.value * it->second.second));
      continue;
    }
    if (!StartsWith(name, kOperatorPrefix)) continue;
    std::string_view rest = name.substr(kOperatorPrefix.size());
    rules::Labels labels = base();
    labels.emplace_back("flink_job", LabelOf(s.labels, "job_name"));
    labels.emplace_back("operator", LabelOf(s.labels, "operator_name"));
    labels.emplace_back("subtask", LabelOf(s.labels, "subtask_index"));
    if (StartsWith(rest, kRocksInfix)) {  // a ticker of the operator's RocksDB instance
      rest.remove_prefix(kRocksInfix.size());
      if (rest == "block_cache_hit") tickers[labels].first = s.value;
      if (rest == "block_cache_miss") tickers[labels].second = s.value;
      continue;
    }
    // <cf>_rocksdb_<property>; a column family name may itself hold "_rocksdb_", so the
    // property is matched from the end.
    const size_t at = rest.rfind("_rocksdb_");
    if (at == std::string_view::npos) continue;
    auto property = PropertyNames().find(rest.substr(at + 9));
    if (property == PropertyNames().end()) continue;
    std::string cf(rest.substr(0, at));
    if (cf == "column_family") cf = LabelOf(s.labels, "column_family");
    if (cf.empty()) continue;
    labels.emplace_back("cf", cf);
    labels.emplace_back("state", cf);
    out->push_back(
        MakeSample(std::string(property->second), std::move(labels), now_millis, s.value));
  }
  for (const auto& [labels, now] : tickers) {
    auto before = tickers_.find(labels);
    double ratio = 0;
    if (before != tickers_.end() &&
        RatioFromCounterDeltas(static_cast<uint64_t>(before->second.first),
                               static_cast<uint64_t>(before->second.second),
                               static_cast<uint64_t>(now.first), static_cast<uint64_t>(now.second),
                               &ratio)) {
      out->push_back(
          MakeSample("statewatch_rocksdb_block_cache_hit_ratio", labels, now_millis, ratio));
    }
  }
  tickers_ = std::move(tickers);
}

namespace {

Result<std::unique_ptr<Collector>> NewPrometheusCollector(const CollectorParams& params) {
  OptionReader reader(params.source, "prometheus", params.options);
  PrometheusOptions options;
  SW_RETURN_IF_ERROR(
      internal::ReadHttpSourceOptions(reader, &options.url, &options.timeout, &options.max_bytes));
  return std::unique_ptr<Collector>(
      std::make_unique<PrometheusCollector>(params.job, params.source, std::move(options)));
}

}  // namespace

Status RegisterPrometheusCollector(CollectorRegistry& registry) {
  return registry.Register("prometheus",
                           "a Prometheus text endpoint (a Flink PrometheusReporter, another "
                           "statewatchd), mapped to canonical signals (options: url, timeout, "
                           "max_bytes)",
                           NewPrometheusCollector);
}

}  // namespace statewatch::collectors
