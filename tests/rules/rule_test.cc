// RuleSpec validation, the name tables and the built-in rule set.
#include "statewatch/rules/rule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace statewatch::rules {
namespace {

RuleSpec Valid() {
  RuleSpec r;
  r.alert = "StateLeak";
  r.series = "statewatch_state_keys";
  r.annotations["summary"] = "{{ $labels.state }} grows {{ $slope_per_hour | humanize }}/h";
  return r;
}

// The error message of `rule`, which must be InvalidArgument.
std::string Error(const RuleSpec& rule) {
  Status s = ValidateRule(rule);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  return s.message();
}

TEST(RuleTest, ValidRulePasses) {
  EXPECT_TRUE(ValidateRule(Valid()).ok());
}

TEST(RuleTest, EachInvalidFieldIsNamedWithTheRule) {
  RuleSpec r = Valid();
  r.alert = "";
  EXPECT_EQ(Error(r), "rule on series \"statewatch_state_keys\": alert: empty alertname");

  r = Valid();
  r.alert = "state-leak";
  EXPECT_NE(Error(r).find("rule \"state-leak\": alert:"), std::string::npos);

  r = Valid();
  r.series = "";
  EXPECT_EQ(Error(r), "rule \"StateLeak\": series: empty series name");

  r = Valid();
  r.window = std::chrono::milliseconds(0);
  EXPECT_EQ(Error(r), "rule \"StateLeak\": window: must be > 0");

  r = Valid();
  r.min_r_squared = 1.5;
  EXPECT_EQ(Error(r), "rule \"StateLeak\": min_r_squared: must be within [0, 1]");
  r.min_r_squared = -0.1;
  EXPECT_FALSE(ValidateRule(r).ok());
  r.min_r_squared = std::nan("");
  EXPECT_FALSE(ValidateRule(r).ok());

  r = Valid();
  r.min_samples = 1;
  EXPECT_EQ(Error(r), "rule \"StateLeak\": min_samples: must be at least 2");

  r = Valid();
  r.for_duration = std::chrono::milliseconds(-1);
  EXPECT_EQ(Error(r), "rule \"StateLeak\": for: must not be negative");

  r = Valid();
  r.threshold = std::nan("");
  EXPECT_EQ(Error(r), "rule \"StateLeak\": threshold: must be a number");

  r = Valid();
  r.type = RuleType::kMissingTtl;
  r.ttl_series = "";
  EXPECT_NE(Error(r).find("ttl_series:"), std::string::npos);

  r = Valid();
  r.labels = {{"bad-name", "x"}};
  EXPECT_NE(Error(r).find("labels: invalid label name \"bad-name\""), std::string::npos);

  r = Valid();
  r.matchers = {{"9", "x"}};
  EXPECT_NE(Error(r).find("matchers:"), std::string::npos);

  r = Valid();
  r.type = RuleType::kTtlCleanupStalled;
  EXPECT_NE(Error(r).find("companion_series: a ttl_cleanup_stalled rule needs"), std::string::npos);
  r.type = RuleType::kAppendOnly;
  EXPECT_NE(Error(r).find("companion_series: an append_only rule needs"), std::string::npos);
  r.companion_series = "statewatch_checkpoint_delta_size_bytes";
  r.flat_tolerance = -1;
  EXPECT_NE(Error(r).find("flat_tolerance:"), std::string::npos);

  r = Valid();
  r.type = RuleType::kForecast;
  EXPECT_NE(Error(r).find("limit: a forecast needs a limit"), std::string::npos);
  r.limit = 0;
  r.horizon = std::chrono::milliseconds(0);
  EXPECT_NE(Error(r).find("horizon: must be > 0"), std::string::npos);
  r.horizon = std::chrono::hours(1);
  r.op = CompareOp::kEqual;
  EXPECT_NE(Error(r).find("op: a forecast approaches"), std::string::npos);
  r.op = CompareOp::kLessEqual;
  EXPECT_TRUE(ValidateRule(r).ok());
}

TEST(RuleTest, TemplatesAreCheckedForSyntaxAndVariables) {
  RuleSpec r = Valid();
  r.annotations["summary"] = "{{ $labels.state ";
  EXPECT_EQ(Error(r), "rule \"StateLeak\": annotations.summary: unclosed {{ at offset 0");

  r = Valid();
  r.annotations["description"] = "{{ $value | humanise }}";
  EXPECT_NE(Error(r).find("annotations.description: unknown function \"humanise\""),
            std::string::npos);

  // A value the rule type does not produce.
  r = Valid();
  r.annotations["runbook"] = "{{ $slope }}";
  EXPECT_NE(Error(r).find("annotations.runbook: unknown variable $slope for a trend rule"),
            std::string::npos);

  r = Valid();
  r.type = RuleType::kThreshold;
  r.annotations = {{"summary", "{{ $r_squared }}"}};
  EXPECT_NE(Error(r).find("unknown variable $r_squared for a threshold rule"), std::string::npos);
  r.annotations = {{"summary", "{{ $value }} over {{ $threshold }}"}};
  EXPECT_TRUE(ValidateRule(r).ok());

  r = Valid();
  r.labels = {{"severity", "{{ $nope }}"}};
  EXPECT_NE(Error(r).find("labels.severity: unknown variable $nope"), std::string::npos);
}

TEST(RuleTest, NamesRoundTrip) {
  for (RuleType t : {RuleType::kTrend, RuleType::kThreshold, RuleType::kMissingTtl}) {
    EXPECT_EQ(ParseRuleType(RuleTypeName(t)), t);
  }
  EXPECT_STREQ(RuleTypeName(RuleType::kMissingTtl), "missing_ttl");
  EXPECT_FALSE(ParseRuleType("Trend").has_value());
  for (CompareOp op : {CompareOp::kLess, CompareOp::kLessEqual, CompareOp::kGreater,
                       CompareOp::kGreaterEqual, CompareOp::kEqual, CompareOp::kNotEqual}) {
    EXPECT_EQ(ParseCompareOp(CompareOpText(op)), op);
  }
  EXPECT_STREQ(CompareOpText(CompareOp::kNotEqual), "!=");
  EXPECT_FALSE(ParseCompareOp("=>").has_value());
}

TEST(RuleTest, CompareDropsNaN) {
  EXPECT_TRUE(Compare(0.5, CompareOp::kLess, 0.9));
  EXPECT_FALSE(Compare(0.9, CompareOp::kLess, 0.9));
  EXPECT_TRUE(Compare(0.9, CompareOp::kLessEqual, 0.9));
  EXPECT_TRUE(Compare(1, CompareOp::kNotEqual, 0));
  EXPECT_FALSE(Compare(std::nan(""), CompareOp::kNotEqual, 0));
  EXPECT_FALSE(Compare(std::nan(""), CompareOp::kLess, 0.9));
}

TEST(RuleTest, DefaultRulesAreValidAndAsDocumented) {
  const std::vector<RuleSpec> rules = DefaultRules();
  ASSERT_EQ(rules.size(), 13u);
  std::set<std::string> names;
  for (const RuleSpec& r : rules) {
    EXPECT_TRUE(ValidateRule(r).ok()) << ValidateRule(r).ToString();
    names.insert(r.alert);
    for (const char* a : {"summary", "description", "runbook"}) {
      EXPECT_TRUE(r.annotations.count(a)) << r.alert << " lacks " << a;
    }
    ASSERT_EQ(r.labels.size(), 1u);
    EXPECT_EQ(r.labels[0].first, "severity");
    EXPECT_TRUE(r.labels[0].second == "warning" || r.labels[0].second == "critical");
  }
  EXPECT_EQ(names.size(), 13u);

  auto find = [&](const std::string& name) -> const RuleSpec& {
    for (const RuleSpec& r : rules)
      if (r.alert == name) return r;
    ADD_FAILURE() << name;
    return rules[0];
  };
  const RuleSpec& growing = find("StateGrowingWithoutBound");
  EXPECT_EQ(growing.type, RuleType::kTrend);
  EXPECT_EQ(growing.series, "statewatch_state_keys");
  EXPECT_EQ(growing.window, std::chrono::hours(24));
  EXPECT_EQ(growing.min_r_squared, 0.9);
  EXPECT_EQ(growing.for_duration, std::chrono::hours(1));
  EXPECT_EQ(find("RocksDbColumnFamilyGrowing").ttl_series,
            "statewatch_rocksdb_ttl_compaction_filter");
  EXPECT_EQ(find("StateWithoutTtlGrowing").type, RuleType::kMissingTtl);
  const RuleSpec& cf = find("ColumnFamilyWithoutTtlFilterGrowing");
  EXPECT_EQ(cf.series, "statewatch_rocksdb_estimate_num_keys");
  EXPECT_EQ(cf.ttl_series, "statewatch_rocksdb_ttl_compaction_filter");
  const RuleSpec& hit = find("BlockCacheHitRatioLow");
  EXPECT_EQ(hit.op, CompareOp::kLess);
  EXPECT_EQ(hit.threshold, 0.90);
  EXPECT_EQ(hit.for_duration, std::chrono::minutes(10));
  EXPECT_EQ(find("WriteStallsActive").for_duration, std::chrono::minutes(5));
  EXPECT_EQ(find("CompactionBacklogHigh").threshold, 32.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(find("CheckpointDurationHigh").threshold, 300);
  const RuleSpec& stalled = find("TtlCleanupNotRunning");
  EXPECT_EQ(stalled.type, RuleType::kTtlCleanupStalled);
  EXPECT_EQ(stalled.companion_series, "statewatch_state_expired_total");
  EXPECT_EQ(stalled.companion_ignoring, std::vector<std::string>{"cleanup"});
  EXPECT_EQ(find("CheckpointGrowsAppendOnly").companion_series,
            "statewatch_checkpoint_delta_size_bytes");
  const RuleSpec& disk = find("DiskWillFillUp");
  EXPECT_EQ(disk.type, RuleType::kForecast);
  EXPECT_EQ(disk.op, CompareOp::kLessEqual);
  EXPECT_EQ(disk.limit, 0.0);
  EXPECT_EQ(disk.horizon, std::chrono::hours(24));
  EXPECT_EQ(find("CheckpointWillTimeOut").companion_series,
            "statewatch_checkpoint_timeout_seconds");
  EXPECT_EQ(find("MemoryBudgetWillBeExceeded").companion_series,
            "statewatch_rocksdb_memory_budget_bytes");
  EXPECT_EQ(find("CheckpointDurationHigh").for_duration, std::chrono::minutes(15));
}

}  // namespace
}  // namespace statewatch::rules
