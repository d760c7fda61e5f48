// Least-squares linear trend of a series over a window: the core of growth detection.
//
// x is time in seconds relative to the window start (not Unix seconds: squaring 1.7e9 loses the
// precision a slope of a few keys per hour needs), and every sum is compensated (Neumaier), in
// two passes (means first, then centred sums), so a series of 1e12 bytes growing by 1 byte/s
// still fits exactly. Non-finite values (NaN, ±Inf) are skipped, as Prometheus skips them.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "statewatch/rules/sample.h"

namespace statewatch::rules {

struct TrendFit {
  size_t samples = 0;  // finite points used
  int64_t window_start_millis = 0;
  double slope_per_second = 0;  // fitted growth rate
  double intercept = 0;         // fitted value at window_start_millis
  // Coefficient of determination in [0, 1]: how much of the variation the line explains.
  // 0 for a perfectly flat series (nothing to explain, and nothing growing).
  double r_squared = 0;
  int64_t first_millis = 0;  // time span actually covered by the points
  int64_t last_millis = 0;

  double slope_per_hour() const { return slope_per_second * 3600.0; }
  // The fitted value at time t.
  double ValueAt(int64_t t_millis) const {
    return intercept + slope_per_second * static_cast<double>(t_millis - window_start_millis) / 1e3;
  }
};

// Fits points with t >= window_start_millis (earlier ones are ignored). nullopt when fewer than
// two finite points remain or all share one timestamp.
std::optional<TrendFit> FitLinearTrend(std::span<const Point> points, int64_t window_start_millis);

// Seconds from `now_millis` until the fitted line reaches `limit`; nullopt when the line does
// not rise towards it (slope ≤ 0 below the limit). 0 when the fitted value is already there.
std::optional<double> SecondsUntil(const TrendFit& fit, int64_t now_millis, double limit);

}  // namespace statewatch::rules
