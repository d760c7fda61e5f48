// The agent's resident memory with 10 000 series and a day of 1-minute history each (DESIGN.md
// "Targets": < 50 MB), and what a start costs at that size.
//
// Setup (not timed): samples.db is filled through the agent's own SampleStore with 10 000
// statewatch_state_keys series × 1 440 samples (a tenth of them leak, the rest are flat with
// noise). Then, timed: Agent::Create — it opens the stores and replays the history of the
// longest rule window into the built-in rules' windows, as every start and reload does — and
// one Evaluate() cycle at the end of the day. alerts.db is removed before each run, so the
// start restores no alert and the evaluation takes ~2 000 alerts to pending (two missing-TTL /
// trend rules × 1 000 leaking series: an extreme day). Counters:
//   rss_after_create_bytes           VmRSS after the start: the steady state of a daemon
//                                    watching 10 000 healthy series
//   rss_bytes                        VmRSS after the evaluation with its ~2 000 new alerts
//   rss_added_bytes                  what Create + Evaluate added to the resident set
//   heap_in_use_after_create_bytes,  malloc'd bytes in use (mallinfo2) at those two points
//   heap_in_use_bytes
//   create_s                         Agent::Create (replay of 14.4 M samples from SQLite)
//   evaluate_ms                      one evaluation of the 8 built-in rules (and the alert log
//                                    and active-alert writes for the new alerts)
//   alerts                           pending + firing alerts after it
//
// Run: build/bench/agent_bench   (the first run fills $TMPDIR/statewatch-agent-bench: ~9 min on
// the project's 2-core VM; later runs reuse it)
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "statewatch/agent/agent.h"
#include "statewatch/storage/sample_store.h"

namespace sw = statewatch;

namespace {

constexpr int kSeries = 10'000;
constexpr int kMinutes = 1'440;
constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

void Check(const sw::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "agent_bench: %s\n", s.ToString().c_str());
    std::abort();
  }
}

// Resident set size of this process in bytes (/proc/self/status VmRSS).
double RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      in >> kib;
      return kib * 1024;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

std::filesystem::path Dir() {
  return std::filesystem::temp_directory_path() / "statewatch-agent-bench";
}

// samples.db with the day of history, written through the agent's store — in a child process,
// so the measured process starts clean (no page cache or heap left over from the setup). Kept
// between runs (the marker file says it is complete): writing it takes minutes.
void FillHistoryInChild();
void FillHistory() {
  const auto dir = Dir();
  const auto marker = dir / "filled-10000x1440";
  if (std::filesystem::exists(marker)) return;
  const pid_t pid = ::fork();
  if (pid == 0) {
    FillHistoryInChild();
    std::ofstream(marker) << "complete\n";
    ::_exit(0);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "agent_bench: filling the history failed\n");
    std::abort();
  }
}

void FillHistoryInChild() {
  const auto dir = Dir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "data");
  std::ofstream(dir / "statewatch.yaml") << "# no sources: the history is already stored\n";
  auto store = sw::storage::SampleStore::Open((dir / "data" / "samples.db").string());
  Check(store.status());
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 50);
  std::vector<sw::rules::Sample> scrape(kSeries);
  for (int i = 0; i < kSeries; ++i) {
    scrape[i].series = "statewatch_state_keys";
    scrape[i].labels = {{"job", "bench"}, {"source", "engine"}, {"state", "s" + std::to_string(i)}};
  }
  for (int m = 0; m < kMinutes; ++m) {
    for (int i = 0; i < kSeries; ++i) {
      const double leak = i % 10 == 0 ? 20.0 * m : 0.0;
      scrape[i].t_millis = kStart + int64_t{m} * 60'000;
      scrape[i].value = 1e5 + leak + noise(rng);
    }
    Check((*store)->Append(scrape));
  }
}

void BM_AgentStartAndEvaluate_10kSeriesX1440(benchmark::State& state) {
  static const bool filled = (FillHistory(), true);
  (void)filled;
  for (auto _ : state) {
    sw::ManualClock clock(kStart + int64_t{kMinutes} * 60'000);
    sw::agent::AgentOptions options;
    options.config_file = (Dir() / "statewatch.yaml").string();
    options.storage_path = (Dir() / "data").string();
    options.clock = &clock;
    // Every run starts without alerts (the history is kept, the alert state is not).
    for (const char* f : {"alerts.db", "alerts.db-wal", "alerts.db-shm"}) {
      std::filesystem::remove(Dir() / "data" / f);
    }
    spdlog::set_level(spdlog::level::warn);  // 2 000 'pending' lines are not the subject
    const double rss_before = RssBytes();
    const auto t0 = std::chrono::steady_clock::now();
    auto agent = sw::agent::Agent::Create(options);
    Check(agent.status());
    const auto t1 = std::chrono::steady_clock::now();
    state.counters["rss_after_create_bytes"] = RssBytes();
    state.counters["heap_in_use_after_create_bytes"] = static_cast<double>(mallinfo2().uordblks);
    auto transitions = (*agent)->Evaluate();
    Check(transitions.status());
    const auto t2 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
    state.counters["rss_bytes"] = RssBytes();
    state.counters["heap_in_use_bytes"] = static_cast<double>(mallinfo2().uordblks);
    state.counters["rss_added_bytes"] = RssBytes() - rss_before;
    state.counters["create_s"] = std::chrono::duration<double>(t1 - t0).count();
    state.counters["evaluate_ms"] = std::chrono::duration<double, std::milli>(t2 - t1).count();
    state.counters["alerts"] = static_cast<double>((*agent)->Alerts().size());
  }
}
BENCHMARK(BM_AgentStartAndEvaluate_10kSeriesX1440)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
