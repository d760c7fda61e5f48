// count_per_key: the smallest keyed job — count events per key in a ValueState — on either
// backend. Usage: count_per_key [--backend hashmap|rocksdb] [--dir DIR] [--events N] [--keys K]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "statewatch/state/keyed_state_backend.h"

using namespace statewatch;

int main(int argc, char** argv) {
  CLI::App app{"Count events per key on the statewatch engine"};
  std::string backend_name = "hashmap";
  std::string dir = (std::filesystem::temp_directory_path() / "statewatch-count-per-key").string();
  int64_t events = 1'000'000;
  int keys = 10'000;
  app.add_option("--backend", backend_name, "hashmap or rocksdb");
  app.add_option("--dir", dir, "RocksDB working directory (emptied first)");
  app.add_option("--events", events, "events to process");
  app.add_option("--keys", keys, "distinct keys");
  CLI11_PARSE(app, argc, argv);

  BackendOptions options;
  options.backend = backend_name;
  options.rocksdb.local_directory = dir;
  if (backend_name == "rocksdb") std::filesystem::remove_all(dir);
  auto backend = NewKeyedStateBackend(options);
  if (!backend.ok()) {
    std::fprintf(stderr, "count_per_key: %s\n", backend.status().ToString().c_str());
    return 1;
  }
  auto count = (*backend)->GetValueState(ValueStateDescriptor<int64_t>("count"));
  if (!count.ok()) {
    std::fprintf(stderr, "count_per_key: %s\n", count.status().ToString().c_str());
    return 1;
  }

  // Zipf-ish keys: a few hot keys, a long tail, as real event streams have.
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t i = 0; i < events; ++i) {
    const auto k = static_cast<int64_t>(std::pow(u(rng), 3) * keys);
    Status s = (*backend)->SetCurrentKey("key-" + std::to_string(k));
    if (s.ok()) s = (*count)->Update((*count)->Value().value_or(0) + 1);
    if (!s.ok()) {
      std::fprintf(stderr, "count_per_key: event %lld: %s\n", static_cast<long long>(i),
                   s.ToString().c_str());
      return 1;
    }
  }

  std::vector<std::pair<int64_t, std::string>> top;
  for (int k = 0; k < keys; ++k) {
    const std::string key = "key-" + std::to_string(k);
    if (!(*backend)->SetCurrentKey(key).ok()) continue;
    auto v = (*count)->Value();
    if (v.ok()) top.emplace_back(*v, key);
  }
  std::sort(top.rbegin(), top.rend());
  std::printf("%lld events over %zu keys on %s; top keys:\n", static_cast<long long>(events),
              top.size(), backend_name.c_str());
  for (size_t i = 0; i < std::min<size_t>(5, top.size()); ++i) {
    std::printf("  %-10s %lld\n", top[i].second.c_str(), static_cast<long long>(top[i].first));
  }
  auto stats = (*backend)->CollectStats();
  if (stats.ok()) {
    for (const auto& s : stats->states) {
      std::printf("state %s: %llu keys, ~%llu bytes\n", s.name.c_str(),
                  static_cast<unsigned long long>(s.keys),
                  static_cast<unsigned long long>(s.approx_bytes));
    }
  }
  return 0;
}
