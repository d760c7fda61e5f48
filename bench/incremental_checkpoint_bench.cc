// Incremental vs full checkpoints of a large RocksDB state, and rescale time (issue #4).
//
//   BM_IncrementalVsFull  A RocksDB backend holding STATEWATCH_BENCH_ENTRIES entries (default
//     10 000 000 × ~110 bytes of incompressible value: ~1.1 GB of SST files), fully compacted
//     once after loading (STATEWATCH_BENCH_NO_SETTLE=1 skips that). Each of 10 iterations
//     changes 1 % of the keys, then takes an incremental checkpoint (flush, RocksDB checkpoint,
//     copy of the new SSTs into shared/) and a full one (the whole state in the canonical
//     format) of the same state, both fsync'd. Counters: full_MB / full_s, delta_MB / incr_s,
//     bytes_pct and time_pct = incremental as a percentage of full (goal: ≤ 5 % of both), and
//     first_incr_s, the first incremental checkpoint, which copies every SST once.
//   BM_Rescale  STATEWATCH_BENCH_RESCALE_ENTRIES entries (default 1 000 000) on 2 RocksDB
//     instances, incrementally checkpointed, restored at parallelism 2 (same ranges) and 3 (key
//     groups split across both old checkpoints) into RocksDB; counters: restore_s for each and
//     entries_per_s.
//
// Run: build/bench/incremental_checkpoint_bench [--benchmark_filter=…]
// Needs ~5 GB free in the temporary directory; removes what it wrote.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "statewatch/state/checkpoint.h"
#include "statewatch/state/key_group.h"
#include "statewatch/state/keyed_state_backend.h"

namespace sw = statewatch;
namespace fs = std::filesystem;

namespace {

const sw::ValueStateDescriptor<std::string> kDesc("payload");

void Check(const sw::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "incremental_checkpoint_bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}

int64_t EnvOr(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : std::atoll(v);
}

// A fresh directory for one benchmark, removed when it ends.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name)
      : path(fs::temp_directory_path() / ("statewatch-bench-" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() { fs::remove_all(path); }
  std::string Sub(const std::string& name) const { return (path / name).string(); }
};

std::unique_ptr<sw::KeyedStateBackend> RocksDb(const std::string& dir, sw::KeyGroupRange range) {
  sw::BackendOptions o;
  o.backend = "rocksdb";
  o.rocksdb.local_directory = dir;
  o.key_group_range = range;
  auto b = sw::NewKeyedStateBackend(o);
  Check(b.status());
  return std::move(*b);
}

// ~100 bytes that do not compress, different per key and round.
std::string ValueFor(int64_t key, int64_t round, std::mt19937_64& rng) {
  std::string v(100, '\0');
  for (size_t i = 0; i < v.size(); i += 8) {
    const uint64_t r = rng() ^ static_cast<uint64_t>(key * 31 + round);
    std::memcpy(v.data() + i, &r, std::min<size_t>(8, v.size() - i));
  }
  return v;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void BM_IncrementalVsFull(benchmark::State& state) {
  const int64_t entries = EnvOr("STATEWATCH_BENCH_ENTRIES", 10'000'000);
  ScratchDir dir("incremental");
  auto backend = RocksDb(dir.Sub("db"), sw::KeyGroupRange::Empty());
  auto* s = *backend->GetValueState(kDesc);
  std::mt19937_64 rng(7);
  for (int64_t k = 0; k < entries; ++k) {
    Check(backend->SetCurrentKey(k));
    Check(s->Update(ValueFor(k, 0, rng)));
  }
  // Settle first: the bulk load leaves compaction debt that would otherwise be paid during
  // the measured rounds (a job in steady state has paid it). A full compaction puts the state
  // in the bottommost level, as a long-running job's mostly is.
  if (std::getenv("STATEWATCH_BENCH_NO_SETTLE") == nullptr) Check(backend->CompactState("payload"));
  Check(backend->Flush());

  sw::CheckpointOptions incremental;
  incremental.root = dir.Sub("incremental");
  incremental.retained = 2;
  incremental.incremental = true;
  sw::CheckpointOptions full = incremental;
  full.root = dir.Sub("full");
  full.incremental = false;
  auto incr_c = sw::CheckpointCoordinator::Open(backend.get(), incremental);
  auto full_c = sw::CheckpointCoordinator::Open(backend.get(), full);
  Check(incr_c.status());
  Check(full_c.status());

  auto start = std::chrono::steady_clock::now();
  Check((*incr_c)->Trigger().status());
  const double first_incr_s = Seconds(start);
  const double first_incr_mb =
      static_cast<double>((*incr_c)->Stats().last_completed->delta_size_bytes) / 1e6;

  double full_s = 0, incr_s = 0, full_mb = 0, delta_mb = 0;
  int64_t round = 0;
  for (auto _ : state) {
    ++round;
    for (int64_t i = 0; i < entries / 100; ++i) {  // 1 % of the keys, spread over the key space
      const int64_t k = static_cast<int64_t>(rng() % static_cast<uint64_t>(entries));
      Check(backend->SetCurrentKey(k));
      Check(s->Update(ValueFor(k, round, rng)));
    }
    start = std::chrono::steady_clock::now();
    Check((*incr_c)->Trigger().status());
    const double incr = Seconds(start);
    start = std::chrono::steady_clock::now();
    Check((*full_c)->Trigger().status());
    const double f = Seconds(start);
    incr_s += incr;
    full_s += f;
    delta_mb += static_cast<double>((*incr_c)->Stats().last_completed->delta_size_bytes) / 1e6;
    full_mb += static_cast<double>((*full_c)->Stats().last_completed->full_size_bytes) / 1e6;
    state.SetIterationTime(incr);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["entries"] = static_cast<double>(entries);
  state.counters["first_incr_s"] = first_incr_s;
  state.counters["first_incr_MB"] = first_incr_mb;
  state.counters["incr_full_MB"] =
      static_cast<double>((*incr_c)->Stats().last_completed->full_size_bytes) / 1e6;
  state.counters["full_MB"] = full_mb / n;
  state.counters["full_s"] = full_s / n;
  state.counters["delta_MB"] = delta_mb / n;
  state.counters["incr_s"] = incr_s / n;
  state.counters["bytes_pct"] = 100.0 * delta_mb / full_mb;
  state.counters["time_pct"] = 100.0 * incr_s / full_s;
}
BENCHMARK(BM_IncrementalVsFull)->Iterations(10)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_Rescale(benchmark::State& state) {
  constexpr int kMax = 128;
  const int64_t entries = EnvOr("STATEWATCH_BENCH_RESCALE_ENTRIES", 1'000'000);
  ScratchDir dir("rescale");
  std::vector<sw::CheckpointMetadata> old;
  {
    std::vector<std::unique_ptr<sw::KeyedStateBackend>> two;
    for (int i = 0; i < 2; ++i) {
      two.push_back(
          RocksDb(dir.Sub("old-" + std::to_string(i)), sw::KeyGroupRangeForOperator(kMax, 2, i)));
    }
    std::mt19937_64 rng(11);
    for (int64_t k = 0; k < entries; ++k) {
      const std::string key = sw::SerializeToString(k);
      const int owner = sw::OperatorIndexForKeyGroup(kMax, 2, sw::KeyGroupForKey(key, kMax));
      sw::KeyedStateBackend& b = *two[static_cast<size_t>(owner)];
      Check(b.SetCurrentKey(k));
      Check((*b.GetValueState(kDesc))->Update(ValueFor(k, 0, rng)));
    }
    for (int i = 0; i < 2; ++i) {
      sw::CheckpointOptions o;
      o.root = dir.Sub("chk-" + std::to_string(i));
      o.incremental = true;
      auto c = sw::CheckpointCoordinator::Open(two[static_cast<size_t>(i)].get(), o);
      Check(c.status());
      auto m = (*c)->Trigger();
      Check(m.status());
      old.push_back(*m);
    }
  }
  double same_s = 0, rescale_s = 0;
  int run = 0;
  for (auto _ : state) {
    for (const int parallelism : {2, 3}) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < parallelism; ++i) {
        const std::string name = "new-" + std::to_string(run) + "-" + std::to_string(parallelism) +
                                 "-" + std::to_string(i);
        auto b = RocksDb(dir.Sub(name), sw::KeyGroupRangeForOperator(kMax, parallelism, i));
        if (parallelism == 2) {
          Check(sw::RestoreFromCheckpoint(*b, old[static_cast<size_t>(i)]));
        } else {
          Check(sw::RestoreFromCheckpoints(*b, old));
        }
        Check(b->GetValueState(kDesc).status());
        Check(b->Flush());
        b.reset();
        fs::remove_all(dir.Sub(name));
      }
      const double took = Seconds(start);
      (parallelism == 2 ? same_s : rescale_s) += took;
      if (parallelism == 3) state.SetIterationTime(took);
    }
    ++run;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["entries"] = static_cast<double>(entries);
  state.counters["restore_p2_s"] = same_s / n;
  state.counters["rescale_p3_s"] = rescale_s / n;
  state.counters["entries_per_s_p3"] = static_cast<double>(entries) * n / rescale_s;
}
BENCHMARK(BM_Rescale)->Iterations(2)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
