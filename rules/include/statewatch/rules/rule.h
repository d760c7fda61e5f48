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

enum class RuleType { kTrend, kThreshold, kMissingTtl };
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
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds keep_firing_for{0};
  Labels labels;                                   // added to the alert's labels (templates)
  std::map<std::string, std::string> annotations;  // templates (template.h)
};

// OK, or InvalidArgument naming the rule and the field: empty or invalid alertname (must be
// [a-zA-Z_][a-zA-Z0-9_]*), empty series, window ≤ 0 or > 366 days, min_r_squared outside
// [0, 1], min_samples < 2, NaN threshold/floor/limit, negative for / keep_firing_for, an
// invalid label or matcher name, an empty ttl_series on a missing_ttl rule, and a template
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
std::vector<RuleSpec> DefaultRules();

}  // namespace statewatch::rules
