// SampleStore benchmarks (Google Benchmark), on real files in the temp directory:
//   Append, 10 000 series × 1 sample per batch (one scrape of 10 000 series) into a store that
//     already holds an hour of such scrapes       vs raw SQLite inserts of the same rows with
//     the series ids known in advance (one prepared statement, one transaction, same table, schema
//     and pragmas): the floor any SampleStore could reach. Also reported: MB written per batch
//     (WAL frames and checkpoints), which decides the wall time on a slow or shared disk
//   Append, 100 series × 100 samples per batch
//   ForEachSample over 10 000 series × 144 samples (the replay after a restart)
//   ApplyRetention: a first pass over a day of 1-minute samples for 1 000 series (deletes 4 h,
//     thins 8 h), the hourly move of 10 000 series × 60 samples out of `head` (with bytes
//     written per sample moved), and the steady-state call that finds nothing new (10 000 series)
// Counters: samples_per_s (or rows_per_s), and for retention the chunk count and the mean time
// one chunk holds the write lock.
//
// Run: build/bench/storage_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "statewatch/storage/labels_text.h"
#include "statewatch/storage/sample_store.h"

namespace sw = statewatch;
using sw::storage::SampleStore;

namespace {

constexpr int64_t kMinute = 60'000;

// Nothing old enough to delete or thin: ApplyRetention only moves samples out of `head`, as the
// daemon's hourly retention does for the recent hours.
const sw::storage::RetentionPolicy kKeepAll{std::chrono::hours(240), std::chrono::hours(120),
                                            std::chrono::minutes(10)};

void Check(const sw::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}

std::string FreshPath(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "statewatch-storage-bench";
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path.string() + suffix);
  }
  return path.string();
}

std::unique_ptr<SampleStore> OpenStore(const std::string& path) {
  auto store = SampleStore::Open(path);
  Check(store.status());
  return std::move(*store);
}

// Bytes this process has passed to write() so far (/proc/self/io "wchar"): what a batch costs in
// WAL frames and checkpoint writes, independent of how busy the shared disk happens to be.
double WrittenBytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  double value = 0;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return 0;
}

sw::rules::Labels LabelsOf(int series) {
  return {{"cf", "default"}, {"job", "cdc"}, {"state", "state-" + std::to_string(series)}};
}

// One scrape: `series` samples at time t, values varying.
std::vector<sw::rules::Sample> Scrape(int series, int64_t t) {
  std::vector<sw::rules::Sample> batch;
  batch.reserve(series);
  for (int i = 0; i < series; ++i) {
    batch.push_back({"statewatch_state_keys", LabelsOf(i), t, static_cast<double>(t / 1000 + i)});
  }
  return batch;
}

void BM_Append_ScrapeOf10kSeries(benchmark::State& state) {
  constexpr int kSeries = 10'000;
  auto store = OpenStore(FreshPath("append10k.db"));
  int64_t t = 0;
  for (int i = 0; i < 60; ++i, t += kMinute) Check(store->Append(Scrape(kSeries, t)));
  const double written = WrittenBytes();
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<sw::rules::Sample> batch = Scrape(kSeries, t);
    t += kMinute;
    state.ResumeTiming();
    Check(store->Append(batch));
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kSeries, benchmark::Counter::kIsRate);
  state.counters["MB_written_per_batch"] =
      (WrittenBytes() - written) / 1e6 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Append_ScrapeOf10kSeries)->Unit(benchmark::kMillisecond)->UseRealTime();

// The floor: the same rows through one prepared INSERT, series ids already known.
void BM_RawSqliteInsert_ScrapeOf10kSeries(benchmark::State& state) {
  constexpr int kSeries = 10'000;
  const std::string path = FreshPath("raw10k.db");
  int64_t t = 0;
  {
    auto store = OpenStore(path);  // same schema; series ids 1..kSeries
    for (int i = 0; i < 60; ++i, t += kMinute) Check(store->Append(Scrape(kSeries, t)));
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
               "PRAGMA wal_autocheckpoint=10000",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  // Recent samples go to `head`, clustered by (t, series_id): the table Append writes.
  sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO head(t, series_id, value) VALUES (?1, ?2, ?3)", -1,
                     &insert, nullptr);
  const double written = WrittenBytes();
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (int i = 0; i < kSeries; ++i) {
      sqlite3_reset(insert);
      sqlite3_bind_int64(insert, 1, t);
      sqlite3_bind_int64(insert, 2, i + 1);
      sqlite3_bind_double(insert, 3, static_cast<double>(t / 1000 + i));
      if (sqlite3_step(insert) != SQLITE_DONE) std::abort();
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) std::abort();
    t += kMinute;
  }
  state.counters["MB_written_per_batch"] =
      (WrittenBytes() - written) / 1e6 / static_cast<double>(state.iterations());
  sqlite3_finalize(insert);
  sqlite3_close(db);
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kSeries, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RawSqliteInsert_ScrapeOf10kSeries)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Append_100SeriesX100Samples(benchmark::State& state) {
  auto store = OpenStore(FreshPath("append100x100.db"));
  int64_t t = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<sw::rules::Sample> batch;
    batch.reserve(10'000);
    for (int s = 0; s < 100; ++s) {
      for (int k = 0; k < 100; ++k) {
        batch.push_back({"statewatch_state_keys", LabelsOf(s), t + k * 1000, 1.0 * k});
      }
    }
    t += 100 * 1000;
    state.ResumeTiming();
    Check(store->Append(batch));
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 10'000, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Append_100SeriesX100Samples)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ForEachSample_10kSeriesX144(benchmark::State& state) {
  constexpr int kSeries = 10'000;
  auto store = OpenStore(FreshPath("replay.db"));
  for (int64_t i = 0; i < 144; ++i) Check(store->Append(Scrape(kSeries, i * 10 * kMinute)));
  // All but the last 15 minutes sealed into `samples`, as the daemon's hourly retention leaves it.
  auto sealed = store->ApplyRetention(144 * 10 * kMinute, kKeepAll);
  Check(sealed.status());
  int64_t visited = 0;
  for (auto _ : state) {
    double sum = 0;
    Check(store->ForEachSample(0, 144 * 10 * kMinute, [&](const sw::rules::Sample& s) {
      sum += s.value;
      ++visited;
    }));
    benchmark::DoNotOptimize(sum);
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(visited), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ForEachSample_10kSeriesX144)->Unit(benchmark::kMillisecond)->UseRealTime();

// First pass over a day of 1-minute samples: keep 20 h, thin after 12 h to 10 min.
void BM_ApplyRetention_FirstPass_1kSeriesX1440(benchmark::State& state) {
  constexpr int kSeries = 1'000;
  const sw::storage::RetentionPolicy policy{std::chrono::hours(20), std::chrono::hours(12),
                                            std::chrono::minutes(10)};
  int64_t rows = 0, chunks = 0;
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<SampleStore> store;
    store = OpenStore(FreshPath("retention.db"));
    for (int64_t m = 0; m < 1440; m += 60) {
      std::vector<sw::rules::Sample> batch;
      for (int64_t k = m; k < m + 60; ++k) {
        std::vector<sw::rules::Sample> scrape = Scrape(kSeries, k * kMinute);
        batch.insert(batch.end(), scrape.begin(), scrape.end());
      }
      Check(store->Append(batch));
      // As the daemon does every hour: what is older than 15 minutes moves out of `head`.
      auto sealed = store->ApplyRetention((m + 60) * kMinute, kKeepAll);
      Check(sealed.status());
    }
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    auto stats = store->ApplyRetention(1440 * kMinute, policy);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Check(stats.status());
    // Every row of the first 20 h is read or deleted.
    rows += kSeries * 20 * 60;
    chunks += stats->chunks;
  }
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  state.counters["chunks"] =
      benchmark::Counter(static_cast<double>(chunks), benchmark::Counter::kAvgIterations);
  // Each chunk is one transaction: the time it holds the write lock (and Append waits at most).
  state.counters["ms_per_chunk"] = chunks > 0 ? seconds * 1000 / static_cast<double>(chunks) : 0;
}
BENCHMARK(BM_ApplyRetention_FirstPass_1kSeriesX1440)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

// The hourly move of recent samples from `head` to `samples`: 10 000 series × 60 one-minute
// samples, into a store that already holds an hour of older (moved) history per series.
void BM_ApplyRetention_MoveAnHour_10kSeries(benchmark::State& state) {
  constexpr int kSeries = 10'000;
  auto store = OpenStore(FreshPath("retention-move.db"));
  int64_t t = 0;
  const auto append_hour = [&] {
    for (int i = 0; i < 60; ++i, t += kMinute) Check(store->Append(Scrape(kSeries, t)));
  };
  append_hour();
  auto first = store->ApplyRetention(t + 15 * kMinute, kKeepAll);
  Check(first.status());
  int64_t moved = 0, chunks = 0;
  double written = 0;
  for (auto _ : state) {
    state.PauseTiming();
    append_hour();
    const double before = WrittenBytes();
    state.ResumeTiming();
    auto stats = store->ApplyRetention(t + 15 * kMinute, kKeepAll);
    Check(stats.status());
    state.PauseTiming();
    written += WrittenBytes() - before;
    moved += stats->sealed;
    chunks += stats->chunks;
    state.ResumeTiming();
  }
  state.counters["samples_moved_per_s"] =
      benchmark::Counter(static_cast<double>(moved), benchmark::Counter::kIsRate);
  state.counters["bytes_written_per_sample"] = written / static_cast<double>(moved);
  state.counters["chunks"] =
      benchmark::Counter(static_cast<double>(chunks), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_ApplyRetention_MoveAnHour_10kSeries)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// Steady state: nothing new since the last call; the cost every retention tick pays.
void BM_ApplyRetention_NothingNew_10kSeries(benchmark::State& state) {
  constexpr int kSeries = 10'000;
  auto store = OpenStore(FreshPath("retention-idle.db"));
  for (int64_t i = 0; i < 10; ++i) Check(store->Append(Scrape(kSeries, i * kMinute)));
  const sw::storage::RetentionPolicy policy{std::chrono::hours(20), std::chrono::hours(12),
                                            std::chrono::minutes(10)};
  auto first = store->ApplyRetention(10 * kMinute, policy);
  Check(first.status());
  int64_t chunks = 0;
  for (auto _ : state) {
    auto stats = store->ApplyRetention(10 * kMinute, policy);
    Check(stats.status());
    chunks += stats->chunks;
  }
  state.counters["chunks"] =
      benchmark::Counter(static_cast<double>(chunks), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_ApplyRetention_NothingNew_10kSeries)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
