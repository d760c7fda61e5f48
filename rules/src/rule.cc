#include "statewatch/rules/rule.h"

#include <algorithm>
#include <cmath>

#include "statewatch/rules/template.h"

namespace statewatch::rules {
namespace {

bool IsName(std::string_view s) {
  auto start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (s.empty() || !start(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return start(c) || (c >= '0' && c <= '9'); });
}

// Windows longer than a year make no sense for growth detection and would push a bucket past
// MomentsWindow's 2^32 ms offset range with small bucket counts.
constexpr auto kMaxWindow = std::chrono::hours(24 * 366);

class RuleChecker {
 public:
  explicit RuleChecker(const RuleSpec& rule) : rule_(rule) {}

  Status Fail(std::string_view field, std::string_view problem) const {
    std::string who = rule_.alert.empty() ? "rule on series \"" + rule_.series + "\""
                                          : "rule \"" + rule_.alert + "\"";
    return Status::InvalidArgument(who + ": " + std::string(field) + ": " + std::string(problem));
  }

  Status CheckTemplate(const std::string& field, const std::string& text) const {
    Result<Template> t = Template::Parse(text);
    if (!t.ok()) return Fail(field, t.status().message());
    const std::vector<std::string> known = RuleValueNames(rule_.type);
    for (const std::string& name : t->ValueNames()) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "$" : ", $") + k;
        return Fail(field, "unknown variable $" + name + " for a " + RuleTypeName(rule_.type) +
                               " rule (known: $value, $labels.NAME, " + list + ")");
      }
    }
    return Status::OK();
  }

 private:
  const RuleSpec& rule_;
};

}  // namespace

Status ValidateRule(const RuleSpec& rule) {
  const RuleChecker check(rule);
  if (rule.alert.empty()) return check.Fail("alert", "empty alertname");
  if (!IsName(rule.alert)) {
    return check.Fail("alert", "alertname must match [a-zA-Z_][a-zA-Z0-9_]*");
  }
  if (rule.series.empty()) return check.Fail("series", "empty series name");
  if (rule.window.count() <= 0) return check.Fail("window", "must be > 0");
  if (rule.window > kMaxWindow) return check.Fail("window", "must be at most 366 days");
  if (!(rule.min_r_squared >= 0 && rule.min_r_squared <= 1)) {
    return check.Fail("min_r_squared", "must be within [0, 1]");
  }
  if (rule.min_samples < 2) return check.Fail("min_samples", "must be at least 2");
  if (std::isnan(rule.floor)) return check.Fail("floor", "must be a number");
  if (rule.limit && std::isnan(*rule.limit)) return check.Fail("limit", "must be a number");
  if (std::isnan(rule.threshold)) return check.Fail("threshold", "must be a number");
  if (rule.for_duration.count() < 0) return check.Fail("for", "must not be negative");
  if (rule.keep_firing_for.count() < 0) {
    return check.Fail("keep_firing_for", "must not be negative");
  }
  if ((rule.type == RuleType::kMissingTtl || rule.type == RuleType::kTtlCleanupStalled) &&
      rule.ttl_series.empty()) {
    return check.Fail("ttl_series", std::string("a ") + RuleTypeName(rule.type) +
                                        " rule needs the series that reports the TTL");
  }
  if (rule.type == RuleType::kTtlCleanupStalled && rule.companion_series.empty()) {
    return check.Fail("companion_series",
                      "a ttl_cleanup_stalled rule needs the expired-entry counter");
  }
  if (rule.type == RuleType::kAppendOnly && rule.companion_series.empty()) {
    return check.Fail("companion_series",
                      "an append_only rule needs the series that must stay flat");
  }
  if (rule.type == RuleType::kForecast) {
    if (!rule.limit && rule.companion_series.empty()) {
      return check.Fail("limit", "a forecast needs a limit or a companion_series giving it");
    }
    if (rule.horizon.count() <= 0) return check.Fail("horizon", "must be > 0");
    if (rule.op == CompareOp::kEqual || rule.op == CompareOp::kNotEqual) {
      return check.Fail("op", "a forecast approaches its limit: use <, <=, > or >=");
    }
  }
  if (!(rule.flat_tolerance >= 0)) return check.Fail("flat_tolerance", "must be >= 0");
  for (const auto& [name, value] : rule.matchers) {
    if (!IsName(name)) return check.Fail("matchers", "invalid label name \"" + name + "\"");
  }
  for (const auto& [name, value] : rule.labels) {
    if (!IsName(name)) return check.Fail("labels", "invalid label name \"" + name + "\"");
    if (name == "alertname") return check.Fail("labels", "alertname is set from `alert`");
    SW_RETURN_IF_ERROR(check.CheckTemplate("labels." + name, value));
  }
  for (const auto& [name, text] : rule.annotations) {
    SW_RETURN_IF_ERROR(check.CheckTemplate("annotations." + name, text));
  }
  return Status::OK();
}

const char* RuleTypeName(RuleType type) {
  switch (type) {
    case RuleType::kTrend:
      return "trend";
    case RuleType::kThreshold:
      return "threshold";
    case RuleType::kMissingTtl:
      return "missing_ttl";
    case RuleType::kTtlCleanupStalled:
      return "ttl_cleanup_stalled";
    case RuleType::kAppendOnly:
      return "append_only";
    case RuleType::kForecast:
      return "forecast";
  }
  return "trend";
}

std::optional<RuleType> ParseRuleType(std::string_view name) {
  for (RuleType t : {RuleType::kTrend, RuleType::kThreshold, RuleType::kMissingTtl,
                     RuleType::kTtlCleanupStalled, RuleType::kAppendOnly, RuleType::kForecast}) {
    if (name == RuleTypeName(t)) return t;
  }
  return std::nullopt;
}

const char* CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kLess:
      return "<";
    case CompareOp::kLessEqual:
      return "<=";
    case CompareOp::kGreater:
      return ">";
    case CompareOp::kGreaterEqual:
      return ">=";
    case CompareOp::kEqual:
      return "==";
    case CompareOp::kNotEqual:
      return "!=";
  }
  return ">";
}

std::optional<CompareOp> ParseCompareOp(std::string_view text) {
  for (CompareOp op : {CompareOp::kLess, CompareOp::kLessEqual, CompareOp::kGreater,
                       CompareOp::kGreaterEqual, CompareOp::kEqual, CompareOp::kNotEqual}) {
    if (text == CompareOpText(op)) return op;
  }
  return std::nullopt;
}

bool Compare(double value, CompareOp op, double threshold) {
  if (std::isnan(value) || std::isnan(threshold)) return false;
  switch (op) {
    case CompareOp::kLess:
      return value < threshold;
    case CompareOp::kLessEqual:
      return value <= threshold;
    case CompareOp::kGreater:
      return value > threshold;
    case CompareOp::kGreaterEqual:
      return value >= threshold;
    case CompareOp::kEqual:
      return value == threshold;
    case CompareOp::kNotEqual:
      return value != threshold;
  }
  return false;
}

std::vector<std::string> RuleValueNames(RuleType type) {
  std::vector<std::string> fit = {"slope_per_hour", "r_squared", "samples", "level",
                                  "window_seconds"};
  auto with = [&](std::initializer_list<const char*> more) {
    fit.insert(fit.end(), more.begin(), more.end());
    return fit;
  };
  switch (type) {
    case RuleType::kThreshold:
      return {"threshold"};
    case RuleType::kTrend:
    case RuleType::kMissingTtl:
      return with({"limit", "seconds_to_limit", "ttl"});
    case RuleType::kTtlCleanupStalled:
      return with({"limit", "seconds_to_limit", "ttl", "expired", "seconds_without_expiry"});
    case RuleType::kAppendOnly:
      return with({"limit", "seconds_to_limit", "companion_level", "companion_change_ratio"});
    case RuleType::kForecast:
      return with({"limit", "seconds_to_limit", "horizon_seconds"});
  }
  return fit;
}

}  // namespace statewatch::rules
