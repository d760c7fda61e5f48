// MomentsWindow: a sliding least-squares fit over a time window in bounded memory.
//
// Keeping every raw point of 10 000 series over a day costs 10 000 × 1 440 × 16 bytes ≈ 230 MB,
// and refitting them all costs a pass over every point per evaluation. A fit only needs the
// centred moments of the points (count, means, Ctt = Σ(t-t̄)², Ctv = Σ(t-t̄)(v-v̄),
// Cvv = Σ(v-v̄)²), and moments of disjoint sets merge exactly (Chan, Golub and LeVeque's parallel
// update). So the window is a ring of time buckets, each holding the moments of the points that
// fell into it (updated point by point with Welford's recurrence), and Fit() merges the buckets
// that lie inside the window: ~2.4 KB and ~50 bucket merges per series, whatever the sample
// rate.
//
// The result equals FitLinearTrend over the same raw points with the same window start (to
// ~1e-9 relative; tests/rules/moments_window_test.cc checks it against that oracle). Precision
// holds for large timestamps and large levels because nothing is kept in absolute units: time
// within a bucket is seconds from the bucket's start, times across buckets are seconds from the
// fit's window start, and values are kept relative to the first value the window saw (a level
// of 1e12 growing by 1/s keeps its slope exact). Centred moments never subtract two large sums.
//
// Window alignment: buckets are aligned to multiples of bucket_millis() since the Unix epoch,
// and Fit(now) covers every bucket whose start is at or after WindowStart(now) =
// now - window rounded DOWN to a bucket boundary. The fitted window is therefore between
// `window` and `window + bucket_millis()` long (24 h to 24.5 h with the defaults); the ring
// keeps buckets + 1 buckets so the rounded-down start is always still held.
//
// Fit() caches the merge of the buckets before the newest one: they are closed (Add refuses
// their times), so until the newest bucket or the window start moves — once per bucket width —
// a fit merges that cached aggregate with the newest bucket only. An evaluation every minute of
// a 24 h window in 24 buckets then merges 25 buckets once an hour and 2 the other 59 times.
//
// Thread-safety: none, Fit() included (it updates the cache); one owner (the RuleEngine keeps
// one per watched series).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "statewatch/rules/linear_trend.h"

namespace statewatch::rules {

class MomentsWindow {
 public:
  // `window` > 0 and `buckets` ≥ 1 (smaller values are raised to those minima). The bucket
  // width is window / buckets rounded up to whole milliseconds and must stay below 2^32 ms
  // (~49 days, so windows up to ~6.5 years with 48 buckets; ValidateRule enforces less).
  explicit MomentsWindow(std::chrono::milliseconds window, int buckets = 48);

  // Adds one point. Returns false (and changes nothing) for a non-finite value or for a time
  // before the newest bucket's start: the bucket it belongs to has been merged away or may be
  // merged into a fit already. Points within the newest bucket may arrive in any order.
  bool Add(int64_t t_millis, double value);

  // The least-squares fit over the points of the buckets starting at or after
  // WindowStart(now_millis), with TrendFit::window_start_millis = WindowStart(now_millis).
  // nullopt when those buckets hold fewer than two points or only one distinct time. Points
  // newer than now_millis (possible only when evaluating in the past) are included.
  std::optional<TrendFit> Fit(int64_t now_millis) const;

  // now - window rounded down to a multiple of bucket_millis().
  int64_t WindowStart(int64_t now_millis) const;

  std::chrono::milliseconds window() const { return std::chrono::milliseconds(window_millis_); }
  int64_t bucket_millis() const { return bucket_millis_; }
  bool empty() const { return newest_index_ == kNoBucket; }
  // Newest point time accepted so far (meaningless when empty()).
  int64_t last_millis() const { return last_millis_; }
  // Heap and object bytes held, for memory accounting.
  size_t memory_bytes() const { return sizeof(*this) + ring_.capacity() * sizeof(Bucket); }

 private:
  static constexpr int64_t kNoBucket = INT64_MIN;

  // Moments of the points of one bucket. Times are seconds from the bucket's start, values are
  // relative to value_origin_. 48 bytes: the bucket index is implied by the ring position.
  struct Bucket {
    double mean_t = 0, mean_v = 0;
    double ctt = 0, ctv = 0, cvv = 0;
    uint32_t n = 0;
    uint32_t first_offset_millis = 0;  // earliest point, ms after the bucket's start
  };

  size_t SlotOf(int64_t index) const {
    return static_cast<size_t>(((index % ring_size()) + ring_size()) % ring_size());
  }
  Bucket& Slot(int64_t index) { return ring_[SlotOf(index)]; }
  int64_t ring_size() const { return static_cast<int64_t>(ring_.size()); }
  // The bucket's mean time in seconds from `origin`: its own offset (small) plus the distance
  // of its start from the origin (small), so precision holds at any Unix time.
  static double BucketMeanT(const Bucket& b, int64_t bucket_start, int64_t origin) {
    return static_cast<double>(bucket_start - origin) / 1e3 + b.mean_t;
  }
  int64_t IndexOf(int64_t t_millis) const;

  // The pooled moments of the closed buckets [first_index, newest_index_) of the window that
  // starts at `start`: times in seconds from `start`, values relative to value_origin_.
  struct ClosedBuckets {
    int64_t start = kNoBucket;
    int64_t newest_index = kNoBucket;
    double n = 0, mean_t = 0, mean_v = 0, ctt = 0, ctv = 0, cvv = 0;
    int64_t first_millis = 0;  // earliest point among them (when n > 0)
  };
  const ClosedBuckets& Closed(int64_t start, int64_t first_index) const;

  int64_t window_millis_;
  int64_t bucket_millis_;
  int64_t newest_index_ = kNoBucket;  // bucket index (t / bucket_millis_) of the newest bucket
  int64_t last_millis_ = 0;
  double value_origin_ = 0;
  std::vector<Bucket> ring_;      // buckets + 1 slots, slot = index mod size
  mutable ClosedBuckets closed_;  // Fit()'s cache, keyed by (start, newest_index)
};

}  // namespace statewatch::rules
