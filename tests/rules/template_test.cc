// Alert text templates: expansion, the humanize functions (Prometheus' outputs), parse errors.
#include "statewatch/rules/template.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace statewatch::rules {
namespace {

std::string Expand(std::string_view text, const Labels& labels = {}, double value = 0,
                   const std::map<std::string, double>& values = {}) {
  Result<Template> t = Template::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t->Expand(labels, value, values) : "";
}

TEST(TemplateTest, ExpandsLabelsValueAndNamedValues) {
  const Labels labels = {{"job", "cdc"}, {"state", "orders"}};
  EXPECT_EQ(Expand("state {{ $labels.state }} of {{$labels.job}}", labels), "state orders of cdc");
  EXPECT_EQ(Expand("{{ .Labels.state }}", labels), "orders");
  EXPECT_EQ(Expand("v={{ $value }}", labels, 360), "v=360");
  EXPECT_EQ(Expand("v={{ .Value }}", labels, 0.85), "v=0.85");
  EXPECT_EQ(Expand("{{ $samples }} samples", labels, 0, {{"samples", 1440}}), "1440 samples");
  EXPECT_EQ(Expand("no braces at all"), "no braces at all");
  EXPECT_EQ(Expand(""), "");
}

TEST(TemplateTest, MissingLabelsAndValuesExpandToNothing) {
  EXPECT_EQ(Expand("[{{ $labels.cf }}]", {{"state", "x"}}), "[]");
  EXPECT_EQ(Expand("[{{ $seconds_to_limit | humanizeDuration }}]"), "[]");
}

TEST(TemplateTest, PipedAndCalledFunctions) {
  EXPECT_EQ(Expand("{{ $value | humanize }}", {}, 1234), "1.234k");
  EXPECT_EQ(Expand("{{ humanize $value }}", {}, 1234), "1.234k");
  EXPECT_EQ(Expand("{{$value|humanize1024}}B", {}, 32.0 * (1ull << 30)), "32GiB");
  EXPECT_EQ(Expand("{{ $ttl | humanizeDuration }}", {}, 0, {{"ttl", 86400}}), "1d 0h 0m 0s");
  EXPECT_EQ(Expand("{{ $value | humanizePercentage }}", {}, 0.85), "85%");
  // A numeric label is formatted; other text passes through.
  EXPECT_EQ(Expand("{{ $labels.n | humanize }}", {{"n", "2500000"}}), "2.5M");
  EXPECT_EQ(Expand("{{ $labels.n | humanize }}", {{"n", "abc"}}), "abc");
}

TEST(TemplateTest, HumanizeMatchesPrometheus) {
  EXPECT_EQ(Humanize(0), "0");
  EXPECT_EQ(Humanize(1), "1");
  EXPECT_EQ(Humanize(999), "999");
  EXPECT_EQ(Humanize(1234), "1.234k");
  EXPECT_EQ(Humanize(5.6e6), "5.6M");
  EXPECT_EQ(Humanize(-2e9), "-2G");
  EXPECT_EQ(Humanize(0.005), "5m");
  EXPECT_EQ(Humanize(0.25), "250m");
  EXPECT_EQ(Humanize(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(Humanize(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(TemplateTest, Humanize1024UsesBinaryPrefixes) {
  EXPECT_EQ(Humanize1024(1), "1");
  EXPECT_EQ(Humanize1024(1000), "1000");
  EXPECT_EQ(Humanize1024(1536), "1.5Ki");
  EXPECT_EQ(Humanize1024(64.0 * (1 << 20)), "64Mi");
  EXPECT_EQ(Humanize1024(1.5 * (1ull << 40)), "1.5Ti");
}

TEST(TemplateTest, HumanizeDurationMatchesPrometheus) {
  EXPECT_EQ(HumanizeDuration(0), "0s");
  EXPECT_EQ(HumanizeDuration(2 * 86400 + 3 * 3600 + 4 * 60 + 5), "2d 3h 4m 5s");
  EXPECT_EQ(HumanizeDuration(3600), "1h 0m 0s");
  EXPECT_EQ(HumanizeDuration(125), "2m 5s");
  EXPECT_EQ(HumanizeDuration(42.5), "42.5s");
  EXPECT_EQ(HumanizeDuration(0.25), "250ms");
  EXPECT_EQ(HumanizeDuration(-90), "-1m 30s");
}

TEST(TemplateTest, HumanizePercentage) {
  EXPECT_EQ(HumanizePercentage(0.85), "85%");
  EXPECT_EQ(HumanizePercentage(0.99871), "99.87%");
  EXPECT_EQ(HumanizePercentage(1), "100%");
}

TEST(TemplateTest, PlainNumbersPrintLikeGo) {
  EXPECT_EQ(FormatValue(360), "360");
  EXPECT_EQ(FormatValue(0.85), "0.85");
  EXPECT_EQ(FormatValue(123456), "123456");
  EXPECT_EQ(FormatValue(1e6), "1e+06");
  EXPECT_EQ(FormatValue(1234567), "1.234567e+06");
  EXPECT_EQ(FormatValue(0.0001), "0.0001");
  EXPECT_EQ(FormatValue(0.00001), "1e-05");
  EXPECT_EQ(FormatValue(-2.5), "-2.5");
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(TemplateTest, ParseErrorsSayWhatAndWhere) {
  auto unclosed = Template::Parse("abc {{ $value ");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_EQ(unclosed.status().message(), "unclosed {{ at offset 4");

  auto function = Template::Parse("{{ $value | humanise }}");
  ASSERT_FALSE(function.ok());
  EXPECT_NE(function.status().message().find("unknown function \"humanise\""), std::string::npos);

  auto variable = Template::Parse("x {{ value }}");
  ASSERT_FALSE(variable.ok());
  EXPECT_NE(variable.status().message().find("unknown variable \"value\""), std::string::npos);
  EXPECT_NE(variable.status().message().find("offset 2"), std::string::npos);

  EXPECT_FALSE(Template::Parse("{{ }}").ok());
  EXPECT_FALSE(Template::Parse("{{ $value | humanize | humanize }}").ok());
  EXPECT_FALSE(Template::Parse("{{ printf \"%.2f\" $value }}").ok());
  EXPECT_FALSE(Template::Parse("{{ $labels.1bad }}").ok());
  EXPECT_FALSE(Template::Parse("{{ $labels }}").ok());
}

TEST(TemplateTest, ValueNamesListsNamedVariablesOnce) {
  auto t =
      Template::Parse("{{ $level }} {{ $value }} {{ $labels.x }} {{ $level | humanize }} {{ $r }}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ValueNames(), (std::vector<std::string>{"level", "r"}));
  EXPECT_FALSE(t->is_literal());
  EXPECT_TRUE(Template::Parse("warning")->is_literal());
}

TEST(TemplateTest, LiteralKeepsBracesAsWritten) {
  EXPECT_EQ(Template::Literal("{{ broken").Expand({}, 0, {}), "{{ broken");
}

}  // namespace
}  // namespace statewatch::rules
