// A simulated-clock soak of statewatchd's core (issue #7): the real Agent, in process, on a
// ManualClock, with one "prometheus" source scraping a synthetic job over loopback HTTP and one
// webhook receiver — every cycle the daemon's own path:
//
//   collection (HTTP GET + text parse) → SampleStore::Append → RuleEngine::Observe
//   → Agent::Evaluate (rules, alert log, active alerts, outbox) → Agent::Deliver (webhook POSTs)
//   → Agent::ApplyRetention every simulated hour (as the scheduler does)
//
// The job exports `statewatch_state_keys{state="sN"}` for N series. Every 10th leaks in episodes
// (2 days of growth at 20 keys/min, then 2 days flat, phases staggered by 12 h, so alerts keep
// firing and resolving at a steady rate); every 10th+1 and +2 is a 6 h compaction sawtooth,
// every 10th+3 a daily cycle, the rest are flat with ±100 of noise around levels from 10⁴ to 10⁶.
// A simulated day of 1-minute cycles takes seconds to minutes of real time, depending on N.
//
// After each simulated day the driver measures the process (VmRSS; heap in use from mallinfo2:
// arena bytes in use + mmapped chunks), the SQLite files on disk, optionally the rows in
// samples.db, and the per-cycle times of that day. Shared by bench/agent_soak.cc (the 30-day
// measurement) and tests/agent/soak_test.cc (the CI-sized regression check) — one copy.
#pragma once

#include <httplib.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/agent/agent.h"
#include "statewatch/state/clock.h"
#include "support/loopback_server.h"

namespace statewatch::soak {

struct SoakOptions {
  int series = 10'000;
  int days = 30;
  int64_t start_millis = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  // Simulated time per cycle; also the source's scrape interval. 1 min: as in the issue.
  std::chrono::minutes step{1};
  // The config's global.evaluation_interval (1 min is the daemon's default).
  std::chrono::minutes evaluation_interval{1};
  // How often ApplyRetention runs (the scheduler: hourly).
  std::chrono::minutes retention_every{60};
  // The config's storage section (config.h), as YAML durations.
  std::string retention = "7d";
  std::string downsample_after = "1d";
  std::string downsample_resolution = "5m";
  // false skips ApplyRetention (to see what the history does without it).
  bool apply_retention = true;
  // Count the rows of samples.db after every day (one GROUP BY over all of them; not timed).
  bool count_rows = true;
  // Where samples.db and alerts.db go; emptied first. REQUIRED.
  std::string storage_dir;
};

struct DayStats {
  int day = 0;              // the simulated day just finished, from 1
  double wall_seconds = 0;  // real time since the start of the run
  double rss_bytes = 0;     // VmRSS
  double heap_bytes = 0;    // mallinfo2: uordblks + hblkhd
  int64_t samples_db_bytes = 0;
  int64_t samples_wal_bytes = 0;
  int64_t alerts_db_bytes = 0;  // alerts.db + its WAL
  int64_t stored_samples = -1;  // rows in samples.db (-1 unless count_rows)
  // Bytes this process caused to be written to the block device during the day (/proc/self/io
  // write_bytes: both SQLite files, their WALs and checkpoints).
  int64_t disk_write_bytes = 0;
  int64_t stored_series = -1;
  size_t cycles = 0;
  size_t evaluations = 0;
  // Agent::Evaluate as the scheduler calls it: the rules plus the alert log, active-alert and
  // outbox writes (alerts.db commits are fsync'd).
  double eval_mean_ms = 0, eval_max_ms = 0;
  // The same on the calling thread's CPU clock: what the evaluation computed, without the time
  // it waited for fsync or for a core (the machine may be shared).
  double eval_cpu_mean_ms = 0;
  // The rules alone: statewatch_rule_evaluation_duration_seconds, read from MetricsText() after
  // the first evaluation of every simulated hour.
  double rules_mean_ms = 0, rules_max_ms = 0;
  // Agent::CollectSource: the collector (HTTP GET + parse, its own duration gauge) and the rest
  // (SampleStore::Append of the scrape + RuleEngine::Observe).
  double collect_mean_ms = 0, collect_max_ms = 0;
  double scrape_mean_ms = 0;
  double store_mean_ms = 0, store_max_ms = 0;
  double collect_cpu_mean_ms = 0;  // CollectSource on the calling thread's CPU clock
  double retention_total_ms = 0, retention_max_ms = 0;
  double deliver_total_ms = 0;
  size_t alerts_pending = 0, alerts_firing = 0;  // at the end of the day
  int64_t transitions = 0;                       // during the day
  int64_t notifications = 0;                     // POSTs received during the day
  int64_t collect_failures = 0;                  // during the day
  // statewatch_storage_errors_total at the end of the day (-1: not in MetricsText()).
  int64_t storage_errors = 0;
};

namespace internal {

inline double ProcStatusBytes(std::string_view key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0) {
      return std::strtod(line.c_str() + key.size(), nullptr) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  return 0;
}

inline double HeapInUseBytes() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

// A counter of /proc/self/io ("write_bytes"); 0 when unavailable.
inline int64_t ProcIoBytes(std::string_view key) {
  std::ifstream in("/proc/self/io");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() &&
        line[key.size()] == ':') {
      return std::strtoll(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

inline int64_t FileBytes(const std::filesystem::path& p) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

// The value of an unlabelled sample in Prometheus text ("name value\n"); NaN when absent.
inline double MetricValue(const std::string& text, std::string_view name) {
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const size_t end = at + name.size();
    if (line_start && end < text.size() && text[end] == ' ') {
      return std::strtod(text.c_str() + end + 1, nullptr);
    }
    at = end;
  }
  return std::nan("");
}

inline uint64_t Mix(uint64_t x) {  // splitmix64's finalizer: stateless noise per (series, minute)
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The synthetic job: the key count of every state at a given minute.
class SyntheticJob {
 public:
  static constexpr int64_t kLeakPerMinute = 20;
  static constexpr int64_t kLeakMinutes = 2 * 1440;  // an episode of growth…
  static constexpr int64_t kLeakPeriod = 4 * 1440;   // …every 4 days
  static constexpr int64_t kSawtoothMinutes = 6 * 60;

  explicit SyntheticJob(int series) {
    states_.reserve(series);
    for (int i = 0; i < series; ++i) {
      State s;
      s.prefix = "statewatch_state_keys{state=\"s" + std::to_string(i) + "\"} ";
      s.kind = i % 10 == 0   ? Kind::kLeak
               : i % 10 <= 2 ? Kind::kSawtooth
               : i % 10 == 3 ? Kind::kDaily
                             : Kind::kFlat;
      s.base = std::pow(10.0, 4.0 + 2.0 * static_cast<double>(Mix(i) >> 11) * 0x1p-53);
      s.phase =
          s.kind == Kind::kLeak ? (i / 10) % 8 * 720 : static_cast<int64_t>(Mix(i + 1) % 1440);
      states_.push_back(std::move(s));
    }
  }

  // The Prometheus text of minute `m` (from the start) into `out` (reusing its buffer).
  void Exposition(int64_t m, std::string* out) const {
    out->clear();
    out->append("# TYPE statewatch_state_keys gauge\n");
    char number[32];
    for (size_t i = 0; i < states_.size(); ++i) {
      const State& s = states_[i];
      const double noise =
          (static_cast<double>(Mix(i * 0x100000001ull + static_cast<uint64_t>(m)) >> 11) * 0x1p-53 -
           0.5) *
          200.0;
      double v = s.base + noise;
      switch (s.kind) {
        case Kind::kLeak:
          v += static_cast<double>(kLeakPerMinute * (Leaked(m + s.phase) - Leaked(s.phase)));
          break;
        case Kind::kSawtooth:
          v += 0.3 * s.base * static_cast<double>((m + s.phase) % kSawtoothMinutes) /
               kSawtoothMinutes;
          break;
        case Kind::kDaily:
          v += 0.2 * s.base * std::sin(2 * M_PI * static_cast<double>(m + s.phase) / 1440.0);
          break;
        case Kind::kFlat:
          break;
      }
      out->append(s.prefix);
      const auto r = std::to_chars(number, number + sizeof number, std::llround(v));
      out->append(number, r.ptr);
      out->push_back('\n');
    }
  }

 private:
  enum class Kind { kLeak, kSawtooth, kDaily, kFlat };
  struct State {
    std::string prefix;
    Kind kind = Kind::kFlat;
    double base = 0;
    int64_t phase = 0;  // minutes
  };
  // Minutes of growth in [0, m) of a leak that starts its cycle at 0.
  static int64_t Leaked(int64_t m) {
    return m / kLeakPeriod * kLeakMinutes + std::min(m % kLeakPeriod, kLeakMinutes);
  }
  std::vector<State> states_;
};

// One loopback HTTP server: GET /metrics serves the job's current scrape, POST /alerts is the
// webhook receiver (counts, answers 200, keeps nothing — so it adds no memory over a long run).
class Endpoint {
 public:
  Endpoint() {
    http_.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      res.set_content(body_, "text/plain; version=0.0.4");
    });
    http_.server().Post("/alerts", [this](const httplib::Request&, httplib::Response& res) {
      received_.fetch_add(1, std::memory_order_relaxed);
      res.status = 200;
    });
    http_.Start();
  }
  ~Endpoint() { http_.Stop(); }
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  std::string url(const std::string& path) const { return http_.url(path); }
  // Publishes `next` as the scrape (swapped in: the old body's buffer comes back in `next`).
  void Publish(std::string* next) {
    std::lock_guard<std::mutex> lock(mu_);
    body_.swap(*next);
  }
  int64_t received() const { return received_.load(std::memory_order_relaxed); }

 private:
  statewatch::testing::LoopbackServer http_;
  std::mutex mu_;
  std::string body_;
  std::atomic<int64_t> received_{0};
};

struct Stat {
  double sum = 0, max = 0;
  size_t n = 0;
  void Add(double v) {
    sum += v;
    max = std::max(max, v);
    ++n;
  }
  double mean() const { return n == 0 ? 0 : sum / static_cast<double>(n); }
};

inline double ThreadCpuMillis() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

inline double MillisSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace internal

// Runs the soak; `on_day` (may be empty) sees each day's figures as soon as they are measured.
// Returns every day's figures, or the first error of the agent's own calls (a failed scrape is
// counted in collect_failures instead: the daemon goes on too).
inline Result<std::vector<DayStats>> RunSoak(const SoakOptions& o,
                                             const std::function<void(const DayStats&)>& on_day) {
  namespace fs = std::filesystem;
  using Clock = std::chrono::steady_clock;
  if (o.storage_dir.empty()) return Status::InvalidArgument("soak: storage_dir is required");
  if (o.series <= 0 || o.days <= 0 || o.step.count() <= 0 || 1440 % o.step.count() != 0) {
    return Status::InvalidArgument("soak: series, days > 0 and a step dividing a day required");
  }
  const fs::path dir = o.storage_dir;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "data", ec);
  if (ec) return Status::IOError("soak: cannot create " + dir.string() + ": " + ec.message());

  internal::Endpoint endpoint;
  {
    std::ofstream config(dir / "statewatch.yaml");
    config << "global:\n"
           << "  scrape_interval: " << o.step.count() << "m\n"
           << "  evaluation_interval: " << o.evaluation_interval.count() << "m\n"
           << "storage:\n"
           << "  retention: " << o.retention << "\n"
           << "  downsample_after: " << o.downsample_after << "\n"
           << "  downsample_resolution: " << o.downsample_resolution << "\n"
           << "sources:\n"
           << "  - name: app\n"
           << "    type: prometheus\n"
           << "    job: soak\n"
           << "    options:\n"
           << "      url: " << endpoint.url("/metrics") << "\n"
           << "      timeout: 30s\n"
           << "receivers:\n"
           << "  - name: ops\n"
           << "    url: " << endpoint.url("/alerts") << "\n";
    if (!config) return Status::IOError("soak: cannot write " + (dir / "statewatch.yaml").string());
  }

  // Thousands of 'alert … -> pending' lines a day are not the subject; errors still show.
  const spdlog::level::level_enum log_level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);
  struct RestoreLevel {
    spdlog::level::level_enum level;
    ~RestoreLevel() { spdlog::set_level(level); }
  } restore_level{log_level};

  ManualClock clock(o.start_millis);
  agent::AgentOptions options;
  options.config_file = (dir / "statewatch.yaml").string();
  options.storage_path = (dir / "data").string();
  options.clock = &clock;
  internal::SyntheticJob job(o.series);
  std::string scrape;
  Result<std::unique_ptr<agent::Agent>> created = agent::Agent::Create(options);
  if (!created.ok()) return created.status();
  agent::Agent& agent = **created;

  const auto run_start = Clock::now();
  const int64_t eval_ms = std::chrono::milliseconds(o.evaluation_interval).count();
  const int64_t retention_ms = std::chrono::milliseconds(o.retention_every).count();
  const int64_t cycles_per_day = 1440 / o.step.count();
  int64_t next_eval = o.start_millis + eval_ms;  // the scheduler's first evaluation
  int64_t next_retention = o.start_millis;       // …and its first retention pass: at once
  int64_t next_rules_reading = o.start_millis;
  int64_t notified_before = 0;
  int64_t written_before = internal::ProcIoBytes("write_bytes");
  std::vector<DayStats> days;

  for (int day = 1; day <= o.days; ++day) {
    internal::Stat eval, eval_cpu, rules, collect, collect_cpu, scrape_time, store, retention,
        deliver;
    DayStats d;
    d.day = day;
    for (int64_t c = 0; c < cycles_per_day; ++c) {
      const int64_t now = clock.NowMillis();
      if (o.apply_retention && now >= next_retention) {
        const auto t = Clock::now();
        SW_RETURN_IF_ERROR(agent.ApplyRetention());
        retention.Add(internal::MillisSince(t));
        next_retention += retention_ms;
      }

      clock.Advance(o.step);
      const int64_t t_now = clock.NowMillis();
      job.Exposition((t_now - o.start_millis) / 60'000, &scrape);
      endpoint.Publish(&scrape);
      auto t = Clock::now();
      double cpu = internal::ThreadCpuMillis();
      const Status collected = agent.CollectSource("app");
      const double collect_ms = internal::MillisSince(t);
      collect_cpu.Add(internal::ThreadCpuMillis() - cpu);
      if (!collected.ok()) ++d.collect_failures;
      const std::vector<agent::SourceStatus> sources = agent.Sources();
      const double scraped_ms = sources.empty() ? 0 : sources[0].last_duration_seconds * 1e3;
      collect.Add(collect_ms);
      scrape_time.Add(scraped_ms);
      store.Add(std::max(0.0, collect_ms - scraped_ms));
      ++d.cycles;

      if (t_now >= next_eval) {
        t = Clock::now();
        cpu = internal::ThreadCpuMillis();
        Result<std::vector<rules::AlertTransition>> transitions = agent.Evaluate();
        if (!transitions.ok()) return transitions.status();
        eval.Add(internal::MillisSince(t));
        eval_cpu.Add(internal::ThreadCpuMillis() - cpu);
        d.transitions += static_cast<int64_t>(transitions->size());
        ++d.evaluations;
        next_eval += eval_ms;
        if (t_now >= next_rules_reading) {  // the rules' own share of that evaluation
          const double seconds = internal::MetricValue(
              agent.MetricsText(), "statewatch_rule_evaluation_duration_seconds");
          if (!std::isnan(seconds)) rules.Add(seconds * 1e3);
          next_rules_reading += 3'600'000;
        }
        // As the scheduler: deliver at once what is due (256 items per call).
        t = Clock::now();
        for (int round = 0; round < 1000; ++round) {
          Result<std::optional<int64_t>> due = agent.NextDeliveryMillis();
          if (!due.ok()) return due.status();
          if (!due->has_value() || **due > t_now) break;
          Result<agent::DeliveryResult> delivered = agent.Deliver();
          if (!delivered.ok()) return delivered.status();
          if (delivered->delivered + delivered->retried + delivered->dropped == 0) break;
        }
        deliver.Add(internal::MillisSince(t));
      }
    }

    // The day's figures (not timed as part of any cycle).
    d.wall_seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
    d.rss_bytes = internal::ProcStatusBytes("VmRSS:");
    d.heap_bytes = internal::HeapInUseBytes();
    d.samples_db_bytes = internal::FileBytes(dir / "data" / "samples.db");
    d.samples_wal_bytes = internal::FileBytes(dir / "data" / "samples.db-wal");
    d.alerts_db_bytes = internal::FileBytes(dir / "data" / "alerts.db") +
                        internal::FileBytes(dir / "data" / "alerts.db-wal");
    if (o.count_rows) {
      Result<std::vector<storage::SeriesInfo>> series = agent.samples()->ListSeries();
      if (!series.ok()) return series.status();
      d.stored_series = static_cast<int64_t>(series->size());
      d.stored_samples = 0;
      for (const storage::SeriesInfo& s : *series) d.stored_samples += s.samples;
    }
    for (const rules::Alert& a : agent.Alerts()) {
      (a.state == rules::AlertState::kFiring ? d.alerts_firing : d.alerts_pending)++;
    }
    const double errors =
        internal::MetricValue(agent.MetricsText(), "statewatch_storage_errors_total");
    d.storage_errors = std::isnan(errors) ? -1 : static_cast<int64_t>(errors);
    const int64_t written = internal::ProcIoBytes("write_bytes");
    d.disk_write_bytes = written - written_before;
    written_before = written;
    d.notifications = endpoint.received() - notified_before;
    notified_before = endpoint.received();
    d.eval_mean_ms = eval.mean();
    d.eval_max_ms = eval.max;
    d.eval_cpu_mean_ms = eval_cpu.mean();
    d.collect_cpu_mean_ms = collect_cpu.mean();
    d.rules_mean_ms = rules.mean();
    d.rules_max_ms = rules.max;
    d.collect_mean_ms = collect.mean();
    d.collect_max_ms = collect.max;
    d.scrape_mean_ms = scrape_time.mean();
    d.store_mean_ms = store.mean();
    d.store_max_ms = store.max;
    d.retention_total_ms = retention.sum;
    d.retention_max_ms = retention.max;
    d.deliver_total_ms = deliver.sum;
    days.push_back(d);
    if (on_day) on_day(d);
  }
  return days;
}

}  // namespace statewatch::soak
