// Clock: where TTL and every other time-dependent decision gets "now".
//
// Time is milliseconds since the Unix epoch, like Flink's TtlTimeProvider. Engine code never reads
// the system clock directly; it asks the backend's Clock, so a test can move time by days in
// microseconds with ManualClock.
//
// Thread-safety: NowMillis() may be called from any thread (RocksDB compaction threads read it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace statewatch {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;
  // True when the state accesses of one record (one SetCurrentKey) may share a single reading:
  // the clock's own resolution is coarser than a record, so reading it again could not give a
  // different answer that matters. A read-modify-write with TTL then reads the clock once.
  virtual bool ShareReadingPerRecord() const { return false; }
};

// The wall clock, read with CLOCK_REALTIME_COARSE: a few nanoseconds per read instead of ~20, at
// the kernel tick's resolution (1–4 ms). TTLs are minutes to days, so the tick is noise, and TTL
// checks on every state access must stay cheap (target: TTL on ≤ 1.10× TTL off).
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  bool ShareReadingPerRecord() const override { return true; }
  // A process-wide instance; never destroyed.
  static const Clock* Default();
};

// A clock that moves only when told to. For tests, simulations and backtests. Every access
// reads it afresh (tests move it between two accesses of one record).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_millis = 0) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(std::memory_order_acquire); }
  void SetMillis(int64_t millis) { now_.store(millis, std::memory_order_release); }
  void Advance(std::chrono::milliseconds d) {
    now_.fetch_add(d.count(), std::memory_order_acq_rel);
  }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace statewatch
