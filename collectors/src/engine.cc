#include "statewatch/collectors/engine.h"

#include <chrono>

namespace statewatch::collectors {

EngineCollector::EngineCollector(std::string job, KeyedStateBackend* backend)
    : job_(std::move(job)), backend_(backend) {}

Status EngineCollector::Collect(int64_t now, std::vector<rules::Sample>* out) {
  Result<BackendStats> stats = backend_->CollectStats();
  if (!stats.ok()) return stats.status();
  const rules::Labels base = {{"job", job_}, {"source", "engine"}};
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

}  // namespace statewatch::collectors
