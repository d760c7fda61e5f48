// `statewatch backtest` benchmark (issue #8; DESIGN.md "Targets": replay ≥ 5 M samples/s).
//
// Replay: 10 000 statewatch_state_keys series × 30 days at 1-minute resolution (432 M samples)
// through BacktestReplay — the code Backtest() runs after reading and sorting — with the
// built-in rules (three of them read statewatch_state_keys), rows generated in time order on the
// fly (a 432 M-row CSV would be ~35 GB). The fleet mixes the shapes rules_bench uses: noisy
// plateaus, daily cycles, compaction sawtooth, and --leak_percent of the series leaking (these
// fire StateGrowingWithoutBound and StateWithoutTtlGrowing after a day and stay firing, so each
// evaluation also updates their alerts and expands their annotations). One run per schedule:
//   BM_Replay/step_min:0     evaluate at every distinct timestamp (every minute: 43 200 times)
//   BM_Replay/step_min:N     --step Nm
//   BM_Replay/ingest_only    one evaluation at the end: what Observe() costs alone
// Counters: samples_per_s, evaluations, eval_ms (mean cost of one evaluation, from the
// difference to ingest_only), generate_s (making the values; included in the time).
//
// CSV: a file of --csv_series × --csv_minutes rows in the order `statewatch export` writes
// (grouped by series, so everything must be sorted) is written once to $TMPDIR; then
//   BM_Csv/parse_sort     Backtest() with no rules: read, parse, sort, dispatch
//   BM_Csv/spill          the same with chunk_rows = 262 144: sorted runs on disk + merge
//   BM_Csv/default_rules  the whole backtest with the built-in rules, evaluating every minute
// Counters: rows_per_s, mb_per_s, peak_rss_bytes (VmHWM, reset before each run), runs.
//
// After Google Benchmark's output the program prints the table kept in bench/README.md,
// including the projection for the 432 M samples from a CSV (parse rate and replay rate
// combined).
//
// Run: build/bench/backtest_bench [--days=30] [--series=10000] [--leak_percent=1]
//        [--steps=0,5,60] [--csv_series=10000] [--csv_minutes=200]
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "statewatch/agent/backtest.h"
#include "statewatch/agent/export.h"
#include "statewatch/rules/rule.h"

namespace sw = statewatch;

namespace {

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;

struct Flags {
  int days = 30;
  int series = 10'000;
  int leak_percent = 1;
  std::vector<int> steps = {0, 5, 60};
  int csv_series = 10'000;
  int csv_minutes = 200;
};
Flags g_flags;

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name, int* out) {
      const std::string prefix = std::string("--") + name + "=";
      if (arg.rfind(prefix, 0) != 0) return false;
      *out = std::atoi(arg.c_str() + prefix.size());
      return true;
    };
    if (arg.rfind("--steps=", 0) == 0) {
      f.steps.clear();
      std::stringstream list(arg.substr(8));
      for (std::string item; std::getline(list, item, ',');) f.steps.push_back(std::stoi(item));
      continue;
    }
    if (!value("days", &f.days) && !value("series", &f.series) &&
        !value("leak_percent", &f.leak_percent) && !value("csv_series", &f.csv_series) &&
        !value("csv_minutes", &f.csv_minutes)) {
      std::fprintf(stderr,
                   "usage: %s [--days=N] [--series=N] [--leak_percent=P] [--steps=0,5,60] "
                   "[--csv_series=N] [--csv_minutes=N] [benchmark flags]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  return f;
}

size_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// CPU time of this thread: on a shared machine the wall time also counts the neighbours.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void ResetPeakRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

// The fleet: series names and a cheap value per (series, minute) — table lookups, so that
// generating 432 M values costs a second or two, not the replay's time.
class Fleet {
 public:
  Fleet(int series, int leak_percent) : series_(series), leak_percent_(leak_percent) {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal(0, 1);
    for (double& n : noise_) n = normal(rng);
    for (int m = 0; m < 1440; ++m) sine_[m] = std::sin(2 * std::numbers::pi * m / 1440.0);
  }

  std::vector<sw::rules::Sample> Names() const {
    std::vector<sw::rules::Sample> names(series_);
    for (int s = 0; s < series_; ++s) {
      char state[32];
      std::snprintf(state, sizeof state, "state-%05d", s);
      names[s].series = "statewatch_state_keys";
      names[s].labels = {{"job", "bench"}, {"source", "engine"}, {"state", state}};
    }
    return names;
  }

  double Value(int s, int64_t m) const {
    const double base = 1e4 * (1 + s % 97);
    const double n = noise_[static_cast<size_t>(s * 7919 + m) & 4095];
    if (s % 100 < leak_percent_) return base + 25.0 * static_cast<double>(m) + 50 * n;
    switch (s % 3) {
      case 0:  // noisy plateau
        return base * (1 + 0.02 * n);
      case 1:  // daily cycle
        return base * (1 + 0.2 * sine_[static_cast<size_t>(m + 37 * s) % 1440]);
      default:  // compaction sawtooth
        return base * (1 + 0.5 * static_cast<double>((m + s) % 180) / 180.0);
    }
  }

  int series() const { return series_; }

 private:
  int series_;
  int leak_percent_;
  double noise_[4096];
  double sine_[1440];
};

// Results for the table.
struct ReplayFigures {
  double seconds = 0;
  double cpu_seconds = 0;
  double samples = 0;
  double evaluations = 0;
  size_t alerts = 0;
};
std::map<std::string, ReplayFigures> g_replay;
struct CsvFigures {
  double seconds = 0;
  double cpu_seconds = 0;
  double rows = 0;
  double bytes = 0;
  size_t peak_rss = 0;
  size_t runs = 0;
};
std::map<std::string, CsvFigures> g_csv;
double g_generate_seconds = 0;

// step_minutes: 0 = every distinct timestamp; < 0 = one evaluation at the end (ingest only).
void BM_Replay(benchmark::State& state, int step_minutes) {
  using Clock = std::chrono::steady_clock;
  const Fleet fleet(g_flags.series, g_flags.leak_percent);
  const int64_t minutes = int64_t{g_flags.days} * 1440;
  const auto step = step_minutes < 0 ? std::chrono::milliseconds((minutes + 1) * kMinute)
                                     : std::chrono::milliseconds(int64_t{step_minutes} * kMinute);
  if (g_generate_seconds == 0) {
    const auto t0 = Clock::now();
    double sum = 0;
    for (int64_t m = 0; m < minutes; ++m) {
      for (int s = 0; s < fleet.series(); ++s) sum += fleet.Value(s, m);
    }
    benchmark::DoNotOptimize(sum);
    g_generate_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  ReplayFigures figures;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const double cpu0 = ThreadCpuSeconds();
    sw::agent::BacktestReplay replay(sw::rules::DefaultRules(), fleet.Names(), step);
    for (int64_t m = 0; m < minutes; ++m) {
      const int64_t t = kT0 + m * kMinute;
      for (int s = 0; s < fleet.series(); ++s) {
        replay.Add(static_cast<uint32_t>(s), t, fleet.Value(s, m));
      }
    }
    sw::agent::BacktestResult result = replay.Finish();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(seconds);
    figures = {seconds, ThreadCpuSeconds() - cpu0, static_cast<double>(result.samples),
               static_cast<double>(result.evaluations), result.alerts.size()};
  }
  state.counters["samples_per_s"] = figures.samples / figures.seconds;
  state.counters["samples_per_cpu_s"] = figures.samples / figures.cpu_seconds;
  state.counters["samples"] = figures.samples;
  state.counters["evaluations"] = figures.evaluations;
  state.counters["alerts"] = static_cast<double>(figures.alerts);
  state.counters["generate_s"] = g_generate_seconds;
  const std::string name = step_minutes < 0 ? "ingest_only" : std::to_string(step_minutes);
  g_replay[name] = figures;
  if (step_minutes >= 0 && g_replay.count("ingest_only")) {
    const ReplayFigures& ingest = g_replay.at("ingest_only");
    state.counters["eval_cpu_ms"] =
        1e3 * (figures.cpu_seconds - ingest.cpu_seconds) / std::max(1.0, figures.evaluations - 1);
  }
}

std::string CsvPath() {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/statewatch-backtest-" +
         std::to_string(g_flags.csv_series) + "x" + std::to_string(g_flags.csv_minutes) + ".csv";
}

// Written once (reused by later runs): grouped by series, as `statewatch export` writes.
void EnsureCsv() {
  const std::string path = CsvPath();
  if (std::filesystem::exists(path)) return;
  const Fleet fleet(g_flags.csv_series, g_flags.leak_percent);
  const std::vector<sw::rules::Sample> names = fleet.Names();
  std::ofstream out(path + ".tmp", std::ios::binary);
  std::string buffer = "timestamp,series,value\n";
  for (int s = 0; s < fleet.series(); ++s) {
    const std::string series =
        sw::agent::CsvField("statewatch_state_keys{job=\"bench\",source=\"engine\",state=\"" +
                            names[s].labels[2].second + "\"}");
    for (int m = 0; m < g_flags.csv_minutes; ++m) {
      buffer += sw::agent::CsvTimestamp(kT0 + m * kMinute);
      buffer += ',';
      buffer += series;
      buffer += ',';
      buffer += sw::agent::CsvValue(std::round(fleet.Value(s, m)));
      buffer += '\n';
    }
    if (buffer.size() > (1 << 20)) {
      out << buffer;
      buffer.clear();
    }
  }
  out << buffer;
  out.close();
  std::filesystem::rename(path + ".tmp", path);
}

void BM_Csv(benchmark::State& state, const std::string& variant) {
  using Clock = std::chrono::steady_clock;
  EnsureCsv();
  const std::string path = CsvPath();
  CsvFigures figures;
  figures.bytes = static_cast<double>(std::filesystem::file_size(path));
  for (auto _ : state) {
    sw::agent::BacktestSettings settings;
    if (variant == "spill") settings.chunk_rows = 262'144;
    std::vector<sw::rules::RuleSpec> rules;
    if (variant == "default_rules") rules = sw::rules::DefaultRules();
    ResetPeakRss();
    const auto t0 = Clock::now();
    const double cpu0 = ThreadCpuSeconds();
    sw::Result<sw::agent::BacktestResult> r = sw::agent::Backtest(rules, path, settings);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(seconds);
    figures.seconds = seconds;
    figures.cpu_seconds = ThreadCpuSeconds() - cpu0;
    figures.rows = static_cast<double>(r->samples);
    figures.peak_rss = PeakRssBytes();
    figures.runs = r->sorted_runs;
  }
  state.counters["rows_per_s"] = figures.rows / figures.seconds;
  state.counters["rows_per_cpu_s"] = figures.rows / figures.cpu_seconds;
  state.counters["mb_per_s"] = figures.bytes / 1e6 / figures.seconds;
  state.counters["peak_rss_bytes"] = static_cast<double>(figures.peak_rss);
  state.counters["runs"] = static_cast<double>(figures.runs);
  g_csv[variant] = figures;
}

void PrintTable() {
  const double target = 5e6;
  std::printf("\n| measure | wall | CPU | rate (CPU) | vs target (≥ 5 M samples/s) | notes |\n");
  std::printf("|---|---:|---:|---:|---:|---|\n");
  const ReplayFigures* ingest =
      g_replay.count("ingest_only") ? &g_replay.at("ingest_only") : nullptr;
  for (const auto& [name, f] : g_replay) {
    const double rate = f.samples / f.cpu_seconds;
    std::string what = name == "ingest_only" ? "replay, one evaluation at the end (ingest)"
                       : name == "0"         ? "replay, evaluating every minute (each timestamp)"
                                             : "replay, --step " + name + "m";
    char notes[200] = "";
    if (name != "ingest_only" && ingest != nullptr) {
      std::snprintf(
          notes, sizeof notes, "%.0f evaluations at %.2f ms CPU each; %zu alerts", f.evaluations,
          1e3 * (f.cpu_seconds - ingest->cpu_seconds) / std::max(1.0, f.evaluations - 1), f.alerts);
    } else {
      std::snprintf(notes, sizeof notes, "%.0f ns CPU per sample", 1e9 * f.cpu_seconds / f.samples);
    }
    std::printf("| %s, %.0f M samples | %.1f s | %.1f s | %.2f M samples/s | %.2f× | %s |\n",
                what.c_str(), f.samples / 1e6, f.seconds, f.cpu_seconds, rate / 1e6, rate / target,
                notes);
  }
  for (const auto& [name, f] : g_csv) {
    const double rate = f.rows / f.cpu_seconds;
    std::printf(
        "| CSV %s, %.1f M rows (%.0f MB) | %.2f s | %.2f s | %.2f M rows/s (%.0f MB/s) | %.2f× | "
        "peak RSS %.0f MiB, %zu sorted runs |\n",
        name.c_str(), f.rows / 1e6, f.bytes / 1e6, f.seconds, f.cpu_seconds, rate / 1e6,
        f.bytes / 1e6 / f.cpu_seconds, rate / target, static_cast<double>(f.peak_rss) / (1 << 20),
        f.runs);
  }
  // The whole thing from a CSV: read + sort at the parse rate, then the replay.
  if (g_csv.count("parse_sort")) {
    const CsvFigures& p = g_csv.at("parse_sort");
    const double parse_per_row = p.cpu_seconds / p.rows;
    for (const auto& [name, f] : g_replay) {
      if (name == "ingest_only") continue;
      const double total = f.samples * parse_per_row + f.cpu_seconds;
      std::printf(
          "| projected: %.0f M samples from a CSV, %s | — | %.0f s | %.2f M samples/s | %.2f× | "
          "read + sort %.0f s + replay %.0f s |\n",
          f.samples / 1e6, name == "0" ? "every minute" : ("--step " + name + "m").c_str(), total,
          f.samples / total / 1e6, f.samples / total / target, f.samples * parse_per_row,
          f.cpu_seconds);
    }
  }
  std::printf("(generating the replay's values alone: %.1f s, included in the replay times)\n",
              g_generate_seconds);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  g_flags = ParseFlags(argc, argv);
  // ingest_only first: the others report their evaluation cost against it.
  benchmark::RegisterBenchmark("BM_Replay/ingest_only", BM_Replay, -1)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kSecond);
  for (int step : g_flags.steps) {
    benchmark::RegisterBenchmark(("BM_Replay/step_min:" + std::to_string(step)).c_str(), BM_Replay,
                                 step)
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
  }
  for (const char* variant : {"parse_sort", "spill", "default_rules"}) {
    benchmark::RegisterBenchmark((std::string("BM_Csv/") + variant).c_str(), BM_Csv,
                                 std::string(variant))
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  PrintTable();
  benchmark::Shutdown();
  return 0;
}
