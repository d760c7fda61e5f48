// Rule evaluation benchmark: 10 000 series × 1 440 one-minute samples (a day of history per
// series, DESIGN.md "Targets"), the default trend rule (StateGrowingWithoutBound: 24 h window).
//
//   engine    one RuleEngine::Evaluate() over all series: each series' MomentsWindow merges its
//             ~25 buckets into a fit, then the alert state machine runs (a tenth of the series
//             leak, so ~1 000 alerts are updated and their annotations expanded every cycle).
//   baseline  in the same run: FitLinearTrend over each series' raw points kept in a
//             std::vector<Point> (1 440 points each), and the same slope / r² test.
//
// Both sides run alternately in every iteration over the same data. Counters: engine_ns and
// baseline_ns per evaluation cycle (all 10 000 series), ratio = engine / baseline (lower is
// better), engine_rss_bytes (resident memory added by building the RuleEngine and feeding it the
// 14.4 M samples, from /proc/self/statm), engine_bytes (the engine's own estimate),
// baseline_rss_bytes (the raw vectors), observe_ns (per sample while feeding). After Google
// Benchmark's output the program prints the table kept in bench/README.md.
//
// Run: build/bench/rules_bench [--benchmark_repetitions=5] [--benchmark_min_time=1]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "statewatch/rules/linear_trend.h"
#include "statewatch/rules/rule_engine.h"

namespace sw = statewatch::rules;

namespace {

constexpr int kSeries = 10'000;
constexpr int kPoints = 1'440;
constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;
constexpr int64_t kNow = kT0 + kPoints * kMinute;  // one minute after the last sample

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// The value of series `s` at minute `m`: a mix of the shapes a fleet of states shows.
double Shape(int s, int m, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 1);
  const double base = 1e4 * (1 + s % 97);
  switch (s % 10) {
    case 0:  // a leak (these fire)
      return base + 25.0 * m + 50 * noise(rng);
    case 1:
    case 2:
    case 3:  // noisy plateau
      return base + 0.02 * base * noise(rng);
    case 4:
    case 5:
    case 6:  // daily cycle
      return base * (1 + 0.2 * std::sin(2 * std::numbers::pi * (m + 37 * s) / 1440.0));
    default:  // compaction sawtooth
      return base * (1 + 0.5 * ((m + s) % 180) / 180.0);
  }
}

struct Fixture {
  std::unique_ptr<sw::RuleEngine> engine;
  std::vector<std::vector<sw::Point>> raw;
  size_t engine_rss = 0, baseline_rss = 0, engine_bytes = 0;
  double observe_ns = 0;

  Fixture() {
    sw::RuleSpec rule;
    for (sw::RuleSpec& r : sw::DefaultRules())
      if (r.alert == "StateGrowingWithoutBound") rule = r;

    // Samples are reused in place, so feeding allocates nothing outside the engine and the RSS
    // difference is the engine's.
    std::vector<sw::Sample> samples(kSeries);
    for (int s = 0; s < kSeries; ++s) {
      char state[32];
      std::snprintf(state, sizeof state, "state-%05d", s);
      samples[s].series = "statewatch_state_keys";
      samples[s].labels = {{"job", "bench"}, {"source", "engine"}, {"state", state}};
    }
    std::vector<std::vector<double>> values(kSeries, std::vector<double>(kPoints));
    std::mt19937_64 rng(1);
    for (int s = 0; s < kSeries; ++s)
      for (int m = 0; m < kPoints; ++m) values[s][m] = Shape(s, m, rng);

    const size_t rss0 = ResidentBytes();
    engine = std::make_unique<sw::RuleEngine>(std::vector<sw::RuleSpec>{rule});
    const auto t0 = std::chrono::steady_clock::now();
    // Time-major, as scrapes arrive: every series once per minute.
    for (int m = 0; m < kPoints; ++m) {
      for (int s = 0; s < kSeries; ++s) {
        samples[s].t_millis = kT0 + m * kMinute;
        samples[s].value = values[s][m];
        engine->Observe(samples[s]);
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    engine_rss = ResidentBytes() - rss0;
    engine_bytes = engine->memory_bytes();
    observe_ns = std::chrono::duration<double, std::nano>(t1 - t0).count() /
                 (static_cast<double>(kSeries) * kPoints);

    const size_t rss1 = ResidentBytes();
    raw.resize(kSeries);
    for (int s = 0; s < kSeries; ++s) {
      raw[s].reserve(kPoints);
      for (int m = 0; m < kPoints; ++m) raw[s].push_back({kT0 + m * kMinute, values[s][m]});
    }
    baseline_rss = ResidentBytes() - rss1;
  }
};

Fixture& Data() {
  static Fixture f;
  return f;
}

void BM_TrendEvaluate_vs_FitLinearTrend(benchmark::State& state) {
  Fixture& f = Data();
  using Clock = std::chrono::steady_clock;
  const int64_t window = std::chrono::milliseconds(std::chrono::hours(24)).count();
  double engine_ns = 0, baseline_ns = 0;
  int64_t cycles = 0;
  size_t alerts = 0, growing = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto transitions = f.engine->Evaluate(kNow);
    benchmark::DoNotOptimize(transitions.data());
    const auto t1 = Clock::now();
    size_t rising = 0;
    for (const auto& points : f.raw) {
      auto fit = sw::FitLinearTrend(points, kNow - window);
      if (fit && fit->samples >= 10 && fit->slope_per_second > 0 && fit->r_squared >= 0.9) {
        ++rising;
      }
    }
    benchmark::DoNotOptimize(rising);
    const auto t2 = Clock::now();
    engine_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
    baseline_ns += std::chrono::duration<double, std::nano>(t2 - t1).count();
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
    ++cycles;
    growing = rising;
  }
  alerts = f.engine->Alerts().size();
  state.counters["engine_ns"] = engine_ns / static_cast<double>(cycles);
  state.counters["baseline_ns"] = baseline_ns / static_cast<double>(cycles);
  state.counters["ratio"] = engine_ns / baseline_ns;
  state.counters["engine_rss_bytes"] = static_cast<double>(f.engine_rss);
  state.counters["engine_bytes"] = static_cast<double>(f.engine_bytes);
  state.counters["baseline_rss_bytes"] = static_cast<double>(f.baseline_rss);
  state.counters["observe_ns"] = f.observe_ns;
  state.counters["series"] = static_cast<double>(f.engine->series_count());
  state.counters["alerts"] = static_cast<double>(alerts);
  state.counters["baseline_rising"] = static_cast<double>(growing);
}
BENCHMARK(BM_TrendEvaluate_vs_FitLinearTrend)->UseManualTime()->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------- table
class TableReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      // With repetitions the median stands for the benchmark; otherwise its single run.
      if (r.aggregate_name == "median" || (r.run_type == Run::RT_Iteration && !have_median_)) {
        if (r.aggregate_name == "median") have_median_ = true;
        for (const auto& [name, counter] : r.counters) values_[name] = counter.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void PrintTable() const {
    if (!values_.count("engine_ns")) return;
    auto v = [&](const char* name) { return values_.at(name); };
    const double engine_ms = v("engine_ns") / 1e6, baseline_ms = v("baseline_ns") / 1e6;
    const double mib = 1024.0 * 1024.0;
    std::printf(
        "\n| measure (10 000 series × 1 440 points) | statewatch | baseline | ratio | goal |\n");
    std::printf("|---|---:|---:|---:|---|\n");
    std::printf(
        "| trend evaluation cycle | %.1f ms | %.1f ms (FitLinearTrend over raw points) | %.3f× | "
        "< 1 s %s; ≥ 10× faster than Prometheus' ~0.9 s: %.0f× |\n",
        engine_ms, baseline_ms, v("ratio"), engine_ms < 1000 ? "met" : "NOT met", 900 / engine_ms);
    std::printf("| resident memory | %.1f MiB | %.1f MiB (raw points) | %.3f× | < 50 MB %s |\n",
                v("engine_rss_bytes") / mib, v("baseline_rss_bytes") / mib,
                v("engine_rss_bytes") / v("baseline_rss_bytes"),
                v("engine_rss_bytes") < 50e6 ? "met" : "NOT met");
    std::printf("| ingest (Observe) | %.0f ns/sample (%.1f M samples/s) | — | — | — |\n",
                v("observe_ns"), 1e3 / v("observe_ns"));
  }

 private:
  std::map<std::string, double> values_;
  bool have_median_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintTable();
  benchmark::Shutdown();
  return 0;
}
