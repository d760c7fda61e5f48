// Engine benchmarks, each paired with its baseline in the same benchmark:
//   heap ValueState get+update        vs std::unordered_map find + assign      (goal ≤ 1.5×)
//   RocksDB ValueState get / update   vs raw RocksDB Get / Put, same options  (goal ≤ 1.2×)
//   RocksDB MapState entry get        vs raw RocksDB Get                       (goal ≤ 1.3×)
//   TTL on                            vs TTL off, both backends                (goal ≤ 1.10×)
//   ListState add                     vs std::vector push_back / raw RocksDB Merge
//
// A pair runs its two sides in alternating blocks of kBlock operations over the same keys and
// times each side separately, so both see the same machine at the same moment: background
// compactions, page-cache state and neighbours on a shared host affect both alike. Each
// benchmark reports counters engine_ns, baseline_ns (per operation) and ratio; after the usual
// output the program prints the Markdown table kept in bench/README.md.
//
// Run: build/bench/state_bench [--benchmark_repetitions=5] [--benchmark_min_time=1]
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "list_merge_operator.h"
#include "rocksdb_options.h"
#include "statewatch/state/keyed_state_backend.h"

namespace sw = statewatch;

namespace {

constexpr int64_t kKeys = 200'000;  // more than the CPU caches hold, as in a real job
constexpr int kBlock = 256;

std::vector<int64_t> ShuffledKeys(uint64_t seed) {
  std::vector<int64_t> k(kKeys);
  for (int64_t i = 0; i < kKeys; ++i) k[i] = i * 7919;  // spread, not dense
  std::shuffle(k.begin(), k.end(), std::mt19937_64(seed));
  return k;
}
// The order in which keys are first written (fills).
const std::vector<int64_t>& Keys() {
  static const std::vector<int64_t> keys = ShuffledKeys(7);
  return keys;
}
// The order in which records arrive afterwards: another permutation. Reading in insertion order
// would let node-based maps (std::unordered_map allocates nodes in insertion order) stream
// through memory with the prefetcher, which no real job's key sequence does.
int64_t KeyAt(size_t i) {
  static const std::vector<int64_t> keys = ShuffledKeys(11);
  return keys[i % keys.size()];
}

void Check(const sw::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}
void Check(const rocksdb::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}

std::string BenchDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("statewatch-bench-" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

sw::BackendOptions Options(const std::string& backend, const std::string& name) {
  sw::BackendOptions o;
  o.backend = backend;
  o.rocksdb.local_directory = BenchDir(name);
  o.rocksdb.block_cache_bytes = 256u << 20;
  return o;
}

// Runs baseline(i) and engine(i) in alternating blocks over the same key indices.
template <typename Baseline, typename Engine>
void Paired(benchmark::State& state, Baseline&& baseline, Engine&& engine) {
  using Clock = std::chrono::steady_clock;
  double baseline_ns = 0, engine_ns = 0;
  size_t next = 0;
  int64_t ops = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (int k = 0; k < kBlock; ++k) baseline(next + k);
    const auto t1 = Clock::now();
    for (int k = 0; k < kBlock; ++k) engine(next + k);
    const auto t2 = Clock::now();
    baseline_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
    engine_ns += std::chrono::duration<double, std::nano>(t2 - t1).count();
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
    next += kBlock;
    ops += kBlock;
  }
  state.counters["baseline_ns"] = baseline_ns / static_cast<double>(ops);
  state.counters["engine_ns"] = engine_ns / static_cast<double>(ops);
  state.counters["ratio"] = engine_ns / baseline_ns;
}

// A raw RocksDB database opened with exactly the backend's options (rocksdb_options.h).
struct RawDb {
  explicit RawDb(const std::string& name, bool merge = false) {
    sw::RocksDbOptions o = Options("rocksdb", name).rocksdb;
    shared = sw::internal::MakeRocksDbShared(o);
    rocksdb::Options options = sw::internal::MakeRocksDbOptions(o, shared);
    if (merge) options.merge_operator = sw::internal::NewListAppendOperator();
    write = sw::internal::MakeRocksDbWriteOptions(o);
    rocksdb::DB* raw = nullptr;
    Check(rocksdb::DB::Open(options, o.local_directory, &raw));
    db.reset(raw);
  }
  // Writes every key, then flushes and compacts: reads come from SST files through the block
  // cache, as in a running job, not from a memtable.
  void Fill() {
    for (int64_t k : Keys())
      Check(db->Put(write, sw::SerializeToString(k), sw::SerializeToString(k)));
    Check(db->Flush(rocksdb::FlushOptions()));
    Check(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr));
  }
  // The raw key of `k` (its serialized bytes), in a reused buffer.
  const std::string& KeyOf(int64_t k) {
    key.clear();
    sw::Serializer<int64_t>::Serialize(k, &key);
    return key;
  }
  int64_t Get(int64_t k) {
    value.Reset();
    Check(db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(), KeyOf(k), &value));
    int64_t v = 0;
    if (!sw::Serializer<int64_t>::Deserialize(value.ToStringView(), &v)) std::abort();
    return v;
  }
  sw::internal::RocksDbShared shared;
  rocksdb::WriteOptions write;
  std::unique_ptr<rocksdb::DB> db;
  std::string key, element;
  rocksdb::PinnableSlice value;
};

// A RocksDB backend with a value, a map and a list state.
struct Engine {
  Engine(const std::string& backend, const std::string& name, bool ttl) {
    b = std::move(*sw::NewKeyedStateBackend(Options(backend, name)));
    const sw::TtlConfig c = ttl ? sw::TtlConfig::Of(std::chrono::hours(24)) : sw::TtlConfig();
    value = *b->GetValueState(sw::ValueStateDescriptor<int64_t>("v").EnableTimeToLive(c));
    map = *b->GetMapState(sw::MapStateDescriptor<int64_t, int64_t>("m").EnableTimeToLive(c));
    list = *b->GetListState(sw::ListStateDescriptor<int64_t>("l").EnableTimeToLive(c));
  }
  // Writes every key (value or map entry), then flushes and compacts like RawDb::Fill.
  void Fill(bool values, bool maps) {
    for (int64_t k : Keys()) {
      Check(b->SetCurrentKey(k));
      if (values) Check(value->Update(k));
      if (maps) Check(map->Put(k, k));
    }
    Check(b->Flush());
    if (values) Check(b->CompactState("v"));
    if (maps) Check(b->CompactState("m"));
  }
  int64_t GetUpdate(int64_t k) {
    Check(b->SetCurrentKey(k));
    const int64_t v = value->Value().value_or(0) + 1;
    Check(value->Update(v));
    return v;
  }
  int64_t Get(int64_t k) {
    Check(b->SetCurrentKey(k));
    auto v = value->Value();
    if (!v.ok()) std::abort();
    return *v;
  }
  std::unique_ptr<sw::KeyedStateBackend> b;
  sw::ValueState<int64_t>* value;
  sw::MapState<int64_t, int64_t>* map;
  sw::ListState<int64_t>* list;
};

// The same operation on two backends of one kind, TTL off (baseline) and on (engine).
template <typename Op>
void TtlOnVsOff(benchmark::State& state, const std::string& backend, bool fill, Op op) {
  Engine off(backend, backend + "-ttl-off", false), on(backend, backend + "-ttl-on", true);
  if (fill) {
    off.Fill(true, false);
    on.Fill(true, false);
  }
  Paired(
      state, [&](size_t i) { op(off, KeyAt(i)); }, [&](size_t i) { op(on, KeyAt(i)); });
}

// ---------------------------------------------------------------- heap
void BM_HeapValueGetUpdate_vs_UnorderedMap(benchmark::State& state) {
  std::unordered_map<int64_t, int64_t> map;
  Engine e("hashmap", "heap", false);
  for (int64_t k : Keys()) map[k] = 0;
  e.Fill(true, false);
  Paired(
      state,
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        auto it = map.find(k);
        const int64_t v = it == map.end() ? 0 : it->second;
        map[k] = v + 1;
      },
      [&](size_t i) { benchmark::DoNotOptimize(e.GetUpdate(KeyAt(i))); });
}
BENCHMARK(BM_HeapValueGetUpdate_vs_UnorderedMap)->UseManualTime();

void BM_HeapValueGetUpdate_Ttl_vs_NoTtl(benchmark::State& state) {
  TtlOnVsOff(state, "hashmap", /*fill=*/true,
             [](Engine& e, int64_t k) { benchmark::DoNotOptimize(e.GetUpdate(k)); });
}
BENCHMARK(BM_HeapValueGetUpdate_Ttl_vs_NoTtl)->UseManualTime();

void BM_HeapListAdd_vs_VectorPushBack(benchmark::State& state) {
  std::unordered_map<int64_t, std::vector<int64_t>> lists;
  Engine e("hashmap", "heap-list", false);
  size_t n = 0;
  Paired(
      state,
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        auto& l = lists[k];
        if (l.size() >= 64) l.clear();  // bound memory over long runs
        l.push_back(k);
      },
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        Check(e.b->SetCurrentKey(k));
        if (++n % (64 * kKeys) == 0) Check(e.list->Clear());
        Check(e.list->Add(k));
      });
}
BENCHMARK(BM_HeapListAdd_vs_VectorPushBack)->UseManualTime();

// ---------------------------------------------------------------- RocksDB
void BM_RocksValueGet_vs_RawGet(benchmark::State& state) {
  RawDb raw("raw-get");
  Engine e("rocksdb", "value-get", false);
  raw.Fill();
  e.Fill(true, false);
  Paired(
      state, [&](size_t i) { benchmark::DoNotOptimize(raw.Get(KeyAt(i))); },
      [&](size_t i) { benchmark::DoNotOptimize(e.Get(KeyAt(i))); });
}
BENCHMARK(BM_RocksValueGet_vs_RawGet)->UseManualTime();

void BM_RocksValueUpdate_vs_RawPut(benchmark::State& state) {
  RawDb raw("raw-put");
  Engine e("rocksdb", "value-put", false);
  std::string value;
  Paired(
      state,
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        value.clear();
        sw::Serializer<int64_t>::Serialize(k, &value);
        Check(raw.db->Put(raw.write, raw.KeyOf(k), value));
      },
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        Check(e.b->SetCurrentKey(k));
        Check(e.value->Update(k));
      });
}
BENCHMARK(BM_RocksValueUpdate_vs_RawPut)->UseManualTime();

void BM_RocksMapGet_vs_RawGet(benchmark::State& state) {
  RawDb raw("raw-get-map");
  Engine e("rocksdb", "map-get", false);
  raw.Fill();
  e.Fill(false, true);
  Paired(
      state, [&](size_t i) { benchmark::DoNotOptimize(raw.Get(KeyAt(i))); },
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        Check(e.b->SetCurrentKey(k));
        auto v = e.map->Get(k);
        if (!v.ok()) std::abort();
        benchmark::DoNotOptimize(*v);
      });
}
BENCHMARK(BM_RocksMapGet_vs_RawGet)->UseManualTime();

void BM_RocksValueGet_Ttl_vs_NoTtl(benchmark::State& state) {
  TtlOnVsOff(state, "rocksdb", /*fill=*/true,
             [](Engine& e, int64_t k) { benchmark::DoNotOptimize(e.Get(k)); });
}
BENCHMARK(BM_RocksValueGet_Ttl_vs_NoTtl)->UseManualTime();

void BM_RocksValueUpdate_Ttl_vs_NoTtl(benchmark::State& state) {
  TtlOnVsOff(state, "rocksdb", /*fill=*/false, [](Engine& e, int64_t k) {
    Check(e.b->SetCurrentKey(k));
    Check(e.value->Update(k));
  });
}
BENCHMARK(BM_RocksValueUpdate_Ttl_vs_NoTtl)->UseManualTime();

void BM_RocksListAdd_vs_RawMerge(benchmark::State& state) {
  RawDb raw("raw-merge", /*merge=*/true);
  Engine e("rocksdb", "list-add", false);
  Paired(
      state,
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        raw.element.assign(1, '\x08');  // the engine's element framing: varint length + bytes
        sw::Serializer<int64_t>::Serialize(k, &raw.element);
        Check(raw.db->Merge(raw.write, raw.KeyOf(k), raw.element));
      },
      [&](size_t i) {
        const int64_t k = KeyAt(i);
        Check(e.b->SetCurrentKey(k));
        Check(e.list->Add(k));
      });
}
BENCHMARK(BM_RocksListAdd_vs_RawMerge)->UseManualTime();

// ---------------------------------------------------------------- ratio table
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      const std::string name = r.run_name.function_name;
      // With repetitions the median stands for the benchmark; otherwise its single run.
      if (r.aggregate_name == "median" ||
          (r.run_type == Run::RT_Iteration && !median_.count(name))) {
        if (r.aggregate_name == "median") median_[name] = true;
        for (const char* c : {"baseline_ns", "engine_ns", "ratio"}) {
          auto it = r.counters.find(c);
          if (it != r.counters.end()) values_[name][c] = it->second.value;
        }
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void PrintTable() const {
    struct Row {
      const char* what;
      const char* bench;
      const char* baseline;
      double goal;
    };
    const Row rows[] = {
        {"heap ValueState get+update", "BM_HeapValueGetUpdate_vs_UnorderedMap",
         "std::unordered_map find+assign", 1.5},
        {"RocksDB ValueState get", "BM_RocksValueGet_vs_RawGet", "raw RocksDB Get", 1.2},
        {"RocksDB ValueState update", "BM_RocksValueUpdate_vs_RawPut", "raw RocksDB Put", 1.2},
        {"RocksDB MapState entry get", "BM_RocksMapGet_vs_RawGet", "raw RocksDB Get", 1.3},
        {"heap TTL on (get+update)", "BM_HeapValueGetUpdate_Ttl_vs_NoTtl", "heap TTL off", 1.1},
        {"RocksDB TTL on (get)", "BM_RocksValueGet_Ttl_vs_NoTtl", "RocksDB TTL off", 1.1},
        {"RocksDB TTL on (update)", "BM_RocksValueUpdate_Ttl_vs_NoTtl", "RocksDB TTL off", 1.1},
        {"heap ListState add", "BM_HeapListAdd_vs_VectorPushBack", "std::vector push_back", 0},
        {"RocksDB ListState add", "BM_RocksListAdd_vs_RawMerge", "raw RocksDB Merge", 0},
    };
    std::printf(
        "\n| operation | engine ops/s | baseline | baseline ops/s | ratio (time) | goal |\n");
    std::printf("|---|---:|---|---:|---:|---|\n");
    for (const Row& row : rows) {
      auto it = values_.find(row.bench);
      if (it == values_.end()) continue;
      const auto& v = it->second;
      char goal[48] = "—";
      if (row.goal > 0) {
        std::snprintf(goal, sizeof goal, "≤ %.2f× %s", row.goal,
                      v.at("ratio") <= row.goal ? "met" : "NOT met");
      }
      std::printf("| %s | %.0f | %s | %.0f | %.2f× | %s |\n", row.what, 1e9 / v.at("engine_ns"),
                  row.baseline, 1e9 / v.at("baseline_ns"), v.at("ratio"), goal);
    }
  }

 private:
  std::map<std::string, std::map<std::string, double>> values_;
  std::map<std::string, bool> median_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintTable();
  benchmark::Shutdown();
  return 0;
}
