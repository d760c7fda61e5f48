#include "statewatch/rules/linear_trend.h"

#include <cmath>

namespace statewatch::rules {
namespace {

// Neumaier's compensated sum: the rounding error of each addition is kept and added back.
class CompensatedSum {
 public:
  void Add(double v) {
    const double t = sum_ + v;
    if (std::fabs(sum_) >= std::fabs(v)) {
      compensation_ += (sum_ - t) + v;
    } else {
      compensation_ += (v - t) + sum_;
    }
    sum_ = t;
  }
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0;
  double compensation_ = 0;
};

}  // namespace

std::optional<TrendFit> FitLinearTrend(std::span<const Point> points, int64_t window_start_millis) {
  auto usable = [&](const Point& p) {
    return p.t_millis >= window_start_millis && std::isfinite(p.value);
  };
  auto x_of = [&](const Point& p) {
    return static_cast<double>(p.t_millis - window_start_millis) / 1e3;
  };

  TrendFit fit;
  fit.window_start_millis = window_start_millis;
  CompensatedSum sx, sy;
  for (const Point& p : points) {
    if (!usable(p)) continue;
    if (fit.samples == 0 || p.t_millis < fit.first_millis) fit.first_millis = p.t_millis;
    if (fit.samples == 0 || p.t_millis > fit.last_millis) fit.last_millis = p.t_millis;
    ++fit.samples;
    sx.Add(x_of(p));
    sy.Add(p.value);
  }
  if (fit.samples < 2 || fit.first_millis == fit.last_millis) return std::nullopt;
  const double n = static_cast<double>(fit.samples);
  const double mean_x = sx.value() / n, mean_y = sy.value() / n;

  CompensatedSum sxx, sxy, syy;
  for (const Point& p : points) {
    if (!usable(p)) continue;
    const double dx = x_of(p) - mean_x, dy = p.value - mean_y;
    sxx.Add(dx * dx);
    sxy.Add(dx * dy);
    syy.Add(dy * dy);
  }
  fit.slope_per_second = sxy.value() / sxx.value();
  fit.intercept = mean_y - fit.slope_per_second * mean_x;
  const double ss_tot = syy.value();
  if (ss_tot > 0) {
    // r² = explained / total variation = Sxy² / (Sxx · Syy); clamp rounding outside [0, 1].
    const double r2 = sxy.value() * sxy.value() / (sxx.value() * ss_tot);
    fit.r_squared = r2 < 0 ? 0 : (r2 > 1 ? 1 : r2);
  }
  return fit;
}

std::optional<double> SecondsUntil(const TrendFit& fit, int64_t now_millis, double limit) {
  const double now_value = fit.ValueAt(now_millis);
  if (now_value >= limit) return 0.0;
  if (!(fit.slope_per_second > 0)) return std::nullopt;
  return (limit - now_value) / fit.slope_per_second;
}

}  // namespace statewatch::rules
