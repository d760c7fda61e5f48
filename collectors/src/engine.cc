#include "statewatch/collectors/engine.h"

#include <chrono>

#include "filesystem.h"
#include "statewatch/collectors/collector_options.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::collectors {

EngineCollector::EngineCollector(std::string job, KeyedStateBackend* backend, std::string source)
    : job_(std::move(job)), source_(std::move(source)), backend_(backend) {}

Status EngineCollector::Collect(int64_t now, std::vector<rules::Sample>* out) {
  Result<BackendStats> stats = backend_->CollectStats();
  if (!stats.ok()) return stats.status();
  const rules::Labels base = {{"job", job_}, {"source", source_}};
  auto with = [&](std::initializer_list<std::pair<std::string, std::string>> extra) {
    rules::Labels l = base;
    l.insert(l.end(), extra.begin(), extra.end());
    return l;
  };

  for (const StateStats& s : stats->states) {
    out->push_back(MakeSample("statewatch_state_keys", with({{"state", s.name}}), now,
                              static_cast<double>(s.keys)));
    const double ttl_seconds =
        s.ttl.enabled() ? std::chrono::duration<double>(s.ttl.ttl).count() : 0.0;
    out->push_back(
        MakeSample("statewatch_state_ttl_seconds", with({{"state", s.name}}), now, ttl_seconds));
    const std::pair<const char*, uint64_t> expired[] = {
        {"on_read", s.expired_removed.on_read},
        {"full_snapshot", s.expired_removed.full_snapshot},
        {"incremental", s.expired_removed.incremental},
        {"compaction_filter", s.expired_removed.compaction_filter},
    };
    for (const auto& [cleanup, count] : expired) {
      out->push_back(MakeSample("statewatch_state_expired_total",
                                with({{"state", s.name}, {"cleanup", cleanup}}), now,
                                static_cast<double>(count)));
    }
  }

  if (stats->checkpoints) {
    const CheckpointStats& c = *stats->checkpoints;
    out->push_back(MakeSample("statewatch_checkpoints_completed_total", base, now,
                              static_cast<double>(c.completed)));
    out->push_back(MakeSample("statewatch_checkpoints_failed_total", base, now,
                              static_cast<double>(c.failed)));
    if (c.last_completed) {
      out->push_back(MakeSample("statewatch_checkpoint_full_size_bytes", base, now,
                                static_cast<double>(c.last_completed->full_size_bytes)));
      out->push_back(MakeSample("statewatch_checkpoint_delta_size_bytes", base, now,
                                static_cast<double>(c.last_completed->delta_size_bytes)));
      out->push_back(MakeSample("statewatch_checkpoint_duration_seconds", base, now,
                                c.last_completed->duration_seconds));
    }
  }

  if (!stats->rocksdb) return Status::OK();
  const RocksDbStats& r = *stats->rocksdb;
  for (const RocksDbColumnFamilyStats& cf : r.column_families) {
    const auto labels = with({{"cf", cf.name}});
    out->push_back(MakeSample("statewatch_rocksdb_estimate_num_keys", labels, now,
                              static_cast<double>(cf.estimate_num_keys)));
    out->push_back(MakeSample("statewatch_rocksdb_pending_compaction_bytes", labels, now,
                              static_cast<double>(cf.estimate_pending_compaction_bytes)));
    out->push_back(MakeSample("statewatch_rocksdb_live_data_bytes", labels, now,
                              static_cast<double>(cf.estimate_live_data_size)));
    out->push_back(MakeSample("statewatch_rocksdb_memtable_bytes", labels, now,
                              static_cast<double>(cf.cur_size_all_mem_tables)));
  }
  out->push_back(MakeSample("statewatch_rocksdb_delayed_write_rate_bytes", base, now,
                            static_cast<double>(r.actual_delayed_write_rate)));
  // What the cache cannot evict: pinned entries, and memtables unless the WriteBufferManager
  // charges them to the cache (with a memory budget), where they are pinned entries already.
  const bool memtables_in_cache = r.memory_budget_bytes > 0;
  out->push_back(
      MakeSample("statewatch_rocksdb_pinned_memory_bytes", base, now,
                 static_cast<double>(r.block_cache_pinned_usage +
                                     (memtables_in_cache ? 0 : r.cur_size_all_mem_tables))));
  if (r.memory_budget_bytes > 0) {
    out->push_back(MakeSample("statewatch_rocksdb_memory_budget_bytes", base, now,
                              static_cast<double>(r.memory_budget_bytes)));
  }
  internal::AppendFilesystemSamples(r.path, base, now, out);
  double ratio = 0;
  if (have_previous_ &&
      RatioFromCounterDeltas(previous_hits_, previous_misses_, r.block_cache_hit_total,
                             r.block_cache_miss_total, &ratio)) {
    out->push_back(MakeSample("statewatch_rocksdb_block_cache_hit_ratio", base, now, ratio));
  }
  have_previous_ = true;
  previous_hits_ = r.block_cache_hit_total;
  previous_misses_ = r.block_cache_miss_total;
  return Status::OK();
}

namespace {

Result<std::unique_ptr<Collector>> NewEngineCollector(const CollectorParams& params) {
  OptionReader options(params.source, "engine", params.options);
  const bool named = options.Has("backend");
  const std::string name = options.Optional("backend", "");
  SW_RETURN_IF_ERROR(options.Finish());

  std::string attached;  // for the error messages
  size_t count = 0;
  KeyedStateBackend* only = nullptr;
  if (params.engines != nullptr) {
    for (const auto& [engine_name, backend] : *params.engines) {
      if (backend == nullptr) continue;
      attached += (attached.empty() ? "" : ", ") + engine_name;
      ++count;
      only = backend;
    }
  }
  if (attached.empty()) attached = "none";
  if (named) {
    KeyedStateBackend* backend = nullptr;
    if (params.engines != nullptr) {
      auto it = params.engines->find(name);
      if (it != params.engines->end()) backend = it->second;
    }
    if (backend == nullptr) {
      return options.Error(
          "backend", "names engine backend '" + name +
                         "', which is not attached to this process (attached: " + attached + ")");
    }
    return std::unique_ptr<Collector>(
        std::make_unique<EngineCollector>(params.job, backend, params.source));
  }
  if (count == 0) {
    return options.SourceError(
        "collector type 'engine' reads an engine backend in this process, but none is attached "
        "(link the daemon into the application or attach a backend)");
  }
  if (count > 1) {
    return options.Error(
        "backend", "is required when several engine backends are attached (" + attached + ")");
  }
  return std::unique_ptr<Collector>(
      std::make_unique<EngineCollector>(params.job, only, params.source));
}

}  // namespace

Status RegisterEngineCollector(CollectorRegistry& registry) {
  return registry.Register("engine",
                           "an embedded-state backend in this process, through its stats API",
                           NewEngineCollector);
}

}  // namespace statewatch::collectors
