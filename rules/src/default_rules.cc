// The built-in rule set (rule.h, DefaultRules). The texts are written for the person paged: a
// Flink / RocksDB user who needs to know which state or column family, what was measured, and
// what to change. Numbers come from the rule's values (rule.h) through the templates.
#include <chrono>

#include "statewatch/rules/rule.h"

namespace statewatch::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

RuleSpec Trend(std::string alert, std::string series) {
  RuleSpec r;
  r.alert = std::move(alert);
  r.type = RuleType::kTrend;
  r.series = std::move(series);
  r.window = hours(24);
  r.min_samples = 10;
  r.min_r_squared = 0.9;
  r.for_duration = hours(1);
  return r;
}

RuleSpec Threshold(std::string alert, std::string series, CompareOp op, double threshold,
                   std::chrono::milliseconds for_duration) {
  RuleSpec r;
  r.alert = std::move(alert);
  r.type = RuleType::kThreshold;
  r.series = std::move(series);
  r.op = op;
  r.threshold = threshold;
  r.for_duration = for_duration;
  return r;
}

// predict_linear as a rule: `series` reaching `limit` (or `companion`'s value) within
// `horizon`, fitted over `window`.
RuleSpec Forecast(std::string alert, std::string series, CompareOp op,
                  std::chrono::milliseconds window, std::chrono::milliseconds horizon) {
  RuleSpec r;
  r.alert = std::move(alert);
  r.type = RuleType::kForecast;
  r.series = std::move(series);
  r.op = op;
  r.window = window;
  r.horizon = horizon;
  r.min_samples = 10;
  // A forecast needs a line that explains the points, but a resource drains less evenly than
  // a leak grows (checkpoints, compactions, log rotation): 0.8 rather than the trend's 0.9.
  r.min_r_squared = 0.8;
  r.for_duration = minutes(30);
  return r;
}

// The evidence sentence shared by the growth rules.
constexpr const char* kFitEvidence =
    "a straight line explains {{ $r_squared | humanizePercentage }} of its variation over "
    "{{ $samples }} samples";

}  // namespace

std::vector<RuleSpec> DefaultRules() {
  std::vector<RuleSpec> rules;

  {
    RuleSpec r = Trend("StateGrowingWithoutBound", "statewatch_state_keys");
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "State {{ $labels.state }} of job {{ $labels.job }} grows without bound "
        "(+{{ $slope_per_hour | humanize }} keys/h)";
    r.annotations["description"] =
        std::string(
            "Over the last {{ $window_seconds | humanizeDuration }} the key count of "
            "state {{ $labels.state }} ({{ $labels.source }}) rose steadily by "
            "{{ $slope_per_hour | humanize }} keys per hour to about "
            "{{ $level | humanize }} keys; ") +
        kFitEvidence +
        ". A bounded state levels off, at the size of its key space or one TTL after it "
        "starts; this one has not.";
    r.annotations["runbook"] =
        "Find what state {{ $labels.state }} accumulates that is never removed. If an entry is "
        "needed only for a while after its last update, give the state a TTL: in Flink "
        "StateTtlConfig.newBuilder(Time.days(N)).cleanupInRocksdbCompactFilter(1000).build() "
        "passed to the descriptor's enableTimeToLive(); in statewatch's engine "
        "EnableTimeToLive(TtlConfig::Of(...).CleanupInRocksdbCompactFilter()). Otherwise clear "
        "the key's state (state.clear() from a timer) once its work is done, e.g. when its "
        "window or session closes. If the state already has a TTL, check that expired entries "
        "are removed: statewatch_state_expired_total must rise, which needs a cleanup strategy.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Trend("RocksDbColumnFamilyGrowing", "statewatch_rocksdb_live_data_bytes");
    // 1 = a TTL compaction filter is set. The reading is a flag, not the TTL, so the TTL gate
    // waits one window (plus a second) of history; see RuleSpec::ttl_series.
    r.ttl_series = "statewatch_rocksdb_ttl_compaction_filter";
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "RocksDB column family {{ $labels.cf }} keeps growing "
        "(+{{ $slope_per_hour | humanize1024 }}B/h)";
    r.annotations["description"] =
        std::string(
            "The live data of column family {{ $labels.cf }} in {{ $labels.source }} "
            "(rocksdb.estimate-live-data-size) rose by "
            "{{ $slope_per_hour | humanize1024 }}B per hour over the last "
            "{{ $window_seconds | humanizeDuration }} to about "
            "{{ $level | humanize1024 }}B; ") +
        kFitEvidence + ". Local disk and checkpoint size grow with it.";
    r.annotations["runbook"] =
        "Column family {{ $labels.cf }} holds the state of the same name. Without a TTL "
        "compaction filter nothing ever drops its entries: set a state TTL with "
        "cleanupInRocksdbCompactFilter (Flink StateTtlConfig / TtlConfig::Of(...)"
        ".CleanupInRocksdbCompactFilter()) or clear keys when they are done. With a filter, "
        "check that compactions run (statewatch_rocksdb_pending_compaction_bytes) and that the "
        "TTL is not longer than the history you meant to keep. Size the disk for the growth "
        "rate until then.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Trend("StateWithoutTtlGrowing", "statewatch_state_keys");
    r.type = RuleType::kMissingTtl;
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "State {{ $labels.state }} of job {{ $labels.job }} has no TTL and keeps growing "
        "(+{{ $slope_per_hour | humanize }} keys/h)";
    r.annotations["description"] =
        std::string(
            "State {{ $labels.state }} ({{ $labels.source }}) has no TTL "
            "(statewatch_state_ttl_seconds is 0 or absent) and its key count rose by "
            "{{ $slope_per_hour | humanize }} keys per hour over the last "
            "{{ $window_seconds | humanizeDuration }} to about {{ $level | humanize }} "
            "keys; ") +
        kFitEvidence +
        ". Keys that never expire accumulate until the job runs out of memory or disk or its "
        "checkpoints time out.";
    r.annotations["runbook"] =
        "Set a TTL on state {{ $labels.state }}, as long as a key must be remembered after its "
        "last update: in Flink descriptor.enableTimeToLive(StateTtlConfig.newBuilder("
        "Time.days(7)).cleanupInRocksdbCompactFilter(1000).build()); in statewatch's engine "
        "descriptor.EnableTimeToLive(TtlConfig::Of(std::chrono::hours(24 * 7))"
        ".CleanupInRocksdbCompactFilter()). Restoring from a savepoint keeps the data. If the "
        "key space is finite by design, raise this rule's floor above its size instead.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r =
        Trend("ColumnFamilyWithoutTtlFilterGrowing", "statewatch_rocksdb_estimate_num_keys");
    r.type = RuleType::kMissingTtl;
    // 1 = a TTL compaction filter is set, 0 = none (from the column family's OPTIONS file).
    r.ttl_series = "statewatch_rocksdb_ttl_compaction_filter";
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "Column family {{ $labels.cf }} has no TTL compaction filter and keeps growing "
        "(+{{ $slope_per_hour | humanize }} keys/h)";
    r.annotations["description"] =
        std::string(
            "The OPTIONS file of {{ $labels.source }} sets no TTL compaction filter "
            "for column family {{ $labels.cf }} (compaction_filter=nullptr), and its "
            "estimated key count (rocksdb.estimate-num-keys, an estimate) rose by "
            "{{ $slope_per_hour | humanize }} keys per hour over the last "
            "{{ $window_seconds | humanizeDuration }} to about {{ $level | humanize }}; ") +
        kFitEvidence + ".";
    r.annotations["runbook"] =
        "Give the state stored in column family {{ $labels.cf }} a TTL cleaned up in "
        "compactions: Flink StateTtlConfig.newBuilder(...).cleanupInRocksdbCompactFilter(1000) "
        "(installs FlinkCompactionFilterFactory), or TtlConfig::Of(...)"
        ".CleanupInRocksdbCompactFilter() in statewatch's engine. RocksDB's own `ttl` column "
        "family option (2592000 s by default) only schedules periodic compactions; it is not a "
        "state TTL and removes nothing.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Threshold("BlockCacheHitRatioLow", "statewatch_rocksdb_block_cache_hit_ratio",
                           CompareOp::kLess, 0.90, minutes(10));
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "RocksDB block cache hit ratio of {{ $labels.source }} is "
        "{{ $value | humanizePercentage }}";
    r.annotations["description"] =
        "Only {{ $value | humanizePercentage }} of the block reads of job {{ $labels.job }} "
        "({{ $labels.source }}) were served from the block cache, below "
        "{{ $threshold | humanizePercentage }} for 10 minutes; the rest read the disk, which "
        "slows every state access that misses.";
    r.annotations["runbook"] =
        "Give RocksDB more cache: raise block_cache_bytes, or memory_budget_bytes when a budget "
        "caps cache + memtables (backend options rocksdb.block_cache_size / "
        "rocksdb.memory_budget; in Flink taskmanager.memory.managed.size or .fraction with "
        "state.backend.rocksdb.memory.managed: true). Keep bloom filters on (10 bits per key) "
        "so point reads skip files. If the working set keeps growing, look for states without "
        "a TTL.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Threshold("WriteStallsActive", "statewatch_rocksdb_delayed_write_rate_bytes",
                           CompareOp::kGreater, 0, minutes(5));
    r.labels = {{"severity", "critical"}};
    r.annotations["summary"] =
        "RocksDB is throttling writes of {{ $labels.source }} to "
        "{{ $value | humanize1024 }}B/s";
    r.annotations["description"] =
        "RocksDB's write controller has delayed the writes of job {{ $labels.job }} "
        "({{ $labels.source }}) for 5 minutes, now to {{ $value | humanize1024 }}B/s: compaction "
        "does not keep up (too many L0 files, too many immutable memtables, or pending "
        "compaction bytes over the soft limit). The job backpressures and checkpoints slow "
        "down.";
    r.annotations["runbook"] =
        "Let compaction keep up: raise max_background_jobs (Flink "
        "state.backend.rocksdb.thread.num), use larger or more write buffers (write_buffer_bytes "
        "/ max_write_buffer_number; Flink state.backend.rocksdb.writebuffer.size / .count), and "
        "put RocksDB on fast local disks. Check statewatch_rocksdb_pending_compaction_bytes and "
        "whether a state grows without a TTL.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Threshold("CompactionBacklogHigh", "statewatch_rocksdb_pending_compaction_bytes",
                           CompareOp::kGreater, 32.0 * (1ull << 30), minutes(15));
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "Compaction backlog of column family {{ $labels.cf }} is {{ $value | humanize1024 }}B";
    r.annotations["description"] =
        "RocksDB estimates that {{ $value | humanize1024 }}B of column family {{ $labels.cf }} "
        "({{ $labels.source }}) must be rewritten by compaction, above "
        "{{ $threshold | humanize1024 }}B for 15 minutes: half of the 64 GiB "
        "soft_pending_compaction_bytes_limit at which RocksDB starts delaying writes.";
    r.annotations["runbook"] =
        "Act before writes stall: raise max_background_jobs (Flink "
        "state.backend.rocksdb.thread.num), use larger write buffers, put RocksDB on faster "
        "local disks. A TTL compaction filter on states that grow shrinks what compaction has "
        "to move.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Threshold("CheckpointDurationHigh", "statewatch_checkpoint_duration_seconds",
                           CompareOp::kGreater, 300, minutes(15));
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "Checkpoints of job {{ $labels.job }} take {{ $value | humanizeDuration }}";
    r.annotations["description"] =
        "The latest checkpoint of job {{ $labels.job }} ({{ $labels.source }}) took "
        "{{ $value | humanizeDuration }}, above {{ $threshold | humanizeDuration }} for 15 "
        "minutes: half of Flink's default 10 minute checkpoint timeout. A checkpoint that "
        "exceeds the timeout fails, and repeated failures fail the job.";
    r.annotations["runbook"] =
        "Upload less per checkpoint: use incremental checkpoints (Flink "
        "execution.checkpointing.incremental / state.backend.incremental: true) so only new "
        "SST files are copied; if barrier alignment dominates under backpressure, enable "
        "unaligned checkpoints (execution.checkpointing.unaligned: true); shrink growing states "
        "with TTLs (see StateGrowingWithoutBound / StateWithoutTtlGrowing). Raise "
        "execution.checkpointing.timeout only if the size is legitimate.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Trend("TtlCleanupNotRunning", "statewatch_state_keys");
    r.type = RuleType::kTtlCleanupStalled;
    r.companion_series = "statewatch_state_expired_total";
    r.companion_ignoring = {"cleanup"};
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "State {{ $labels.state }} of job {{ $labels.job }} has a TTL but nothing expires "
        "(+{{ $slope_per_hour | humanize }} keys/h)";
    r.annotations["description"] =
        std::string(
            "State {{ $labels.state }} ({{ $labels.source }}) has a TTL of "
            "{{ $ttl | humanizeDuration }}, yet its expired-entry counter "
            "(statewatch_state_expired_total, all cleanup paths) has stayed at "
            "{{ $expired | humanize }} for {{ $seconds_without_expiry | humanizeDuration }} — "
            "longer than the TTL plus {{ $window_seconds | humanizeDuration }} — while its key "
            "count rose by {{ $slope_per_hour | humanize }} keys per hour to about "
            "{{ $level | humanize }}; ") +
        kFitEvidence +
        ". Entries older than the TTL are invisible to reads but still stored: no cleanup "
        "is removing them.";
    r.annotations["runbook"] =
        "Make sure a cleanup strategy runs for state {{ $labels.state }}. With "
        "cleanupInRocksdbCompactFilter, expired entries go only when compaction rewrites "
        "their files: data in the bottom level of a quiet column family may never be "
        "compacted again — set periodic compaction (RocksDB `periodic_compaction_seconds`, "
        "Flink's cleanupInRocksdbCompactFilter(queryTimeAfterNumEntries) with "
        "state.backend.rocksdb.compaction.* or a TTL compaction time) or add "
        "cleanupIncrementally(N, true) / cleanupFullSnapshot(). With OnReadAndWrite, check "
        "that reads are not refreshing every key forever.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Trend("CheckpointGrowsAppendOnly", "statewatch_checkpoint_full_size_bytes");
    r.type = RuleType::kAppendOnly;
    r.companion_series = "statewatch_checkpoint_delta_size_bytes";
    r.flat_tolerance = 0.25;
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "Checkpoints of job {{ $labels.job }} grow by "
        "{{ $slope_per_hour | humanize1024 }}B/h while each adds the same";
    r.annotations["description"] =
        std::string(
            "The full size of the latest checkpoint of job {{ $labels.job }} "
            "({{ $labels.source }}) rose by {{ $slope_per_hour | humanize1024 }}B per hour "
            "over the last {{ $window_seconds | humanizeDuration }} to about "
            "{{ $level | humanize1024 }}B; ") +
        kFitEvidence +
        ". Meanwhile each checkpoint's own new bytes stayed flat at about "
        "{{ $companion_level | humanize1024 }}B (they changed by "
        "{{ $companion_change_ratio | humanizePercentage }} over the window): data is added at "
        "a steady rate and never removed, the signature of a state without a TTL.";
    r.annotations["runbook"] =
        "Find the operator whose state grows (the flink_rest collector reports full size per "
        "operator; statewatch_state_keys per state in the engine) and give its state a TTL with "
        "compaction-filter cleanup, or clear keys whose work is done. Until then checkpoint "
        "storage and restore time grow with it.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Forecast("DiskWillFillUp", "statewatch_filesystem_avail_bytes",
                          CompareOp::kLessEqual, hours(6), hours(24));
    r.limit = 0;
    r.labels = {{"severity", "critical"}};
    r.annotations["summary"] =
        "The disk holding {{ $labels.path }} fills up in "
        "{{ $seconds_to_limit | humanizeDuration }}";
    r.annotations["description"] =
        "Free space on the filesystem of {{ $labels.path }} ({{ $labels.source }}) fell by "
        "{{ $slope_per_hour | humanize1024 }}B per hour over the last "
        "{{ $window_seconds | humanizeDuration }} to about {{ $level | humanize1024 }}B; at this "
        "rate it is gone in {{ $seconds_to_limit | humanizeDuration }} (a line explains "
        "{{ $r_squared | humanizePercentage }} of the drop). RocksDB stops writing with "
        "\"No space left on device\" and checkpoints fail.";
    r.annotations["runbook"] =
        "Find what grows on that disk: a state without a TTL (StateWithoutTtlGrowing, "
        "ColumnFamilyWithoutTtlFilterGrowing), compaction debt "
        "(statewatch_rocksdb_pending_compaction_bytes), or retained checkpoints "
        "(statewatch_checkpoint_retained; Flink state.checkpoints.num-retained). Add disk "
        "before the forecast runs out.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Forecast("CheckpointWillTimeOut", "statewatch_checkpoint_duration_seconds",
                          CompareOp::kGreaterEqual, hours(24), hours(24));
    r.companion_series = "statewatch_checkpoint_timeout_seconds";
    r.for_duration = hours(1);
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "Checkpoints of job {{ $labels.job }} reach their timeout in "
        "{{ $seconds_to_limit | humanizeDuration }}";
    r.annotations["description"] =
        "Checkpoint duration of job {{ $labels.job }} ({{ $labels.source }}) rose by "
        "{{ $slope_per_hour | humanizeDuration }} per hour over the last "
        "{{ $window_seconds | humanizeDuration }} to about {{ $level | humanizeDuration }}; "
        "at this rate it reaches the checkpoint timeout of {{ $limit | humanizeDuration }} in "
        "{{ $seconds_to_limit | humanizeDuration }}, and checkpoints then fail.";
    r.annotations["runbook"] =
        "Checkpoints slow down as state grows: look for a state without a TTL first. Use "
        "incremental checkpoints (execution.checkpointing.incremental: true), unaligned "
        "checkpoints under backpressure, and raise execution.checkpointing.timeout only for "
        "state that is legitimately large.";
    rules.push_back(std::move(r));
  }
  {
    RuleSpec r = Forecast("MemoryBudgetWillBeExceeded", "statewatch_rocksdb_pinned_memory_bytes",
                          CompareOp::kGreaterEqual, hours(6), hours(6));
    r.companion_series = "statewatch_rocksdb_memory_budget_bytes";
    r.labels = {{"severity", "warning"}};
    r.annotations["summary"] =
        "RocksDB memory of {{ $labels.source }} that cannot be evicted reaches its budget in "
        "{{ $seconds_to_limit | humanizeDuration }}";
    r.annotations["description"] =
        "Memtables and pinned cache blocks (index and filter blocks, blocks held by "
        "iterators) of {{ $labels.source }} grew by {{ $slope_per_hour | humanize1024 }}B per "
        "hour to about {{ $level | humanize1024 }}B; at this rate they fill the "
        "{{ $limit | humanize1024 }}B budget in {{ $seconds_to_limit | humanizeDuration }}. "
        "Past it the cache has nothing left to evict: reads go to disk, writes stall, and a "
        "container with a memory limit is killed.";
    r.annotations["runbook"] =
        "Index and filter blocks grow with the data: a state without a TTL grows them too. "
        "Partition index/filters (Flink state.backend.rocksdb.memory.partitioned-index-filters"
        ": true), lower the write buffer share (rocksdb.write_buffer_ratio / Flink "
        "state.backend.rocksdb.memory.write-buffer-ratio), or raise the budget "
        "(rocksdb.memory_budget; Flink taskmanager.memory.managed.size).";
    rules.push_back(std::move(r));
  }
  return rules;
}

}  // namespace statewatch::rules
