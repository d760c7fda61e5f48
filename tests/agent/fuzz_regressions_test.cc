// Inputs the fuzz targets (tests/fuzz/) found mishandled, each pinned here next to its fix.
// The inputs themselves are in tests/fuzz/corpus/<target>/regression_*.
#include <gtest/gtest.h>

#include "statewatch/agent/config.h"
#include "statewatch/agent/http_api.h"

namespace statewatch::agent {
namespace {

// http_query_fuzz (corpus/http_query_fuzz/regression_time_beyond_int64_millis): a numeric time
// too large for int64 milliseconds was rounded by llround into INT64_MIN — an answer, not an
// error — and /api/v1/query's default `from = to - 1h` then overflowed. Numeric times are now
// held to the years RFC 3339 can write, as the RFC 3339 form already was.
TEST(FuzzRegressionTest, ApiTimesOutsideTheYearsRfc3339CanWriteAreRefused) {
  for (const char* text :
       {"176405760076405760", "1e300", "-1e300", "9.3e15", "253402300800", "-62167219200.001"}) {
    const Result<int64_t> t = ParseApiTime(text);
    ASSERT_FALSE(t.ok()) << text << " read as " << *t;
    EXPECT_TRUE(t.status().IsInvalidArgument()) << text;
  }
  EXPECT_EQ(*ParseApiTime("253402300799.999"), 253402300799999);  // 9999-12-31T23:59:59.999Z
  EXPECT_EQ(*ParseApiTime("-62167219200"), -62167219200000);      // 0000-01-01T00:00:00Z
  EXPECT_EQ(*ParseApiTime("9999-12-31T23:59:59.999Z"), 253402300799999);
  EXPECT_EQ(*ParseApiTime("1764057600.5"), 1764057600500);
}

// Found reading config.cc for config_fuzz, confirmed through it under UBSan
// (corpus/config_fuzz/regression_min_samples_*): a whole-number count of 2^64 or more was
// converted to size_t — undefined behaviour ("1e+300 is outside the range of representable
// values of type 'unsigned long'"), an arbitrary min_samples in a release build.
TEST(FuzzRegressionTest, CountsTooLargeForSizeTAreRefusedWithTheirPlace) {
  for (const char* count : {"1e300", "18446744073709551615", "18446744073709551616"}) {
    const std::string yaml = std::string("rules:\n  - alert: A\n    type: threshold\n") +
                             "    series: x\n    threshold: 1\n    min_samples: " + count + "\n";
    const Result<Config> c = ParseConfig(yaml, "big.yaml");
    ASSERT_FALSE(c.ok()) << count;
    EXPECT_TRUE(c.status().IsInvalidArgument()) << count;
    EXPECT_NE(c.status().message().find("big.yaml:6:18"), std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find("too large"), std::string::npos) << c.status().message();
  }
  const Result<Config> big = ParseConfig(
      "rules:\n  - alert: A\n    type: threshold\n    series: x\n    threshold: 1\n"
      "    min_samples: 1e15\n",
      "ok.yaml");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->rules[0].min_samples, 1'000'000'000'000'000u);
}

}  // namespace
}  // namespace statewatch::agent
