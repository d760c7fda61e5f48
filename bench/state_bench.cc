// Engine benchmarks against baselines measured in the same run:
//   heap ValueState get+update        vs std::unordered_map find + assign      (goal ≤ 1.5×)
//   RocksDB ValueState get / update   vs raw RocksDB Get / Put, same options  (goal ≤ 1.2×)
//   RocksDB MapState entry get        vs raw RocksDB Get                       (goal ≤ 1.3×)
//   TTL on                            vs TTL off, both backends                (goal ≤ 1.10×)
//   ListState add                     vs raw RocksDB Merge / std::vector push_back
// After the usual Google Benchmark output, prints a Markdown table of ratios (bench/README.md).
//
// Run: build/bench/state_bench [--benchmark_min_time=1] [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

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

constexpr int64_t kKeys = 200'000;  // > L2: lookups miss the CPU cache, as in a real job

std::vector<int64_t> ShuffledKeys() {
  std::vector<int64_t> keys(kKeys);
  for (int64_t i = 0; i < kKeys; ++i) keys[i] = i * 7919;  // spread, not dense
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(7));
  return keys;
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

void Check(const sw::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}

// ---------------------------------------------------------------- heap: get + update
void BM_UnorderedMap_GetUpdate(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  std::unordered_map<int64_t, int64_t> map;
  for (int64_t k : keys) map[k] = 0;
  size_t i = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    auto it = map.find(k);
    const int64_t v = it == map.end() ? 0 : it->second;
    map[k] = v + 1;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UnorderedMap_GetUpdate);

void HeapValueGetUpdate(benchmark::State& state, bool ttl) {
  const auto keys = ShuffledKeys();
  auto backend = std::move(*sw::NewKeyedStateBackend(Options("hashmap", "heap")));
  sw::ValueStateDescriptor<int64_t> d("count");
  if (ttl) d.EnableTimeToLive(sw::TtlConfig::Of(std::chrono::hours(24)));
  auto* count = *backend->GetValueState(d);
  for (int64_t k : keys) {
    Check(backend->SetCurrentKey(k));
    Check(count->Update(0));
  }
  size_t i = 0;
  for (auto _ : state) {
    Check(backend->SetCurrentKey(keys[i++ % keys.size()]));
    Check(count->Update(count->Value().value_or(0) + 1));
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_HeapValueState_GetUpdate(benchmark::State& s) {
  HeapValueGetUpdate(s, false);
}
void BM_HeapValueState_GetUpdate_Ttl(benchmark::State& s) {
  HeapValueGetUpdate(s, true);
}
BENCHMARK(BM_HeapValueState_GetUpdate);
BENCHMARK(BM_HeapValueState_GetUpdate_Ttl);

void BM_Vector_PushBack(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  std::unordered_map<int64_t, std::vector<int64_t>> lists;
  size_t i = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    auto& l = lists[k];
    if (l.size() > 64) l.clear();  // bound memory over long runs
    l.push_back(k);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Vector_PushBack);

void BM_HeapListState_Add(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  auto backend = std::move(*sw::NewKeyedStateBackend(Options("hashmap", "heap-list")));
  auto* list = *backend->GetListState(sw::ListStateDescriptor<int64_t>("l"));
  size_t i = 0, n = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    Check(backend->SetCurrentKey(k));
    if (++n % (64 * kKeys) == 0) Check(list->Clear());
    Check(list->Add(k));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HeapListState_Add);

// ---------------------------------------------------------------- RocksDB
// A raw database opened with exactly the backend's options (rocksdb_options.h).
struct RawDb {
  explicit RawDb(const std::string& name, bool merge = false) {
    sw::RocksDbOptions o = Options("rocksdb", name).rocksdb;
    shared = sw::internal::MakeRocksDbShared(o);
    rocksdb::Options options = sw::internal::MakeRocksDbOptions(o, shared);
    if (merge) options.merge_operator = sw::internal::NewListAppendOperator();
    write = sw::internal::MakeRocksDbWriteOptions(o);
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, o.local_directory, &raw);
    if (!s.ok()) {
      std::fprintf(stderr, "bench: %s\n", s.ToString().c_str());
      std::abort();
    }
    db.reset(raw);
  }
  sw::internal::RocksDbShared shared;
  rocksdb::WriteOptions write;
  std::unique_ptr<rocksdb::DB> db;
};

std::string RawKey(int64_t k) {
  return sw::SerializeToString(k);
}

void BM_RawRocksDb_Get(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  RawDb raw("raw-get");
  for (int64_t k : keys) raw.db->Put(raw.write, RawKey(k), sw::SerializeToString(k));
  rocksdb::PinnableSlice value;
  std::string key;
  size_t i = 0;
  for (auto _ : state) {
    key.clear();
    sw::Serializer<int64_t>::Serialize(keys[i++ % keys.size()], &key);
    value.Reset();
    rocksdb::Status s =
        raw.db->Get(rocksdb::ReadOptions(), raw.db->DefaultColumnFamily(), key, &value);
    int64_t v = 0;
    if (!s.ok() || !sw::Serializer<int64_t>::Deserialize(value.ToStringView(), &v)) std::abort();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawRocksDb_Get);

void BM_RawRocksDb_Put(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  RawDb raw("raw-put");
  std::string key, value;
  size_t i = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    key.clear();
    sw::Serializer<int64_t>::Serialize(k, &key);
    value.clear();
    sw::Serializer<int64_t>::Serialize(k, &value);
    if (!raw.db->Put(raw.write, key, value).ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawRocksDb_Put);

void BM_RawRocksDb_Merge(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  RawDb raw("raw-merge", /*merge=*/true);
  std::string key, element;
  size_t i = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    key.clear();
    sw::Serializer<int64_t>::Serialize(k, &key);
    element.clear();
    element.push_back(8);  // the list element framing the engine uses: varint length + bytes
    sw::Serializer<int64_t>::Serialize(k, &element);
    if (!raw.db->Merge(raw.write, key, element).ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawRocksDb_Merge);

struct RocksFixture {
  RocksFixture(const std::string& name, bool ttl) {
    backend = std::move(*sw::NewKeyedStateBackend(Options("rocksdb", name)));
    sw::TtlConfig config = ttl ? sw::TtlConfig::Of(std::chrono::hours(24)) : sw::TtlConfig();
    value =
        *backend->GetValueState(sw::ValueStateDescriptor<int64_t>("v").EnableTimeToLive(config));
    map = *backend->GetMapState(
        sw::MapStateDescriptor<int64_t, int64_t>("m").EnableTimeToLive(config));
    list = *backend->GetListState(sw::ListStateDescriptor<int64_t>("l").EnableTimeToLive(config));
  }
  void Fill(const std::vector<int64_t>& keys, bool values, bool maps) {
    for (int64_t k : keys) {
      Check(backend->SetCurrentKey(k));
      if (values) Check(value->Update(k));
      if (maps) Check(map->Put(k, k));
    }
  }
  std::unique_ptr<sw::KeyedStateBackend> backend;
  sw::ValueState<int64_t>* value;
  sw::MapState<int64_t, int64_t>* map;
  sw::ListState<int64_t>* list;
};

void RocksValueGet(benchmark::State& state, bool ttl) {
  const auto keys = ShuffledKeys();
  RocksFixture f(ttl ? "value-get-ttl" : "value-get", ttl);
  f.Fill(keys, true, false);
  size_t i = 0;
  for (auto _ : state) {
    Check(f.backend->SetCurrentKey(keys[i++ % keys.size()]));
    auto v = f.value->Value();
    if (!v.ok()) std::abort();
    benchmark::DoNotOptimize(*v);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_RocksValueState_Get(benchmark::State& s) {
  RocksValueGet(s, false);
}
void BM_RocksValueState_Get_Ttl(benchmark::State& s) {
  RocksValueGet(s, true);
}
BENCHMARK(BM_RocksValueState_Get);
BENCHMARK(BM_RocksValueState_Get_Ttl);

void RocksValueUpdate(benchmark::State& state, bool ttl) {
  const auto keys = ShuffledKeys();
  RocksFixture f(ttl ? "value-put-ttl" : "value-put", ttl);
  size_t i = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    Check(f.backend->SetCurrentKey(k));
    Check(f.value->Update(k));
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_RocksValueState_Update(benchmark::State& s) {
  RocksValueUpdate(s, false);
}
void BM_RocksValueState_Update_Ttl(benchmark::State& s) {
  RocksValueUpdate(s, true);
}
BENCHMARK(BM_RocksValueState_Update);
BENCHMARK(BM_RocksValueState_Update_Ttl);

void BM_RocksMapState_Get(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  RocksFixture f("map-get", false);
  f.Fill(keys, false, true);
  size_t i = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    Check(f.backend->SetCurrentKey(k));
    auto v = f.map->Get(k);
    if (!v.ok()) std::abort();
    benchmark::DoNotOptimize(*v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RocksMapState_Get);

void BM_RocksListState_Add(benchmark::State& state) {
  const auto keys = ShuffledKeys();
  RocksFixture f("list-add", false);
  size_t i = 0;
  for (auto _ : state) {
    const int64_t k = keys[i++ % keys.size()];
    Check(f.backend->SetCurrentKey(k));
    Check(f.list->Add(k));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RocksListState_Add);

// ---------------------------------------------------------------- ratio table
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration || r.aggregate_name == "median") {
        // With repetitions, the median wins; otherwise the single run.
        const std::string name = r.run_name.function_name;
        if (r.aggregate_name == "median" || !medians_.count(name)) {
          ns_per_op_[name] = r.GetAdjustedRealTime();
          if (r.aggregate_name == "median") medians_[name] = true;
        }
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void PrintTable() const {
    struct Row {
      const char* what;
      const char* engine;
      const char* baseline;
      double goal;
    };
    const Row rows[] = {
        {"heap ValueState get+update", "BM_HeapValueState_GetUpdate", "BM_UnorderedMap_GetUpdate",
         1.5},
        {"RocksDB ValueState get", "BM_RocksValueState_Get", "BM_RawRocksDb_Get", 1.2},
        {"RocksDB ValueState update", "BM_RocksValueState_Update", "BM_RawRocksDb_Put", 1.2},
        {"RocksDB MapState entry get", "BM_RocksMapState_Get", "BM_RawRocksDb_Get", 1.3},
        {"heap TTL on vs off (get+update)", "BM_HeapValueState_GetUpdate_Ttl",
         "BM_HeapValueState_GetUpdate", 1.1},
        {"RocksDB TTL on vs off (get)", "BM_RocksValueState_Get_Ttl", "BM_RocksValueState_Get",
         1.1},
        {"RocksDB TTL on vs off (update)", "BM_RocksValueState_Update_Ttl",
         "BM_RocksValueState_Update", 1.1},
        {"heap ListState add", "BM_HeapListState_Add", "BM_Vector_PushBack", 0},
        {"RocksDB ListState add", "BM_RocksListState_Add", "BM_RawRocksDb_Merge", 0},
    };
    std::printf("\n| operation | engine ops/s | baseline ops/s | ratio (time) | goal |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    for (const Row& row : rows) {
      auto e = ns_per_op_.find(row.engine), b = ns_per_op_.find(row.baseline);
      if (e == ns_per_op_.end() || b == ns_per_op_.end()) continue;
      const double ratio = e->second / b->second;
      char goal[32] = "—";
      if (row.goal > 0)
        std::snprintf(goal, sizeof goal, "≤ %.2f× %s", row.goal, ratio <= row.goal ? "✓" : "✗");
      std::printf("| %s | %.0f | %.0f | %.2f× | %s |\n", row.what, 1e9 / e->second, 1e9 / b->second,
                  ratio, goal);
    }
  }

 private:
  std::map<std::string, double> ns_per_op_;
  std::map<std::string, bool> medians_;
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
