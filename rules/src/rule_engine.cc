#include "statewatch/rules/rule_engine.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "statewatch/rules/moments_window.h"
#include "statewatch/rules/template.h"

namespace statewatch::rules {
namespace {

constexpr int64_t kStalenessMillis = kStaleness.count();

// The series table's hash: word-at-a-time (std::hash of each string, combined), several times
// faster than the byte-serial FNV-1a that fingerprints use. Observe() hashes every sample.
struct LabelsHash {
  size_t operator()(const Labels& labels) const {
    size_t h = 0x9e3779b97f4a7c15ull;
    auto mix = [&h](std::string_view s) {
      h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    };
    for (const auto& [name, value] : labels) {
      mix(name);
      mix(value);
    }
    return h;
  }
};

// Buckets per rule window: a 24 h window in hour buckets, fitted over 24–25 h. Memory per series
// is (buckets + 1) × 48 bytes, the bulk of the engine's; 24 keeps 10 000 watched series with a
// day of history near 12 MB (the agent's target is < 50 MB in all), and a window an hour
// longer than asked only lengthens the evidence.
constexpr int kWindowBuckets = 24;

bool LabelLess(const std::pair<std::string, std::string>& a,
               const std::pair<std::string, std::string>& b) {
  return a < b;
}

struct Series {
  int64_t first_millis = 0;  // first sample since the series was (re)created: history span
  int64_t latest_millis = 0;
  int64_t changed_millis = 0;  // the sample at which the value last changed (or first_millis)
  double latest = 0;
  std::vector<MomentsWindow> windows;  // one per distinct window of the rules watching it
};
using SeriesMap = std::unordered_map<Labels, Series, LabelsHash>;
using SeriesEntry = SeriesMap::value_type;

// Everything kept for one metric name that some rule reads.
struct Metric {
  SeriesMap series;  // node-based: SeriesEntry pointers stay valid until the entry is erased
  int64_t retain_millis = 0;  // forget a series this long after its newest sample
  std::vector<size_t> rules;  // rules whose `series` is this metric
  // append_only rules whose companion_series is this metric: its series get those rules'
  // windows too (fitted, never watched).
  std::vector<size_t> companion_rules;
};

// A series a rule evaluates, and which of the series' windows is the rule's.
struct Watch {
  SeriesEntry* entry;
  uint32_t window;
};

struct CompiledRule {
  RuleSpec spec;
  std::vector<std::pair<std::string, Template>> labels;
  std::vector<std::pair<std::string, Template>> annotations;
  bool windowed = false;       // every type but threshold
  int64_t horizon_millis = 0;  // how long a series without new samples still counts
  const Metric* ttl_metric = nullptr;
  const Metric* companion_metric = nullptr;
};

// A ttl_cleanup_stalled rule's counter, summed over the series that join one watched series.
struct CounterSum {
  double sum = 0;
  int64_t first_millis = INT64_MAX;  // earliest first sample among them
  int64_t changed_millis = 0;        // latest change among them
};
using CounterSums = std::unordered_map<Labels, CounterSum, LabelsHash>;

// The counter sums of one rule at one evaluation, built on first use: only a series that rises
// with a TTL needs them, and summing walks every counter series.
struct LazyCounterSums {
  std::function<CounterSums()> build;
  std::optional<CounterSums> sums;
  const CounterSums& Get() {
    if (!sums) sums = build();
    return *sums;
  }
};

struct ActiveAlert {
  Alert alert;
  uint64_t seen = 0;  // evaluation number at which the condition last held
  bool restored = false;
  int64_t restore_deadline = 0;  // set at the first Evaluate after RestoreAlert
};

// What one rule concluded about one series at one evaluation.
struct Judgement {
  bool condition = false;
  bool present = false;   // the series has a sample within the rule's horizon
  bool decisive = false;  // enough data to decide either way
  const char* verdict = "insufficient_data";
  double value = 0;
  std::optional<TrendFit> fit;
  std::optional<double> ttl;
  double level = 0;
  std::optional<double> limit;  // forecast: the limit in force (constant or companion)
  std::optional<double> seconds_to_limit;
  std::vector<std::pair<const char*, double>> evidence;  // type-specific values (rule.h)
};

int VerdictRank(const std::string& verdict) {
  if (verdict == "growing_without_ttl" || verdict == "growing_ttl_not_expiring") return 3;
  if (verdict == "growing") return 2;
  if (verdict == "bounded") return 1;
  return 0;
}

bool Matches(const RuleSpec& rule, const Labels& labels) {
  for (const auto& [name, want] : rule.matchers) {
    const std::string* have = nullptr;
    for (const auto& [label, value] : labels) {
      if (label == name) {
        have = &value;
        break;
      }
    }
    // A missing label reads as "" (Prometheus): {cf=""} selects series without a cf label.
    if ((have == nullptr ? std::string() : *have) != want) return false;
  }
  return true;
}

Template ParseOrLiteral(const std::string& text) {
  Result<Template> t = Template::Parse(text);
  // An unvalidated rule's broken template shows as written rather than vanish.
  return t.ok() ? std::move(t).value() : Template::Literal(text);
}

}  // namespace

struct RuleEngine::Impl {
  std::vector<CompiledRule> rules;
  std::unordered_map<std::string, Metric> metrics;    // no inserts after construction
  std::vector<std::vector<Watch>> watches;            // per rule
  std::vector<std::map<Labels, ActiveAlert>> active;  // per rule, by alert labels
  std::vector<size_t> restored;                       // per rule: restored, not yet decided
  uint64_t evaluation = 0;
  size_t ignored_out_of_order = 0;
  std::optional<int64_t> last_forget_millis;  // last ForgetStaleSeries sweep

  void Attach(Metric& metric, SeriesEntry* entry, bool create_windows);
  std::optional<double> TtlReading(const CompiledRule& rule, const Labels& labels,
                                   int64_t now) const;
  std::optional<double> CompanionLatest(const CompiledRule& rule, const Labels& labels,
                                        int64_t now) const;
  CounterSums SumCounters(const CompiledRule& rule, int64_t now) const;
  // `counters`: SumCounters for a ttl_cleanup_stalled rule, built when first needed.
  Judgement Judge(const CompiledRule& rule, const Watch& w, int64_t now, bool full,
                  LazyCounterSums* counters) const;
  void JudgeForecast(const CompiledRule& rule, const Watch& w, int64_t now, Judgement* j) const;
  void JudgeAppendOnly(const CompiledRule& rule, const Watch& w, int64_t now, Judgement* j) const;
  std::map<std::string, double> Values(const CompiledRule& rule, const Judgement& j) const;
  Labels AlertLabels(const CompiledRule& rule, const Labels& series, const Judgement& j,
                     const std::map<std::string, double>& values) const;
  void EvaluateRule(size_t r, int64_t now, std::vector<AlertTransition>* out);
  void ForgetStaleSeries(int64_t now);
};

// The index of `window` among the series' windows, or windows.size().
uint32_t WindowIndex(const Series& s, std::chrono::milliseconds window) {
  uint32_t index = 0;
  while (index < s.windows.size() && s.windows[index].window() != window) ++index;
  return index;
}

void RuleEngine::Impl::Attach(Metric& metric, SeriesEntry* entry, bool create_windows) {
  Series& s = entry->second;
  for (size_t r : metric.rules) {
    const CompiledRule& rule = rules[r];
    if (!Matches(rule.spec, entry->first)) continue;
    uint32_t index = 0;
    if (rule.windowed) {
      index = WindowIndex(s, rule.spec.window);
      if (index == s.windows.size()) {
        if (!create_windows) continue;  // cannot happen: windows were made when it was created
        s.windows.emplace_back(rule.spec.window, kWindowBuckets);
      }
    }
    watches[r].push_back({entry, index});
  }
  if (!create_windows) return;
  for (size_t r : metric.companion_rules) {
    const CompiledRule& rule = rules[r];
    if (!Matches(rule.spec, entry->first)) continue;
    if (WindowIndex(s, rule.spec.window) == s.windows.size()) {
      s.windows.emplace_back(rule.spec.window, kWindowBuckets);
    }
  }
}

std::optional<double> RuleEngine::Impl::TtlReading(const CompiledRule& rule, const Labels& labels,
                                                   int64_t now) const {
  if (rule.ttl_metric == nullptr) return std::nullopt;
  auto it = rule.ttl_metric->series.find(labels);
  if (it == rule.ttl_metric->series.end()) return std::nullopt;
  const Series& s = it->second;
  if (now - s.latest_millis > rule.horizon_millis || !std::isfinite(s.latest)) return std::nullopt;
  return s.latest;
}

std::optional<double> RuleEngine::Impl::CompanionLatest(const CompiledRule& rule,
                                                        const Labels& labels, int64_t now) const {
  if (rule.companion_metric == nullptr) return std::nullopt;
  auto it = rule.companion_metric->series.find(labels);
  if (it == rule.companion_metric->series.end()) return std::nullopt;
  const Series& s = it->second;
  if (now - s.latest_millis > rule.horizon_millis || !std::isfinite(s.latest)) return std::nullopt;
  return s.latest;
}

CounterSums RuleEngine::Impl::SumCounters(const CompiledRule& rule, int64_t now) const {
  CounterSums sums;
  if (rule.companion_metric == nullptr) return sums;
  const std::vector<std::string>& ignoring = rule.spec.companion_ignoring;
  for (const auto& [labels, s] : rule.companion_metric->series) {
    if (now - s.latest_millis > rule.horizon_millis || !std::isfinite(s.latest)) continue;
    Labels joined;
    joined.reserve(labels.size());
    for (const auto& label : labels) {
      if (std::find(ignoring.begin(), ignoring.end(), label.first) == ignoring.end()) {
        joined.push_back(label);
      }
    }
    CounterSum& sum = sums[std::move(joined)];  // still sorted: a subsequence of sorted labels
    sum.sum += s.latest;
    sum.first_millis = std::min(sum.first_millis, s.first_millis);
    sum.changed_millis = std::max(sum.changed_millis, s.changed_millis);
  }
  return sums;
}

void RuleEngine::Impl::JudgeForecast(const CompiledRule& rule, const Watch& w, int64_t now,
                                     Judgement* j) const {
  const RuleSpec& spec = rule.spec;
  const Series& s = w.entry->second;
  j->limit =
      spec.companion_series.empty() ? spec.limit : CompanionLatest(rule, w.entry->first, now);
  // No limit to forecast against, or less history than the window: nothing to say yet.
  if (!j->limit || now - s.first_millis < spec.window.count()) return;
  j->decisive = true;
  const bool rising_op = spec.op == CompareOp::kGreater || spec.op == CompareOp::kGreaterEqual;
  if (Compare(j->level, spec.op, *j->limit)) {
    j->seconds_to_limit = 0;
  } else if (j->fit->r_squared >= spec.min_r_squared) {
    // A falling approach is a rising one of the negated line.
    TrendFit toward = *j->fit;
    double limit = *j->limit;
    if (!rising_op) {
      toward.slope_per_second = -toward.slope_per_second;
      toward.intercept = -toward.intercept;
      limit = -limit;
    }
    j->seconds_to_limit = SecondsUntil(toward, now, limit);
  }
  j->condition = j->seconds_to_limit &&
                 *j->seconds_to_limit <= static_cast<double>(spec.horizon.count()) / 1e3;
  j->value = j->seconds_to_limit.value_or(std::numeric_limits<double>::infinity());
  j->verdict = j->condition ? "limit_ahead" : "within_limit";
}

void RuleEngine::Impl::JudgeAppendOnly(const CompiledRule& rule, const Watch& w, int64_t now,
                                       Judgement* j) const {
  const RuleSpec& spec = rule.spec;
  // The full size rises (the caller checked); it takes the flat deltas to make evidence.
  j->condition = false;
  auto it = rule.companion_metric->series.find(w.entry->first);
  if (it == rule.companion_metric->series.end() ||
      now - it->second.latest_millis > rule.horizon_millis) {
    return;  // no delta to compare with: no evidence either way
  }
  const Series& delta = it->second;
  const uint32_t index = WindowIndex(delta, spec.window);
  if (index == delta.windows.size()) return;
  const std::optional<TrendFit> fit = delta.windows[index].Fit(now);
  if (!fit || fit->samples < spec.min_samples) return;
  j->decisive = true;
  // The mean of the deltas is the fitted value at the middle of their span (exactly so for
  // evenly spaced checkpoints); the change is what the line moves across that span.
  const double mean = fit->ValueAt((fit->first_millis + fit->last_millis) / 2);
  const double change = std::abs(fit->slope_per_second) *
                        static_cast<double>(fit->last_millis - fit->first_millis) / 1e3;
  const double ratio = mean > 0 ? change / mean : std::numeric_limits<double>::infinity();
  j->evidence.emplace_back("companion_level", mean);
  j->evidence.emplace_back("companion_change_ratio", ratio);
  const bool flat = mean > 0 && ratio <= spec.flat_tolerance;
  j->condition = flat;
  if (j->verdict == std::string_view("growing") && !flat) j->verdict = "bounded";
}

Judgement RuleEngine::Impl::Judge(const CompiledRule& rule, const Watch& w, int64_t now, bool full,
                                  LazyCounterSums* counters) const {
  Judgement j;
  const RuleSpec& spec = rule.spec;
  const Series& s = w.entry->second;
  if (now - s.latest_millis > rule.horizon_millis) return j;  // disappeared
  j.present = true;
  if (spec.type == RuleType::kThreshold) {
    j.decisive = true;
    j.value = s.latest;
    j.condition = Compare(s.latest, spec.op, spec.threshold);
    return j;
  }

  j.fit = s.windows[w.window].Fit(now);
  if (!j.fit || j.fit->samples < spec.min_samples) return j;
  if (spec.type == RuleType::kForecast) {
    j.level = j.fit->ValueAt(now);
    JudgeForecast(rule, w, now, &j);
    return j;
  }
  j.value = j.fit->slope_per_hour();
  j.level = j.fit->ValueAt(now);
  const bool rising = j.fit->slope_per_second > 0 && j.fit->r_squared >= spec.min_r_squared &&
                      j.level >= spec.floor;
  // The common case on the hot path: not rising, nobody asked for the details. The TTL lookup
  // (a hash of the labels) is skipped; `decisive` stays false, which only matters to restored
  // alerts and verdicts, and those pass full = true.
  if (!rising && !full) return j;

  j.ttl = TtlReading(rule, w.entry->first, now);
  const bool has_ttl = j.ttl && *j.ttl > 0;
  // A state with a TTL grows until its first keys expire, then levels off or cycles: judge it
  // only once the window lies entirely after that. A key lives for as long as it keeps being
  // written plus one TTL, and a TTL is chosen at least as long as a key's active span (else
  // state would expire while in use), so the count levels off within two TTLs — one TTL is
  // not enough (the CDC example's order maps are written for 3 days under a 7-day TTL and
  // grow for 10). Any series needs a whole window first.
  const double ttl_millis = has_ttl ? std::min(*j.ttl * 1e3, 1e15) : 0.0;
  const bool warming_up = static_cast<double>(now - s.first_millis) <
                          static_cast<double>(spec.window.count()) + 2 * ttl_millis;
  if (spec.limit) j.seconds_to_limit = SecondsUntil(*j.fit, now, *spec.limit);

  if (spec.type == RuleType::kTrend || spec.type == RuleType::kAppendOnly) {
    if (warming_up) return j;
    j.decisive = true;
    j.condition = rising;
    j.verdict = rising ? "growing" : "bounded";
    if (spec.type == RuleType::kAppendOnly && rising) {
      j.decisive = false;
      JudgeAppendOnly(rule, w, now, &j);
    }
  } else if (spec.type == RuleType::kTtlCleanupStalled) {
    // Evidence that expiry is not running: a TTL, growth, a counter, and no expiry for one
    // TTL plus one window. The first keys are due one TTL after they were written; the window
    // is slack for cleanup that legitimately lags (a compaction filter acts only when
    // compaction reaches the file).
    const double quiet_needed = ttl_millis + static_cast<double>(spec.window.count());
    const bool watched_long = has_ttl && static_cast<double>(now - s.first_millis) >= quiet_needed;
    if (!has_ttl) {
      j.decisive = true;  // no TTL: never this rule's business (missing_ttl's)
      j.verdict = warming_up ? "insufficient_data" : (rising ? "growing" : "bounded");
      return j;
    }
    if (!watched_long) return j;
    j.decisive = true;
    j.verdict = rising ? "growing" : "bounded";
    const CounterSum* counter = nullptr;
    if (counters != nullptr) {
      const CounterSums& sums = counters->Get();
      auto it = sums.find(w.entry->first);
      if (it != sums.end()) counter = &it->second;
    }
    if (counter == nullptr) return j;  // no counter reported: no evidence
    const double quiet = static_cast<double>(now - counter->changed_millis);
    const double seen = static_cast<double>(now - counter->first_millis);
    j.evidence.emplace_back("expired", counter->sum);
    j.evidence.emplace_back("seconds_without_expiry", quiet / 1e3);
    const bool stalled = quiet >= quiet_needed && seen >= quiet_needed;
    j.condition = rising && stalled;
    if (j.condition) j.verdict = "growing_ttl_not_expiring";
  } else if (has_ttl) {  // missing_ttl, and the state has one: never this rule's business
    j.decisive = true;
    j.verdict = warming_up ? "insufficient_data" : (rising ? "growing" : "bounded");
  } else {
    if (warming_up) return j;
    j.decisive = true;
    j.condition = rising;
    j.verdict = rising ? "growing_without_ttl" : "bounded";
  }
  return j;
}

std::map<std::string, double> RuleEngine::Impl::Values(const CompiledRule& rule,
                                                       const Judgement& j) const {
  const RuleSpec& spec = rule.spec;
  std::map<std::string, double> values;
  if (spec.type == RuleType::kThreshold) {
    values["threshold"] = spec.threshold;
    return values;
  }
  if (j.fit) {
    values["slope_per_hour"] = j.fit->slope_per_hour();
    values["r_squared"] = j.fit->r_squared;
    values["samples"] = static_cast<double>(j.fit->samples);
    values["level"] = j.level;
  }
  values["window_seconds"] = static_cast<double>(spec.window.count()) / 1e3;
  if (spec.type == RuleType::kForecast) {
    values["horizon_seconds"] = static_cast<double>(spec.horizon.count()) / 1e3;
    if (j.limit) values["limit"] = *j.limit;
  } else if (spec.limit) {
    values["limit"] = *spec.limit;
  }
  if (j.seconds_to_limit) values["seconds_to_limit"] = *j.seconds_to_limit;
  if (j.ttl) values["ttl"] = *j.ttl;
  if (spec.type == RuleType::kMissingTtl && !j.ttl) values["ttl"] = 0;
  for (const auto& [name, value] : j.evidence) values[name] = value;
  return values;
}

Labels RuleEngine::Impl::AlertLabels(const CompiledRule& rule, const Labels& series,
                                     const Judgement& j,
                                     const std::map<std::string, double>& values) const {
  Labels out = series;
  auto set = [&](const std::string& name, std::string value) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& l) { return l.first == name; });
    // An empty value removes the label, as in Prometheus.
    if (value.empty()) {
      if (it != out.end()) out.erase(it);
    } else if (it != out.end()) {
      it->second = std::move(value);
    } else {
      out.emplace_back(name, std::move(value));
    }
  };
  for (const auto& [name, tmpl] : rule.labels) set(name, tmpl.Expand(series, j.value, values));
  set("alertname", rule.spec.alert);
  std::sort(out.begin(), out.end(), LabelLess);
  return out;
}

void RuleEngine::Impl::EvaluateRule(size_t r, int64_t now, std::vector<AlertTransition>* out) {
  const CompiledRule& rule = rules[r];
  const RuleSpec& spec = rule.spec;
  auto& alerts = active[r];
  const size_t first_transition = out->size();

  LazyCounterSums counters{[&] { return SumCounters(rule, now); }, std::nullopt};
  for (const Watch& w : watches[r]) {
    const bool confirm_restored = restored[r] > 0;
    const Judgement j = Judge(rule, w, now, confirm_restored, &counters);
    if (!j.condition && !(confirm_restored && j.present)) continue;
    const std::map<std::string, double> values = Values(rule, j);
    Labels labels = AlertLabels(rule, w.entry->first, j, values);

    if (!j.condition) {
      auto it = alerts.find(labels);
      if (it != alerts.end() && it->second.restored) {
        if (j.decisive) {
          // Decided false: judged like any other alert now (the sweep drops or resolves it).
          it->second.restored = false;
          --restored[r];
        } else {
          // Its series is back but still warming up (a restart without replayed history):
          // keep waiting rather than send a resolve now and a new alert a window later.
          it->second.restore_deadline = now + rule.horizon_millis;
        }
      }
      continue;
    }

    auto [it, inserted] = alerts.try_emplace(std::move(labels));
    ActiveAlert& a = it->second;
    if (inserted) {
      a.alert.rule = spec.alert;
      a.alert.labels = it->first;
      a.alert.fingerprint = Fingerprint(it->first);
      a.alert.state = AlertState::kPending;
      a.alert.active_at_millis = now;
    } else if (a.restored) {
      a.restored = false;
      --restored[r];
    }
    const AlertState from = inserted ? AlertState::kInactive : a.alert.state;
    a.seen = evaluation;
    a.alert.value = j.value;
    a.alert.values = values;
    a.alert.last_active_millis = now;
    a.alert.annotations.clear();
    for (const auto& [name, tmpl] : rule.annotations) {
      a.alert.annotations[name] = tmpl.Expand(w.entry->first, j.value, values);
    }
    if (a.alert.state == AlertState::kPending &&
        now - a.alert.active_at_millis >= spec.for_duration.count()) {
      a.alert.state = AlertState::kFiring;
      a.alert.fired_at_millis = now;
    }
    if (a.alert.state != from) out->push_back({a.alert, from});
  }

  // Alerts whose condition did not hold at this evaluation.
  for (auto it = alerts.begin(); it != alerts.end();) {
    ActiveAlert& a = it->second;
    if (a.seen == evaluation) {
      ++it;
      continue;
    }
    if (a.restored) {
      if (a.restore_deadline == 0) a.restore_deadline = now + rule.horizon_millis;
      if (now < a.restore_deadline) {
        ++it;
        continue;
      }
      a.restored = false;
      --restored[r];
    }
    if (a.alert.state == AlertState::kFiring &&
        now - a.alert.last_active_millis < spec.keep_firing_for.count()) {
      ++it;
      continue;
    }
    AlertTransition t{std::move(a.alert), AlertState::kInactive};
    t.from = t.alert.state;
    if (t.from == AlertState::kFiring) t.alert.resolved_at_millis = now;
    t.alert.state = AlertState::kInactive;
    out->push_back(std::move(t));
    it = alerts.erase(it);
  }

  std::sort(out->begin() + static_cast<std::ptrdiff_t>(first_transition), out->end(),
            [](const AlertTransition& a, const AlertTransition& b) {
              return a.alert.labels < b.alert.labels;
            });
}

void RuleEngine::Impl::ForgetStaleSeries(int64_t now) {
  // Walking every series costs as much as a third of the fits, and forgetting is only about
  // memory (Judge already treats a series past its horizon as gone), so sweep once per
  // kStaleness of evaluation time — or at once if time went backwards (a replay restarted).
  if (last_forget_millis && now >= *last_forget_millis &&
      now - *last_forget_millis < kStalenessMillis) {
    return;
  }
  last_forget_millis = now;
  bool forgot = false;
  for (auto& [name, metric] : metrics) {
    for (auto it = metric.series.begin(); it != metric.series.end();) {
      if (now - it->second.latest_millis > metric.retain_millis) {
        it = metric.series.erase(it);
        forgot = true;
      } else {
        ++it;
      }
    }
  }
  if (!forgot) return;
  // Rare (a series gone for a whole window): rebuild the watch lists rather than keep
  // back-references from every series.
  for (auto& w : watches) w.clear();
  for (auto& [name, metric] : metrics) {
    for (SeriesEntry& entry : metric.series) Attach(metric, &entry, /*create_windows=*/false);
  }
}

RuleEngine::RuleEngine(std::vector<RuleSpec> specs) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.rules.reserve(specs.size());
  for (RuleSpec& spec : specs) {
    CompiledRule rule;
    rule.windowed = spec.type != RuleType::kThreshold;
    rule.horizon_millis =
        rule.windowed ? std::max<int64_t>(spec.window.count(), kStalenessMillis) : kStalenessMillis;
    for (const auto& [name, text] : spec.labels) {
      rule.labels.emplace_back(name, ParseOrLiteral(text));
    }
    for (const auto& [name, text] : spec.annotations) {
      rule.annotations.emplace_back(name, ParseOrLiteral(text));
    }
    rule.spec = std::move(spec);
    m.rules.push_back(std::move(rule));
  }
  for (size_t r = 0; r < m.rules.size(); ++r) {
    const CompiledRule& rule = m.rules[r];
    Metric& metric = m.metrics[rule.spec.series];
    metric.rules.push_back(r);
    metric.retain_millis = std::max(metric.retain_millis, rule.horizon_millis);
    if (rule.windowed && !rule.spec.ttl_series.empty()) {
      Metric& ttl = m.metrics[rule.spec.ttl_series];
      ttl.retain_millis = std::max(ttl.retain_millis, rule.horizon_millis);
    }
    if (rule.windowed && !rule.spec.companion_series.empty()) {
      Metric& companion = m.metrics[rule.spec.companion_series];
      companion.retain_millis = std::max(companion.retain_millis, rule.horizon_millis);
      if (rule.spec.type == RuleType::kAppendOnly) companion.companion_rules.push_back(r);
    }
  }
  // Pointers into `metrics` are stable from here on: no metric is added after construction.
  for (CompiledRule& rule : m.rules) {
    if (!rule.windowed) continue;
    if (!rule.spec.ttl_series.empty()) rule.ttl_metric = &m.metrics.at(rule.spec.ttl_series);
    if (!rule.spec.companion_series.empty()) {
      rule.companion_metric = &m.metrics.at(rule.spec.companion_series);
    }
  }
  m.watches.resize(m.rules.size());
  m.active.resize(m.rules.size());
  m.restored.resize(m.rules.size());
}

RuleEngine::~RuleEngine() = default;
RuleEngine::RuleEngine(RuleEngine&&) noexcept = default;
RuleEngine& RuleEngine::operator=(RuleEngine&&) noexcept = default;

void RuleEngine::Observe(const Sample& sample) {
  auto metric_it = impl_->metrics.find(sample.series);
  if (metric_it == impl_->metrics.end()) return;  // no rule reads it
  Metric& metric = metric_it->second;

  const Labels* labels = &sample.labels;
  Labels sorted;
  if (!std::is_sorted(labels->begin(), labels->end(), LabelLess)) {
    sorted = sample.labels;
    std::sort(sorted.begin(), sorted.end(), LabelLess);
    labels = &sorted;
  }
  auto [it, inserted] = metric.series.try_emplace(*labels);
  Series& s = it->second;
  if (inserted) {
    s.first_millis = sample.t_millis;
    s.changed_millis = sample.t_millis;
    impl_->Attach(metric, &*it, /*create_windows=*/true);
  } else if (sample.t_millis <= s.latest_millis) {
    ++impl_->ignored_out_of_order;
    return;
  } else if (sample.value != s.latest) {
    s.changed_millis = sample.t_millis;
  }
  s.latest = sample.value;
  s.latest_millis = sample.t_millis;
  for (MomentsWindow& w : s.windows) w.Add(sample.t_millis, sample.value);
}

void RuleEngine::Observe(std::span<const Sample> samples) {
  for (const Sample& s : samples) Observe(s);
}

std::vector<AlertTransition> RuleEngine::Evaluate(int64_t now_millis) {
  ++impl_->evaluation;
  std::vector<AlertTransition> transitions;
  for (size_t r = 0; r < impl_->rules.size(); ++r) impl_->EvaluateRule(r, now_millis, &transitions);
  impl_->ForgetStaleSeries(now_millis);
  return transitions;
}

std::vector<Alert> RuleEngine::Alerts() const {
  std::vector<Alert> out;
  for (const auto& alerts : impl_->active) {
    for (const auto& [labels, a] : alerts) out.push_back(a.alert);
  }
  std::sort(out.begin(), out.end(), [](const Alert& a, const Alert& b) {
    return std::tie(a.rule, a.labels) < std::tie(b.rule, b.labels);
  });
  return out;
}

std::vector<StateVerdict> RuleEngine::Verdicts(int64_t now_millis) const {
  std::map<std::pair<std::string, Labels>, StateVerdict> by_series;
  for (size_t r = 0; r < impl_->rules.size(); ++r) {
    const CompiledRule& rule = impl_->rules[r];
    // Forecasts judge resources (disk, time, memory), not states.
    if (!rule.windowed || rule.spec.type == RuleType::kForecast) continue;
    LazyCounterSums counters{[&] { return impl_->SumCounters(rule, now_millis); }, std::nullopt};
    for (const Watch& w : impl_->watches[r]) {
      const Judgement j = impl_->Judge(rule, w, now_millis, /*full=*/true, &counters);
      auto [it, inserted] = by_series.try_emplace({rule.spec.series, w.entry->first});
      StateVerdict& v = it->second;
      if (!inserted && VerdictRank(j.verdict) <= VerdictRank(v.verdict)) continue;
      v.series = rule.spec.series;
      v.labels = w.entry->first;
      v.latest = w.entry->second.latest;
      v.latest_millis = w.entry->second.latest_millis;
      v.ttl = j.ttl ? j.ttl : impl_->TtlReading(rule, w.entry->first, now_millis);
      v.fit = j.fit;
      v.verdict = j.verdict;
      v.rule = rule.spec.alert;
    }
  }
  std::vector<StateVerdict> out;
  out.reserve(by_series.size());
  for (auto& [key, v] : by_series) out.push_back(std::move(v));
  return out;
}

void RuleEngine::RestoreAlert(const Alert& alert) {
  if (alert.state == AlertState::kInactive) return;
  Labels labels = alert.labels;
  std::sort(labels.begin(), labels.end(), LabelLess);
  // Several rules may share an alertname (a warning and a critical variant): take the first
  // whose literal labels the alert carries.
  for (size_t r = 0; r < impl_->rules.size(); ++r) {
    const CompiledRule& rule = impl_->rules[r];
    if (rule.spec.alert != alert.rule) continue;
    const bool labels_fit = std::all_of(rule.labels.begin(), rule.labels.end(), [&](const auto& l) {
      if (!l.second.is_literal()) return true;
      const std::string value = l.second.Expand({}, 0, {});
      return value.empty() || std::find(labels.begin(), labels.end(),
                                        std::make_pair(l.first, value)) != labels.end();
    });
    if (!labels_fit) continue;
    auto [it, inserted] = impl_->active[r].try_emplace(labels);
    if (!inserted) return;  // already evaluated since the restart: that alert is fresher
    ActiveAlert& a = it->second;
    a.alert = alert;
    a.alert.labels = labels;
    a.alert.fingerprint = Fingerprint(labels);
    a.alert.resolved_at_millis = 0;
    a.restored = true;
    ++impl_->restored[r];
    return;
  }
}

size_t RuleEngine::series_count() const {
  size_t n = 0;
  for (const auto& [name, metric] : impl_->metrics) n += metric.series.size();
  return n;
}

size_t RuleEngine::ignored_out_of_order() const {
  return impl_->ignored_out_of_order;
}

size_t RuleEngine::memory_bytes() const {
  size_t bytes = sizeof(Impl);
  for (const auto& [name, metric] : impl_->metrics) {
    bytes += sizeof(Metric) + name.capacity() + metric.series.bucket_count() * sizeof(void*);
    for (const auto& [labels, s] : metric.series) {
      bytes += sizeof(SeriesEntry) + 2 * sizeof(void*) + labels.capacity() * sizeof(labels[0]);
      for (const auto& [n, v] : labels) {
        if (n.capacity() > 15) bytes += n.capacity() + 1;
        if (v.capacity() > 15) bytes += v.capacity() + 1;
      }
      bytes += s.windows.capacity() * sizeof(MomentsWindow);
      for (const MomentsWindow& w : s.windows) bytes += w.memory_bytes() - sizeof(MomentsWindow);
    }
  }
  for (const auto& w : impl_->watches) bytes += w.capacity() * sizeof(Watch);
  return bytes;
}

}  // namespace statewatch::rules
