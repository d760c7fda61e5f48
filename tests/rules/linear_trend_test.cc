// FitLinearTrend on synthetic series: exact lines, noise, big offsets, gaps, non-finite values.
#include "statewatch/rules/linear_trend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace statewatch::rules {
namespace {

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;

std::vector<Point> Line(int n, double start, double per_minute) {
  std::vector<Point> p;
  for (int i = 0; i < n; ++i) p.push_back({kT0 + i * kMinute, start + per_minute * i});
  return p;
}

TEST(LinearTrendTest, ExactLineHasItsSlopeAndPerfectFit) {
  const auto points = Line(1440, 1000, 6);  // +6 per minute for a day
  auto fit = FitLinearTrend(points, kT0);
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(fit->samples, 1440u);
  EXPECT_NEAR(fit->slope_per_hour(), 360.0, 1e-9);
  EXPECT_NEAR(fit->intercept, 1000.0, 1e-9);
  EXPECT_NEAR(fit->r_squared, 1.0, 1e-12);
  EXPECT_EQ(fit->first_millis, kT0);
  EXPECT_EQ(fit->last_millis, kT0 + 1439 * kMinute);
}

TEST(LinearTrendTest, HugeLevelsKeepTinySlopesExact) {
  // 1 TB of state growing by 1 byte per second: naive sums of x·y in Unix time lose this.
  std::vector<Point> points;
  for (int i = 0; i < 1440; ++i) points.push_back({kT0 + i * kMinute, 1e12 + 60.0 * i});
  auto fit = FitLinearTrend(points, kT0);
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(fit->slope_per_second, 1.0, 1e-6);
  EXPECT_NEAR(fit->r_squared, 1.0, 1e-9);
}

TEST(LinearTrendTest, NoiseLowersRSquared) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 50);
  auto points = Line(1440, 1000, 0.01);  // almost flat, drowned in noise
  for (auto& p : points) p.value += noise(rng);
  auto fit = FitLinearTrend(points, kT0);
  ASSERT_TRUE(fit.has_value());
  EXPECT_LT(fit->r_squared, 0.2);
}

TEST(LinearTrendTest, FlatSeriesHasZeroSlopeAndZeroRSquared) {
  auto fit = FitLinearTrend(Line(100, 42, 0), kT0);
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(fit->slope_per_second, 0);
  EXPECT_EQ(fit->r_squared, 0);
  EXPECT_FALSE(SecondsUntil(*fit, kT0, 100).has_value());
}

TEST(LinearTrendTest, SkipsNonFiniteAndPointsBeforeTheWindow) {
  auto points = Line(10, 0, 1);
  points[3].value = std::numeric_limits<double>::quiet_NaN();
  points[4].value = std::numeric_limits<double>::infinity();
  points.push_back({kT0 - 10 * kMinute, 1e9});  // before the window: ignored
  auto fit = FitLinearTrend(points, kT0);
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(fit->samples, 8u);
  EXPECT_NEAR(fit->slope_per_hour(), 60.0, 1e-9);
}

TEST(LinearTrendTest, TooFewPointsGiveNoFit) {
  EXPECT_FALSE(FitLinearTrend({}, kT0).has_value());
  const std::vector<Point> one{{kT0, 1}};
  EXPECT_FALSE(FitLinearTrend(one, kT0).has_value());
  const std::vector<Point> same_time{{kT0, 1}, {kT0, 5}};
  EXPECT_FALSE(FitLinearTrend(same_time, kT0).has_value());
}

TEST(LinearTrendTest, ProjectsTimeUntilALimit) {
  auto fit = FitLinearTrend(Line(60, 0, 10), kT0);  // +10 per minute
  ASSERT_TRUE(fit.has_value());
  const int64_t now = kT0 + 59 * kMinute;  // fitted value 590
  auto seconds = SecondsUntil(*fit, now, 1190);
  ASSERT_TRUE(seconds.has_value());
  EXPECT_NEAR(*seconds, 3600.0, 1e-6);                        // 600 more at 10/min
  EXPECT_EQ(SecondsUntil(*fit, now, 100).value_or(-1), 0.0);  // already past the limit
  auto falling = FitLinearTrend(Line(60, 1000, -1), kT0);
  ASSERT_TRUE(falling.has_value());
  EXPECT_FALSE(SecondsUntil(*falling, now, 5000).has_value());
}

}  // namespace
}  // namespace statewatch::rules
