// The soak of bench/agent_soak.cc at CI size (issue #7): the same driver (soak_driver.h) — the
// real Agent on a manual clock, a prometheus source over loopback HTTP, the built-in rules, a
// webhook receiver, retention every simulated hour — for 1 000 series × 12 simulated days at
// 20-minute steps (864 cycles: scrape, store, evaluate, deliver), with retention 3d,
// downsampling after 1d to 1h. It checks what a long run must keep true, not speed (that is the
// benchmark's job):
//  - the history is bounded by retention: from the day after retention took effect on, the rows
//    and the samples.db file stop growing (without ApplyRetention both grow every day);
//  - the heap in use at the end is within a bound of the heap after the warm-up (rule windows
//    full, alerts firing and resolving at their steady rate): a leak of ~1 KiB per cycle (576
//    cycles from the warm-up to the end) or of a few KiB per alert episode would exceed it.
// With AddressSanitizer the run is 300 series × 8 days (ASan's allocator and quarantine make
// every cycle slower); the bounds stay the same. ASan's allocator is not glibc's, so there the
// heap check sees little (LeakSanitizer covers leaks at exit; the growth check is the plain
// build's).
#include <gtest/gtest.h>

#include <cstdio>

#include "agent/soak_driver.h"
#include "embedded-state/test_util.h"

namespace statewatch::soak {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

void Print(const DayStats& d) {
  std::printf(
      "day %2d: rss %6.1f MiB, heap %6.2f MiB, samples.db %7.2f MiB (+WAL %5.2f), rows %8lld, "
      "eval %.2f ms, collect %.2f ms, alerts %zu pending %zu firing, %lld notifications\n",
      d.day, d.rss_bytes / 1048576.0, d.heap_bytes / 1048576.0, d.samples_db_bytes / 1048576.0,
      d.samples_wal_bytes / 1048576.0, static_cast<long long>(d.stored_samples), d.eval_mean_ms,
      d.collect_mean_ms, d.alerts_pending, d.alerts_firing,
      static_cast<long long>(d.notifications));
  std::fflush(stdout);
}

TEST(AgentSoakTest, HistoryStaysBoundedByRetentionAndHeapStaysFlat) {
  statewatch::testing::TempDir dir;
  SoakOptions o;
  o.series = kSanitized ? 300 : 1'000;
  o.days = kSanitized ? 8 : 12;
  o.step = std::chrono::minutes(20);
  o.evaluation_interval = std::chrono::minutes(20);
  o.retention = "3d";
  o.downsample_after = "1d";
  o.downsample_resolution = "1h";
  o.storage_dir = dir.Sub("soak");
  constexpr int kRetentionDays = 3;
  constexpr int kWarmupDay = kRetentionDays + 1;  // the first whole day with deletions

  Result<std::vector<DayStats>> run = RunSoak(o, Print);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::vector<DayStats>& days = *run;
  ASSERT_EQ(days.size(), static_cast<size_t>(o.days));

  // The pipeline did its work all along: every scrape stored, alerts fired and were delivered.
  int64_t notifications = 0;
  size_t most_firing = 0;
  for (const DayStats& d : days) {
    EXPECT_EQ(d.collect_failures, 0) << "day " << d.day;
    EXPECT_EQ(d.storage_errors, 0) << "day " << d.day;
    EXPECT_EQ(d.stored_series, o.series) << "day " << d.day;
    notifications += d.notifications;
    most_firing = std::max(most_firing, d.alerts_firing);
  }
  EXPECT_GT(most_firing, static_cast<size_t>(o.series / 20)) << "the leaking tenth should fire";
  EXPECT_GT(notifications, 0);

  // Rows: the policy's bound — a day at the scrape's 20-minute resolution (72 per series) plus
  // two days thinned to one per hour (48) — reached on the warm-up day and kept. Without
  // retention the last day would hold `days` × 72 per series.
  const DayStats& warm = days[kWarmupDay - 1];
  const int64_t bound = int64_t{o.series} * (72 + 48);
  for (size_t i = kWarmupDay - 1; i < days.size(); ++i) {
    EXPECT_LE(days[i].stored_samples, bound * 11 / 10) << "day " << days[i].day;
    EXPECT_LE(days[i].stored_samples, warm.stored_samples * 21 / 20) << "day " << days[i].day;
  }

  // samples.db: deleted pages are reused, so the file stops growing once retention deletes as
  // much per hour as the scrapes add (without retention it grows by a day of samples per day).
  for (size_t i = kWarmupDay; i < days.size(); ++i) {
    EXPECT_LE(days[i].samples_db_bytes, warm.samples_db_bytes * 6 / 5)
        << "day " << days[i].day << " vs day " << warm.day;
  }
  const DayStats& last = days.back();
  EXPECT_LE(last.samples_wal_bytes, 100 << 20);  // journal_size_limit holds the WAL down

  // Heap in use: flat after the warm-up (5 % or 0.5 MiB, whichever is larger; 1 000 series
  // measured +1.2 % from day 4 to day 12).
  const double heap_bound = warm.heap_bytes + std::max(0.05 * warm.heap_bytes, 524288.0);
  EXPECT_LE(last.heap_bytes, heap_bound)
      << "heap grew from " << warm.heap_bytes << " bytes on day " << warm.day << " to "
      << last.heap_bytes << " on day " << last.day;
}

}  // namespace
}  // namespace statewatch::soak
