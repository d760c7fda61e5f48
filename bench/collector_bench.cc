// Collector overhead on the database it watches (issue #3: goal < 1 % throughput difference).
//
// One RocksDB owner takes a fillrandom-style load (uniform random 16-byte keys, 100-byte
// values, WAL on, as db_bench fillrandom) from one writer thread, while a rocksdb_dir collector
// in another thread collects every --interval_ms — the same database, opened as a secondary.
// Without and with collections are paired in the same run: the writer alternates blocks of
// --block puts with the collector paused and running (order ABBA within each round, so a
// trend over the run — the LSM tree growing, compactions starting — falls on both sides
// alike), and each side's throughput is the sum over its blocks. The collector's secondary
// stays open throughout; pausing stops only its collections (catch-up, WAL replay, property
// reads, LOG reading).
//
// Run: build/bench/collector_bench [--rounds=10] [--block=100000] [--interval_ms=100]
//                                  [--replay_wal=0|1]
// The daemon collects every 15 s by default; 100 ms is 150 times as often, a worst case.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "statewatch/collectors/rocksdb_dir.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  int rounds = 10;
  int block = 100'000;
  int interval_ms = 100;
  int replay_wal = 0;  // the collector's replay_wal option
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&](const char* name, int* out) {
      const std::string prefix = std::string("--") + name + "=";
      if (a.rfind(prefix, 0) != 0) return false;
      *out = std::atoi(a.c_str() + prefix.size());
      return true;
    };
    if (!value("rounds", &f.rounds) && !value("block", &f.block) &&
        !value("interval_ms", &f.interval_ms) && !value("replay_wal", &f.replay_wal)) {
      std::fprintf(stderr,
                   "usage: %s [--rounds=N] [--block=PUTS] [--interval_ms=MS] [--replay_wal=0|1]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  return f;
}

void Check(const rocksdb::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "collector_bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}

// Collects every `interval` while enabled; counts collections and their total time.
class CollectorThread {
 public:
  CollectorThread(const std::string& path, bool replay_wal, std::chrono::milliseconds interval)
      : collector_("bench", "bench", Options(path, replay_wal)),
        interval_(interval),
        thread_([this] { Run(); }) {}
  ~CollectorThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void SetEnabled(bool enabled) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      enabled_ = enabled;
    }
    cv_.notify_all();
  }
  int collections() const { return collections_; }
  double busy_seconds() const { return busy_seconds_; }
  size_t last_samples() const { return last_samples_; }

 private:
  static statewatch::collectors::RocksDbDirOptions Options(const std::string& path,
                                                           bool replay_wal) {
    statewatch::collectors::RocksDbDirOptions o;
    o.path = path;
    o.replay_wal = replay_wal;
    return o;
  }
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    Clock::time_point next = Clock::now();
    while (!stop_) {
      if (!enabled_) {
        cv_.wait(lock, [&] { return stop_ || enabled_; });
        next = Clock::now();
        continue;
      }
      if (cv_.wait_until(lock, next, [&] { return stop_ || !enabled_; })) continue;
      lock.unlock();
      std::vector<statewatch::rules::Sample> samples;
      const auto t0 = Clock::now();
      const statewatch::Status s = collector_.Collect(0, &samples);
      busy_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
      if (!s.ok()) {
        std::fprintf(stderr, "collector_bench: %s\n", s.ToString().c_str());
        std::abort();
      }
      ++collections_;
      last_samples_ = samples.size();
      next += interval_;
      lock.lock();
    }
  }

  statewatch::collectors::RocksDbDirCollector collector_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool enabled_ = false;
  bool stop_ = false;
  std::atomic<int> collections_{0};
  std::atomic<double> busy_seconds_{0};
  std::atomic<size_t> last_samples_{0};
  std::thread thread_;  // last: starts after everything it uses
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const auto dir = std::filesystem::temp_directory_path() / "statewatch-bench-collector";
  std::filesystem::remove_all(dir);

  rocksdb::Options options;
  options.create_if_missing = true;
  options.statistics = rocksdb::CreateDBStatistics();  // as a monitored job would have it
  rocksdb::DB* raw = nullptr;
  Check(rocksdb::DB::Open(options, dir.string(), &raw));
  std::unique_ptr<rocksdb::DB> db(raw);

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> key_dist(0, 99'999'999);
  const std::string value(100, 'v');
  char key[17];
  const auto put_block = [&]() {
    const auto t0 = Clock::now();
    for (int i = 0; i < flags.block; ++i) {
      std::snprintf(key, sizeof(key), "%016llu", static_cast<unsigned long long>(key_dist(rng)));
      Check(db->Put(rocksdb::WriteOptions(), rocksdb::Slice(key, 16), value));
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };

  put_block();  // warm-up: memtable allocation, first flush
  CollectorThread collector(dir.string(), flags.replay_wal != 0,
                            std::chrono::milliseconds(flags.interval_ms));
  double without_s = 0, with_s = 0;
  std::vector<double> round_ratios;
  for (int round = 0; round < flags.rounds; ++round) {
    double round_without = 0, round_with = 0;
    for (const bool with : {false, true, true, false}) {  // ABBA
      collector.SetEnabled(with);
      (with ? round_with : round_without) += put_block();
    }
    collector.SetEnabled(false);
    without_s += round_without;
    with_s += round_with;
    round_ratios.push_back(round_without / round_with);  // throughput with / without
    std::printf("round %2d: without %9.0f puts/s  with %9.0f puts/s  ratio %.4f\n", round,
                2.0 * flags.block / round_without, 2.0 * flags.block / round_with,
                round_ratios.back());
  }
  std::sort(round_ratios.begin(), round_ratios.end());
  const double puts = 2.0 * flags.block * flags.rounds;
  const double ratio = without_s / with_s;
  std::printf(
      "\nfillrandom, %d rounds x 2 x %d puts per side, collection every %d ms, replay_wal=%d\n"
      "without collector: %.0f puts/s\nwith collector:    %.0f puts/s\n"
      "throughput ratio with/without: %.4f (%+.2f %%), median of rounds %.4f\n"
      "collections: %d, mean %.2f ms each, %zu samples each\n",
      flags.rounds, 2 * flags.block, flags.interval_ms, flags.replay_wal, puts / without_s,
      puts / with_s, ratio, (ratio - 1) * 100, round_ratios[round_ratios.size() / 2],
      collector.collections(),
      collector.collections() ? 1000 * collector.busy_seconds() / collector.collections() : 0.0,
      collector.last_samples());
  return 0;
}
