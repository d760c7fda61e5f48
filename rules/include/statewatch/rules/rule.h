// RuleSpec: one alerting rule as configured (YAML `rules:` in statewatchd's config) and the
// built-in rule set. Evaluated by RuleEngine (rule_engine.h); the semantics per type:
//
// kTrend       per matching series, a least-squares line over `window` (MomentsWindow). Holds
//              when the fit has ≥ min_samples points, slope > 0, r² ≥ min_r_squared and the
//              fitted current level ≥ floor — and the series' history spans the whole window
//              (a partial window would mistake the rising half of a daily cycle or a job's
//              start-up ramp for a leak). TTL-aware: when `ttl_series` with identical labels
//              reads > 0 (seconds), the history must span 2 × TTL + window, because a state
//              with a TTL grows while its keys are written plus one TTL, then plateaus or
//              cycles (DESIGN.md "Rules"; a key's active span is at most one TTL).
//              $value = slope per hour. values: slope_per_hour, r_squared, samples, level
//              (fitted now), window_seconds, limit and seconds_to_limit (when `limit` is set;
//              seconds_to_limit only when the line reaches it), ttl (when read).
// kThreshold   the series' latest value, if not stale (newer than 5 min, Prometheus' lookback),
//              compared with `threshold` by `op`. $value = latest. values: threshold.
// kMissingTtl  as kTrend (same gates and numbers), for series whose `ttl_series` reading is 0 or
//              absent ("absent or 0 = no TTL", DESIGN.md "Canonical signals"). values also: ttl.
// kTtlCleanupStalled  evidence that a TTL is set but nothing is being removed: the series (a key
//              count) passes kTrend's gates, its `ttl_series` reading is > 0, and the
//              `companion_series` (the expired-entry counter; series whose labels equal the
//              watched one's once the `companion_ignoring` labels are dropped, summed) exists
//              and has not changed for one TTL plus one window, both having been watched that
//              long (the window is slack for a compaction filter that acts only when compaction
//              reaches old files). A counter never seen is no evidence (sources such as Flink
//              do not report one). $value = slope per hour. values: kTrend's, ttl, expired
//              (the counter's current sum), seconds_without_expiry.
// kAppendOnly  evidence that data is added and never removed: the series (a checkpoint's full
//              size) passes kTrend's gates while the `companion_series` with identical labels
//              (the checkpoint's delta size) is flat over the same window — its fitted change
//              over the window is at most `flat_tolerance` of its mean, which is > 0. Each
//              checkpoint then adds about the same new bytes and none are ever dropped.
//              $value = slope per hour. values: kTrend's, companion_level (the delta's mean),
//              companion_change_ratio (|fitted change over the window| / mean).
// kForecast    predict_linear as a rule: the series' least-squares line over `window` (kTrend's
//              gates on samples, r² and history span; the slope may have either sign), and the
//              limit — `limit`, or the latest value of `companion_series` with identical labels
//              when set. Holds when the line satisfies `op` against the limit within `horizon`
//              from now (op '>' / '>=': rising to it; '<' / '<=': falling to it), including
//              when it already does. Only < <= > >= are allowed. $value = seconds until it
//              does (0: already; +Inf: never). Not a state verdict (Verdicts skips it). values:
//              slope_per_hour, r_squared, samples, level, window_seconds, limit,
//              seconds_to_limit, horizon_seconds.
//
// A series matches a rule when its name is `series` and every matcher is equal to its label
// (a matcher with an empty value matches a series without that label, as in Prometheus).
//
// Thread-safety: values; copy freely.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::rules {

enum class RuleType { kTrend, kThreshold, kMissingTtl, kTtlCleanupStalled, kAppendOnly, kForecast };
enum class CompareOp { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };

struct RuleSpec {
  std::string alert;  // alertname
  RuleType type = RuleType::kTrend;
  std::string series;  // metric read; for kMissingTtl the key-count metric
  Labels matchers;     // equality matchers; a series matches when all are equal
  std::chrono::milliseconds window = std::chrono::hours(24);  // trend, missing_ttl
  size_t min_samples = 10;
  double min_r_squared = 0.9;
  double floor = 0;             // trend/missing_ttl: fitted current level must be >= floor
  std::optional<double> limit;  // trend: project time until the fitted line reaches it
  CompareOp op = CompareOp::kGreater;
  double threshold = 0;  // threshold
  // trend (ttl-aware) + missing_ttl: joined on identical labels. A reading > 0 is the TTL in
  // seconds; a 0/1 flag (statewatch_rocksdb_ttl_compaction_filter) gates a trend rule for one
  // window plus two seconds — give such rules a window longer than the TTLs in use.
  std::string ttl_series = "statewatch_state_ttl_seconds";
  // ttl_cleanup_stalled (the expired counter), append_only (the delta size), forecast (the
  // limit, optional); see the types above.
  std::string companion_series;
  // ttl_cleanup_stalled: labels dropped from the companion's before joining (the counter's
  // per-cleanup-path label).
  std::vector<std::string> companion_ignoring;
  double flat_tolerance = 0.25;                                // append_only
  std::chrono::milliseconds horizon = std::chrono::hours(24);  // forecast
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds keep_firing_for{0};
  Labels labels;                                   // added to the alert's labels (templates)
  std::map<std::string, std::string> annotations;  // templates (template.h)
};

// OK, or InvalidArgument naming the rule and the field: empty or invalid alertname (must be
// [a-zA-Z_][a-zA-Z0-9_]*), empty series, window ≤ 0 or > 366 days, min_r_squared outside
// [0, 1], min_samples < 2, NaN threshold/floor/limit, negative for / keep_firing_for, an
// invalid label or matcher name, an empty ttl_series on a missing_ttl or ttl_cleanup_stalled
// rule, an empty companion_series on a ttl_cleanup_stalled or append_only rule, a forecast with
// neither limit nor companion_series or a horizon ≤ 0, flat_tolerance < 0, and a template
// that does not parse or names a value the rule type does not produce.
Status ValidateRule(const RuleSpec& rule);

const char* RuleTypeName(RuleType type);  // "trend" | "threshold" | "missing_ttl"
std::optional<RuleType> ParseRuleType(std::string_view name);
const char* CompareOpText(CompareOp op);  // "<", "<=", ">", ">=", "==", "!="
std::optional<CompareOp> ParseCompareOp(std::string_view text);
// `value op threshold`; false when either is NaN (as a Prometheus comparison filter drops it).
bool Compare(double value, CompareOp op, double threshold);

// The names a rule of `type` puts in Alert::values (what {{ $NAME }} may use).
std::vector<std::string> RuleValueNames(RuleType type);

// The built-in rules: what the default config ships and `statewatch backtest` uses without a
// config. All pass ValidateRule.
//   StateGrowingWithoutBound             trend on statewatch_state_keys, 24 h, r² ≥ 0.9, for 1 h
//   RocksDbColumnFamilyGrowing           trend on statewatch_rocksdb_live_data_bytes, TTL flag
//                                        from statewatch_rocksdb_ttl_compaction_filter, for 1 h
//   StateWithoutTtlGrowing               missing_ttl on statewatch_state_keys, for 1 h
//   ColumnFamilyWithoutTtlFilterGrowing  missing_ttl on statewatch_rocksdb_estimate_num_keys,
//                                        no filter = statewatch_rocksdb_ttl_compaction_filter 0
//   BlockCacheHitRatioLow                statewatch_rocksdb_block_cache_hit_ratio < 0.90, 10 min
//   WriteStallsActive                    statewatch_rocksdb_delayed_write_rate_bytes > 0, 5 min
//   CompactionBacklogHigh                statewatch_rocksdb_pending_compaction_bytes > 32 GiB,
//                                        15 min (half RocksDB's default soft limit of 64 GiB)
//   CheckpointDurationHigh               statewatch_checkpoint_duration_seconds > 300, 15 min
//                                        (half Flink's default 10 min checkpoint timeout)
//   TtlCleanupNotRunning                 ttl_cleanup_stalled on statewatch_state_keys with
//                                        statewatch_state_expired_total, 24 h, for 1 h
//   CheckpointGrowsAppendOnly            append_only on statewatch_checkpoint_full_size_bytes
//                                        with statewatch_checkpoint_delta_size_bytes, 24 h
//   DiskWillFillUp                       forecast: statewatch_filesystem_avail_bytes <= 0
//                                        within 24 h, over 6 h
//   CheckpointWillTimeOut                forecast: statewatch_checkpoint_duration_seconds >=
//                                        statewatch_checkpoint_timeout_seconds within 24 h
//   MemoryBudgetWillBeExceeded           forecast: statewatch_rocksdb_pinned_memory_bytes >=
//                                        statewatch_rocksdb_memory_budget_bytes within 6 h
std::vector<RuleSpec> DefaultRules();

}  // namespace statewatch::rules
