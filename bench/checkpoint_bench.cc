// Heap snapshot and restore speed (issue #4), each beside its baseline in the same run:
//   snapshot  WriteKeyedSnapshot of a heap backend (N ValueState<string> entries of 100 bytes)
//             vs a plain sequential writer putting the same number of bytes into a file with
//             the same 1 MiB buffer and one fsync — the floor for any snapshot format.
//   restore   RestoreFromSnapshots + registering the state (the entries are stored then), for
//             N, 2N and 4N entries: restore time should grow linearly with the state.
// Counters: MB_per_s (snapshot side), baseline_MB_per_s, ratio = snapshot time / baseline time;
// restore: entries_per_s, ns_per_entry.
//
// Run: build/bench/checkpoint_bench [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "statewatch/state/keyed_snapshot.h"
#include "statewatch/state/keyed_state_backend.h"

namespace sw = statewatch;

namespace {

const sw::ValueStateDescriptor<std::string> kDesc("payload");

void Check(const sw::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "checkpoint_bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}

std::filesystem::path Dir() {
  const auto d = std::filesystem::temp_directory_path() / "statewatch-checkpoint-bench";
  std::filesystem::create_directories(d);
  return d;
}

std::unique_ptr<sw::KeyedStateBackend> HeapWith(int64_t entries) {
  sw::BackendOptions o;
  auto b = sw::NewKeyedStateBackend(o);
  Check(b.status());
  auto* s = *(*b)->GetValueState(kDesc);
  const std::string value(100, 'v');
  for (int64_t k = 0; k < entries; ++k) {
    Check((*b)->SetCurrentKey(k));
    Check(s->Update(value));
  }
  return std::move(*b);
}

// Writes `bytes` bytes in 1 MiB writes and fsyncs: a sequential writer with nothing to encode.
double PlainWriteSeconds(uint64_t bytes) {
  const std::string path = (Dir() / "plain").string();
  const auto start = std::chrono::steady_clock::now();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string buf(1 << 20, 'x');
  for (uint64_t left = bytes; left > 0;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    if (::write(fd, buf.data(), n) != static_cast<ssize_t>(n)) std::abort();
    left -= n;
  }
  ::fsync(fd);
  ::close(fd);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void BM_HeapSnapshot_vs_PlainWriter(benchmark::State& state) {
  auto backend = HeapWith(state.range(0));
  const std::string path = (Dir() / "snapshot").string();
  double snap_s = 0, plain_s = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto info = sw::WriteKeyedSnapshot(*backend, path);
    Check(info.status());
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bytes = info->file_bytes;
    const double p = PlainWriteSeconds(bytes);
    snap_s += s;
    plain_s += p;
    state.SetIterationTime(s);
  }
  const double mb = static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e6;
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["MB_per_s"] = mb / snap_s;
  state.counters["baseline_MB_per_s"] = mb / plain_s;
  state.counters["ratio"] = snap_s / plain_s;
}
BENCHMARK(BM_HeapSnapshot_vs_PlainWriter)
    ->Arg(500'000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_HeapRestore(benchmark::State& state) {
  const int64_t entries = state.range(0);
  const std::string path = (Dir() / ("restore-" + std::to_string(entries))).string();
  {
    auto source = HeapWith(entries);
    Check(sw::WriteKeyedSnapshot(*source, path).status());
  }
  double total_s = 0;
  for (auto _ : state) {
    sw::BackendOptions o;
    auto b = sw::NewKeyedStateBackend(o);
    Check(b.status());
    const auto start = std::chrono::steady_clock::now();
    Check((*b)->RestoreFromSnapshots({path}));
    Check((*b)->GetValueState(kDesc).status());
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total_s += s;
    state.SetIterationTime(s);
  }
  const double restored = static_cast<double>(entries) * static_cast<double>(state.iterations());
  state.counters["entries_per_s"] = restored / total_s;
  state.counters["ns_per_entry"] = total_s * 1e9 / restored;
}
BENCHMARK(BM_HeapRestore)
    ->Arg(125'000)
    ->Arg(250'000)
    ->Arg(500'000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
