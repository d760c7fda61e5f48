#include "statewatch/rules/moments_window.h"

#include <algorithm>
#include <cmath>

namespace statewatch::rules {
namespace {

// Floor division: bucket indices of times before the epoch must round down, not towards zero.
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

MomentsWindow::MomentsWindow(std::chrono::milliseconds window, int buckets)
    : window_millis_(std::max<int64_t>(1, window.count())) {
  const int64_t b = std::max(1, buckets);
  bucket_millis_ = std::max<int64_t>(1, (window_millis_ + b - 1) / b);
  // One more slot than buckets: the window's rounded-down start may lie in the bucket before
  // the `buckets` most recent ones.
  ring_.resize(static_cast<size_t>(b + 1));
}

int64_t MomentsWindow::IndexOf(int64_t t_millis) const {
  return FloorDiv(t_millis, bucket_millis_);
}

int64_t MomentsWindow::WindowStart(int64_t now_millis) const {
  return FloorDiv(now_millis - window_millis_, bucket_millis_) * bucket_millis_;
}

bool MomentsWindow::Add(int64_t t_millis, double value) {
  if (!std::isfinite(value)) return false;
  const int64_t index = IndexOf(t_millis);
  if (empty()) {
    value_origin_ = value;
    newest_index_ = index;
    last_millis_ = t_millis;
    Slot(index) = Bucket();
  } else if (index < newest_index_) {
    return false;
  } else if (index > newest_index_) {
    // Clear the slots the ring wraps onto: they hold buckets older than the ring now keeps.
    const int64_t advance = std::min(index - newest_index_, ring_size());
    for (int64_t i = 0; i < advance; ++i) Slot(index - i) = Bucket();
    newest_index_ = index;
  }
  last_millis_ = std::max(last_millis_, t_millis);

  Bucket& b = Slot(index);
  const int64_t offset = t_millis - index * bucket_millis_;
  const double t = static_cast<double>(offset) / 1e3;
  const double v = value - value_origin_;
  if (b.n == 0 || static_cast<uint32_t>(offset) < b.first_offset_millis) {
    b.first_offset_millis = static_cast<uint32_t>(offset);
  }
  // Welford: the co-moment update multiplies the deviation from the old mean by the deviation
  // from the new one, which keeps it exact for a constant series and stable for long ones.
  b.n += 1;
  const double n = static_cast<double>(b.n);
  const double dt = t - b.mean_t, dv = v - b.mean_v;
  b.mean_t += dt / n;
  b.mean_v += dv / n;
  b.ctt += dt * (t - b.mean_t);
  b.ctv += dt * (v - b.mean_v);
  b.cvv += dv * (v - b.mean_v);
  return true;
}

const MomentsWindow::ClosedBuckets& MomentsWindow::Closed(int64_t start,
                                                          int64_t first_index) const {
  if (closed_.start == start && closed_.newest_index == newest_index_) return closed_;
  ClosedBuckets c;
  c.start = start;
  c.newest_index = newest_index_;
  // Merging the buckets is Chan et al.'s parallel update applied to all of them at once: the
  // pooled means first, then Σ (bucket co-moment + n_b·δt_b·δv_b) with δ the bucket mean's
  // distance from the pooled mean. Two short passes of independent sums instead of a serial
  // chain of pairwise merges (each with a division). Only differences of means are formed,
  // never differences of raw sums.
  double sum_t = 0, sum_v = 0;
  for (int64_t index = first_index; index < newest_index_; ++index) {
    const Bucket& b = ring_[SlotOf(index)];
    if (b.n == 0) continue;
    const int64_t bucket_start = index * bucket_millis_;
    if (c.n == 0) c.first_millis = bucket_start + b.first_offset_millis;
    const double nb = b.n;
    c.n += nb;
    sum_t += nb * BucketMeanT(b, bucket_start, start);
    sum_v += nb * b.mean_v;
  }
  if (c.n > 0) {
    c.mean_t = sum_t / c.n;
    c.mean_v = sum_v / c.n;
    for (int64_t index = first_index; index < newest_index_; ++index) {
      const Bucket& b = ring_[SlotOf(index)];
      if (b.n == 0) continue;
      const double nb = b.n;
      const double dt = BucketMeanT(b, index * bucket_millis_, start) - c.mean_t;
      const double dv = b.mean_v - c.mean_v;
      c.ctt += b.ctt + nb * dt * dt;
      c.ctv += b.ctv + nb * dt * dv;
      c.cvv += b.cvv + nb * dv * dv;
    }
  }
  closed_ = c;
  return closed_;
}

std::optional<TrendFit> MomentsWindow::Fit(int64_t now_millis) const {
  if (empty()) return std::nullopt;
  const int64_t start = WindowStart(now_millis);
  const int64_t first_index = std::max(IndexOf(start), newest_index_ - ring_size() + 1);
  if (first_index > newest_index_) return std::nullopt;

  // The closed buckets (cached) merged with the newest one (Chan's pairwise update).
  const ClosedBuckets& a = Closed(start, first_index);
  const Bucket& b = ring_[SlotOf(newest_index_)];
  const int64_t newest_start = newest_index_ * bucket_millis_;
  TrendFit fit;
  fit.window_start_millis = start;
  fit.last_millis = last_millis_;
  const double nb = b.n;
  const double n = a.n + nb;
  fit.samples = static_cast<size_t>(n);
  fit.first_millis = a.n > 0 ? a.first_millis : newest_start + b.first_offset_millis;
  if (fit.samples < 2 || fit.first_millis == fit.last_millis) return std::nullopt;

  double mean_t = a.mean_t, mean_v = a.mean_v;
  double ctt = a.ctt, ctv = a.ctv, cvv = a.cvv;
  if (nb > 0) {
    const double dt = BucketMeanT(b, newest_start, start) - a.mean_t;
    const double dv = b.mean_v - a.mean_v;
    const double w = a.n * nb / n;  // 0 when the closed buckets hold nothing
    mean_t += dt * nb / n;
    mean_v += dv * nb / n;
    ctt += b.ctt + dt * dt * w;
    ctv += b.ctv + dt * dv * w;
    cvv += b.cvv + dv * dv * w;
  }
  if (!(ctt > 0)) return std::nullopt;

  fit.slope_per_second = ctv / ctt;
  fit.intercept = value_origin_ + mean_v - fit.slope_per_second * mean_t;
  if (cvv > 0) {
    // r² = Ctv² / (Ctt · Cvv), clamped against rounding, as FitLinearTrend computes it.
    const double r2 = ctv * ctv / (ctt * cvv);
    fit.r_squared = r2 < 0 ? 0 : (r2 > 1 ? 1 : r2);
  }
  return fit;
}

}  // namespace statewatch::rules
