// RuleEngine: evaluates alerting rules over observed samples and runs Prometheus' alert state
// machine (rules/alerting.go) for them. Pure computation: samples and `now` come from the
// caller (the daemon's scheduler, or `statewatch backtest` replaying history), never from a
// clock or a database.
//
// Memory is bounded per series, not per sample: a series watched by a trend or missing_ttl rule
// keeps one MomentsWindow per distinct rule window (~1.2 KB with its 24 buckets), a series read
// only by threshold rules or as a TTL reading keeps its latest sample. Samples of metrics no rule
// reads are dropped at once. A series is forgotten when it has had no sample for longer than
// the longest horizon of the rules that read it (below).
//
// Staleness ("a series that disappeared"): a threshold rule reads the latest value only while
// it is at most 5 minutes old (kStaleness, Prometheus' lookback delta for instant values). A
// trend or missing_ttl rule reads a series while its newest sample lies within the rule's window
// (as a Prometheus range vector does); before that the fit is over whatever the window holds.
// A TTL reading counts while it is within the reading rule's horizon. Outside these horizons a
// series counts as "condition false" for its alerts.
//
// Alert state machine, per rule and alert label set, at every Evaluate(now):
//   condition true:  inactive → pending (active_at = now); pending → firing once
//                    now - active_at ≥ for (for = 0: straight to firing, one transition
//                    inactive → firing).
//   condition false: pending → inactive (dropped; a transition from kPending);
//                    firing stays firing while now - last_active < keep_firing_for, else
//                    → inactive with resolved_at = now (a transition from kFiring, reported once;
//                    the alert is then forgotten — the notifier's outbox makes delivery durable).
//
// Thread-safety: none; one owner (the daemon's evaluation strand).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "statewatch/rules/alert.h"
#include "statewatch/rules/linear_trend.h"
#include "statewatch/rules/rule.h"
#include "statewatch/rules/sample.h"

namespace statewatch::rules {

// How long a threshold rule keeps reading a series' latest value without a newer sample.
inline constexpr std::chrono::milliseconds kStaleness = std::chrono::minutes(5);

struct AlertTransition {
  Alert alert;  // alert.state is the new state
  AlertState from;
};

// One watched series as /api/v1/states reports it.
struct StateVerdict {
  std::string series;
  Labels labels;
  double latest = 0;
  int64_t latest_millis = 0;
  std::optional<double> ttl;    // from the rule's ttl_series when seen
  std::optional<TrendFit> fit;  // over the rule's window
  // "insufficient_data": no fit, fewer than min_samples, or a history shorter than the window
  //                      (+ 2 × TTL for a state with a TTL);
  // "bounded":           judged, and not rising (slope ≤ 0, r² below the rule's, or under floor);
  // "growing":           rising (with a TTL, after its warm-up, for a missing_ttl rule; any
  //                      rising series for a trend rule);
  // "growing_without_ttl": rising with no TTL reading (0 or absent), from a missing_ttl rule;
  // "growing_ttl_not_expiring": rising with a TTL while its expired counter has not moved for
  //                      a TTL plus a window, from a ttl_cleanup_stalled rule.
  std::string verdict;
  std::string rule;  // the rule that produced the verdict
};

class RuleEngine {
 public:
  // `rules` must have passed ValidateRule (a template that does not parse expands as its text).
  explicit RuleEngine(std::vector<RuleSpec> rules);
  ~RuleEngine();
  RuleEngine(RuleEngine&&) noexcept;
  RuleEngine& operator=(RuleEngine&&) noexcept;

  // Per series, samples must arrive in time order: a sample not newer than the series' newest
  // one is ignored and counted (ignored_out_of_order). Labels need not be sorted. Samples of
  // metrics no rule reads are dropped without being counted or stored.
  void Observe(const Sample& s);
  void Observe(std::span<const Sample> samples);

  // Evaluates every rule at now (see the state machine above) and returns the transitions, in
  // rule order, then by alert labels. Also forgets series past their horizon.
  std::vector<AlertTransition> Evaluate(int64_t now_millis);

  // Pending and firing alerts, sorted by rule (alertname) then labels.
  std::vector<Alert> Alerts() const;

  // One verdict per series watched by a trend or missing_ttl rule, sorted by series then
  // labels. A series watched by several rules gets the most severe verdict among them
  // (growing_without_ttl = growing_ttl_not_expiring > growing > bounded > insufficient_data;
  // the first rule on a tie). Forecast rules give no verdicts.
  std::vector<StateVerdict> Verdicts(int64_t now_millis) const;

  // Re-installs a pending or firing alert from before a restart (alert.rule names the rule,
  // alert.labels are its full labels). It stays as it was — listed by Alerts(), no transition —
  // until the rule evaluates a series giving the same labels with enough data to decide: if the
  // condition holds, it continues with its active_at / fired_at (so `for:` is not restarted);
  // if not, it is dropped or resolved as usual. While that series is present but still warming
  // up (history shorter than the window, or 2 × TTL + window), the alert keeps waiting; if no
  // present series gives its labels for the rule's horizon (window, or kStaleness for
  // thresholds), it counts as condition false. Replaying stored history through Observe()
  // before the first Evaluate() avoids the wait. Among rules sharing the alertname, the first
  // whose literal labels the alert carries takes it; unknown rules and inactive alerts are
  // ignored, and so is an alert whose rule already has one with the same labels.
  void RestoreAlert(const Alert& alert);

  size_t series_count() const;
  size_t ignored_out_of_order() const;
  // Bytes held by the series and their windows (an estimate of the heap used; the benchmark
  // also measures RSS).
  size_t memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace statewatch::rules
