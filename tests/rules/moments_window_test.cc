// MomentsWindow against FitLinearTrend as the oracle: the same points and window start must give
// the same fit (to ~1e-9 relative) for irregular times, huge timestamps, 1e12-level values and
// noise; plus the window's own contract (rounding, sliding, rejected points).
#include "statewatch/rules/moments_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "statewatch/rules/linear_trend.h"

namespace statewatch::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

// |a - b| within `rel` of `scale` (the magnitude the quantity is naturally measured against:
// for a slope near zero, relative error against itself means nothing).
void ExpectNear(double a, double b, double scale, const char* what) {
  EXPECT_LE(std::fabs(a - b), 1e-9 * scale) << what << ": " << a << " vs " << b;
}

// Checks mw.Fit(now) against FitLinearTrend over `points` from mw.WindowStart(now).
void ExpectSameFit(const MomentsWindow& mw, const std::vector<Point>& points, int64_t now) {
  const int64_t start = mw.WindowStart(now);
  auto want = FitLinearTrend(points, start);
  auto got = mw.Fit(now);
  ASSERT_EQ(want.has_value(), got.has_value()) << "now=" << now;
  if (!want) return;
  EXPECT_EQ(got->samples, want->samples);
  EXPECT_EQ(got->window_start_millis, want->window_start_millis);
  EXPECT_EQ(got->first_millis, want->first_millis);
  EXPECT_EQ(got->last_millis, want->last_millis);

  // Natural scales: the spread of the values and of the times within the window.
  double lo = INFINITY, hi = -INFINITY;
  for (const Point& p : points) {
    if (p.t_millis < start || !std::isfinite(p.value)) continue;
    lo = std::min(lo, p.value);
    hi = std::max(hi, p.value);
  }
  const double span_seconds = static_cast<double>(want->last_millis - want->first_millis) / 1e3;
  const double value_scale = std::max({hi - lo, std::fabs(hi), std::fabs(lo), 1e-300});
  const double slope_scale =
      std::max(std::fabs(want->slope_per_second), (hi - lo) / std::max(span_seconds, 1e-3));
  ExpectNear(got->slope_per_second, want->slope_per_second, slope_scale, "slope");
  ExpectNear(got->intercept, want->intercept, value_scale, "intercept");
  ExpectNear(got->r_squared, want->r_squared, 1.0, "r_squared");
  ExpectNear(got->ValueAt(now), want->ValueAt(now), value_scale, "level");
}

TEST(MomentsWindowTest, MatchesFitLinearTrendOnRandomIrregularSeries) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> step(1, 5 * kMinute);
  std::normal_distribution<double> noise(0, 25);
  for (int trial = 0; trial < 20; ++trial) {
    MomentsWindow mw(hours(6), 48);
    std::vector<Point> points;
    int64_t t = kT0 + step(rng) * 1000;
    const double slope = std::uniform_real_distribution<double>(-5, 5)(rng);
    for (int i = 0; i < 800; ++i) {
      const double v = 1000 + slope * static_cast<double>(t - kT0) / kMinute + noise(rng);
      ASSERT_TRUE(mw.Add(t, v));
      points.push_back({t, v});
      if (i % 97 == 0) ExpectSameFit(mw, points, t);
      t += step(rng);
    }
    ExpectSameFit(mw, points, points.back().t_millis);
    ExpectSameFit(mw, points, points.back().t_millis + 7 * kMinute);  // now after the last point
  }
}

// Fit() caches the merge of the closed buckets: fitting after every point (cache hits within a
// bucket, misses when a bucket opens), and at alternating evaluation times (a window start that
// moves back and forth), must still match the oracle each time.
TEST(MomentsWindowTest, MatchesTheOracleAfterEveryPointAndAtAlternatingTimes) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> step(1, 3 * kMinute);
  std::normal_distribution<double> noise(0, 10);
  MomentsWindow mw(hours(2), 8);  // 15-minute buckets: many open and close
  std::vector<Point> points;
  int64_t t = kT0;
  for (int i = 0; i < 600; ++i) {
    const double v = 50 + 0.5 * static_cast<double>(t - kT0) / kMinute + noise(rng);
    ASSERT_TRUE(mw.Add(t, v));
    points.push_back({t, v});
    ExpectSameFit(mw, points, t);
    ExpectSameFit(mw, points, t + 20 * kMinute);  // a later window start, then back
    ExpectSameFit(mw, points, t);
    if (HasFailure()) return;
    t += step(rng);
  }
}

TEST(MomentsWindowTest, MatchesOracleAtTrillionLevelsWithTinySlope) {
  // 1 TB growing by 1 byte per second, with a few bytes of jitter, for three days.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> jitter(-3, 3);
  MomentsWindow mw(hours(24));
  std::vector<Point> points;
  for (int i = 0; i < 3 * 1440; ++i) {
    const int64_t t = kT0 + i * kMinute;
    const double v = std::round(1e12 + 60.0 * i + jitter(rng));
    ASSERT_TRUE(mw.Add(t, v));
    points.push_back({t, v});
  }
  const int64_t now = points.back().t_millis;
  ExpectSameFit(mw, points, now);
  auto fit = mw.Fit(now);
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(fit->slope_per_second, 1.0, 1e-5);
  EXPECT_GT(fit->r_squared, 0.999);
}

TEST(MomentsWindowTest, MatchesOracleAtTrillionLevelsWithNoiseOnly) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 1e3);
  MomentsWindow mw(hours(24));
  std::vector<Point> points;
  for (int i = 0; i < 2 * 1440; ++i) {
    const int64_t t = kT0 + i * kMinute + (i % 7) * 1000;  // a little jitter in time too
    const double v = 3e12 + noise(rng);
    ASSERT_TRUE(mw.Add(t, v));
    points.push_back({t, v});
  }
  ExpectSameFit(mw, points, points.back().t_millis);
  EXPECT_LT(mw.Fit(points.back().t_millis)->r_squared, 0.05);
}

TEST(MomentsWindowTest, MatchesOracleForLargeNegativeAndMixedValues) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1e9, 1e9);
  MomentsWindow mw(minutes(90), 10);
  std::vector<Point> points;
  for (int i = 0; i < 500; ++i) {
    const int64_t t = kT0 + i * 17'000;
    const double v = -5e11 + 1e6 * i + u(rng);
    ASSERT_TRUE(mw.Add(t, v));
    points.push_back({t, v});
    if (i % 50 == 49) ExpectSameFit(mw, points, t);
  }
}

TEST(MomentsWindowTest, ExactLineAndFlatLine) {
  MomentsWindow line(hours(24));
  MomentsWindow flat(hours(24));
  for (int i = 0; i < 1440; ++i) {
    line.Add(kT0 + i * kMinute, 1000 + 6.0 * i);
    flat.Add(kT0 + i * kMinute, 0.1);  // not exactly representable: still exactly flat
  }
  const int64_t now = kT0 + 1439 * kMinute;
  auto fit = line.Fit(now);
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(fit->slope_per_hour(), 360.0, 1e-9);
  EXPECT_NEAR(fit->r_squared, 1.0, 1e-12);
  EXPECT_NEAR(fit->ValueAt(now), 1000 + 6.0 * 1439, 1e-6);

  auto f = flat.Fit(now);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->slope_per_second, 0);
  EXPECT_EQ(f->r_squared, 0);
  EXPECT_DOUBLE_EQ(f->ValueAt(now), 0.1);
}

TEST(MomentsWindowTest, WindowStartIsRoundedDownToABucketAndSlides) {
  MomentsWindow mw(hours(24), 48);  // 30-minute buckets
  EXPECT_EQ(mw.bucket_millis(), 30 * kMinute);
  const int64_t now = kT0 + 3 * 24 * kHour + 17 * kMinute;
  EXPECT_EQ(mw.WindowStart(now), kT0 + 2 * 24 * kHour);  // 24 h 17 min back, rounded down
  EXPECT_EQ(mw.WindowStart(kT0 + 24 * kHour), kT0);

  // Three days of points: the fit covers the last day plus the part of the bucket it starts in.
  std::vector<Point> points;
  for (int64_t t = kT0; t <= now; t += kMinute) {
    const double v = static_cast<double>((t - kT0) / kMinute % 1000);
    mw.Add(t, v);
    points.push_back({t, v});
  }
  auto fit = mw.Fit(now);
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(fit->first_millis, kT0 + 2 * 24 * kHour);
  EXPECT_EQ(fit->samples, static_cast<size_t>(24 * 60 + 17 + 1));
  ExpectSameFit(mw, points, now);
}

TEST(MomentsWindowTest, RejectsNonFiniteAndPointsBeforeTheNewestBucket) {
  MomentsWindow mw(hours(1), 4);  // 15-minute buckets
  EXPECT_FALSE(mw.Add(kT0, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(mw.Add(kT0, std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(mw.empty());
  EXPECT_TRUE(mw.Add(kT0 + 20 * kMinute, 5));
  EXPECT_TRUE(mw.Add(kT0 + 16 * kMinute, 4));   // same bucket, earlier: accepted
  EXPECT_FALSE(mw.Add(kT0 + 14 * kMinute, 3));  // the bucket before: rejected
  EXPECT_TRUE(mw.Add(kT0 + 31 * kMinute, 6));
  auto fit = mw.Fit(kT0 + 31 * kMinute);
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(fit->samples, 3u);
  EXPECT_EQ(fit->first_millis, kT0 + 16 * kMinute);
  EXPECT_EQ(fit->last_millis, kT0 + 31 * kMinute);
}

TEST(MomentsWindowTest, NoFitForTooFewPointsOrAfterAGapLongerThanTheWindow) {
  MomentsWindow mw(hours(1), 4);
  EXPECT_FALSE(mw.Fit(kT0).has_value());
  mw.Add(kT0, 1);
  EXPECT_FALSE(mw.Fit(kT0).has_value());
  mw.Add(kT0 + kMinute, 2);
  EXPECT_TRUE(mw.Fit(kT0 + kMinute).has_value());
  EXPECT_FALSE(mw.Fit(kT0 + 3 * kHour).has_value());  // everything has left the window

  // After a long gap the ring is cleared: only the new points count.
  mw.Add(kT0 + 10 * kHour, 100);
  mw.Add(kT0 + 10 * kHour + kMinute, 90);
  auto fit = mw.Fit(kT0 + 10 * kHour + kMinute);
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(fit->samples, 2u);
  EXPECT_NEAR(fit->slope_per_hour(), -600, 1e-9);
}

TEST(MomentsWindowTest, SameTimestampOnlyGivesNoFit) {
  MomentsWindow mw(hours(1));
  mw.Add(kT0, 1);
  mw.Add(kT0, 2);
  EXPECT_FALSE(mw.Fit(kT0).has_value());
}

TEST(MomentsWindowTest, TimesBeforeTheEpochBucketByFloor) {
  MomentsWindow mw(std::chrono::milliseconds(4000), 4);  // 1 s buckets
  EXPECT_TRUE(mw.Add(-1500, 1));                         // bucket [-2000, -1000)
  EXPECT_TRUE(mw.Add(-500, 2));
  EXPECT_FALSE(mw.Add(-1001, 3));  // before the newest bucket [-1000, 0)
  EXPECT_EQ(mw.WindowStart(-500), -5000);
  auto fit = mw.Fit(-500);
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(fit->slope_per_second, 1.0, 1e-12);
}

TEST(MomentsWindowTest, MemoryIsBoundedPerSeries) {
  MomentsWindow mw(hours(24));
  for (int i = 0; i < 10 * 1440; ++i) mw.Add(kT0 + i * kMinute, i);
  // 49 buckets of 48 bytes plus the object: far below 1 440 raw points (23 KB).
  EXPECT_LE(mw.memory_bytes(), 2500u);
}

}  // namespace
}  // namespace statewatch::rules
