// agent_soak: statewatchd's core for a simulated month (issue #7, hardening) — 10 000 series
// scraped, stored, evaluated and delivered every simulated minute for 30 days (432 M samples),
// retention every simulated hour, on a manual clock. The driver (tests/agent/soak_driver.h,
// shared with tests/agent/soak_test.cc) says what runs in a cycle and what the synthetic job
// looks like.
//
// One line per simulated day: resident set and heap in use, samples.db and its WAL on disk,
// rows stored, per-cycle times (evaluation, collection and its store part), alerts. At the end:
// start/end figures, and whether RSS, heap, the database and the evaluation time stayed flat
// from day --flat-from on (retention reaches its bound after `retention` + a day).
//
//   agent_soak [--series N] [--days D] [--step-minutes M] [--storage DIR] [--out FILE.csv|.md]
//              [--retention 7d] [--downsample-after 1d] [--resolution 5m] [--flat-from DAY]
//              [--no-retention] [--no-count-rows] [--keep]
//
// Defaults: 10 000 series, 30 days, 1-minute steps, retention 7d / 1d / 5m, storage in
// $TMPDIR/statewatch-agent-soak (removed at the end unless --keep). The full run takes about an
// hour or more on the project's 2-core VM; --series 1000 --days 10 takes a few minutes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/soak_driver.h"

namespace sw = statewatch;

namespace {

struct Flags {
  sw::soak::SoakOptions soak;
  std::string out;
  int flat_from = 0;  // 0: retention's days + 1
  bool keep = false;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "agent_soak: %s\nusage: agent_soak [--series N] [--days D] [--step-minutes M] "
               "[--storage DIR] [--out FILE.csv|FILE.md] [--retention 7d] [--downsample-after 1d] "
               "[--resolution 5m] [--flat-from DAY] [--no-retention] [--no-count-rows] [--keep]\n",
               why);
  std::exit(2);
}

Flags Parse(int argc, char** argv) {
  Flags f;
  f.soak.storage_dir = (std::filesystem::temp_directory_path() / "statewatch-agent-soak").string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    auto number = [&]() {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n <= 0) Usage(("bad number for " + a).c_str());
      return static_cast<int>(n);
    };
    if (a == "--series") {
      f.soak.series = number();
    } else if (a == "--days") {
      f.soak.days = number();
    } else if (a == "--step-minutes") {
      f.soak.step = std::chrono::minutes(number());
      f.soak.evaluation_interval = f.soak.step;
    } else if (a == "--storage") {
      f.soak.storage_dir = value();
    } else if (a == "--out") {
      f.out = value();
    } else if (a == "--retention") {
      f.soak.retention = value();
    } else if (a == "--downsample-after") {
      f.soak.downsample_after = value();
    } else if (a == "--resolution") {
      f.soak.downsample_resolution = value();
    } else if (a == "--flat-from") {
      f.flat_from = number();
    } else if (a == "--no-retention") {
      f.soak.apply_retention = false;
    } else if (a == "--no-count-rows") {
      f.soak.count_rows = false;
    } else if (a == "--keep") {
      f.keep = true;
    } else {
      Usage(("unknown argument " + a).c_str());
    }
  }
  return f;
}

double MiB(double bytes) {
  return bytes / (1024.0 * 1024.0);
}

const char* kColumns[] = {"day",
                          "wall_s",
                          "rss_mib",
                          "heap_mib",
                          "samples_db_mib",
                          "wal_mib",
                          "alerts_db_mib",
                          "rows",
                          "disk_written_gib",
                          "eval_mean_ms",
                          "eval_max_ms",
                          "eval_cpu_mean_ms",
                          "rules_mean_ms",
                          "rules_max_ms",
                          "collect_mean_ms",
                          "collect_max_ms",
                          "collect_cpu_mean_ms",
                          "scrape_mean_ms",
                          "store_mean_ms",
                          "store_max_ms",
                          "retention_ms",
                          "retention_max_ms",
                          "deliver_ms",
                          "pending",
                          "firing",
                          "transitions",
                          "notifications",
                          "collect_failures",
                          "storage_errors"};

std::vector<std::string> Row(const sw::soak::DayStats& d) {
  auto f = [](double v, int digits = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return std::string(buf);
  };
  return {std::to_string(d.day),
          f(d.wall_seconds, 0),
          f(MiB(d.rss_bytes)),
          f(MiB(d.heap_bytes)),
          f(MiB(static_cast<double>(d.samples_db_bytes))),
          f(MiB(static_cast<double>(d.samples_wal_bytes))),
          f(MiB(static_cast<double>(d.alerts_db_bytes)), 2),
          std::to_string(d.stored_samples),
          f(static_cast<double>(d.disk_write_bytes) / (1024.0 * 1024.0 * 1024.0)),
          f(d.eval_mean_ms, 2),
          f(d.eval_max_ms, 2),
          f(d.eval_cpu_mean_ms, 2),
          f(d.rules_mean_ms, 2),
          f(d.rules_max_ms, 2),
          f(d.collect_mean_ms, 2),
          f(d.collect_max_ms, 2),
          f(d.collect_cpu_mean_ms, 2),
          f(d.scrape_mean_ms, 2),
          f(d.store_mean_ms, 2),
          f(d.store_max_ms, 2),
          f(d.retention_total_ms, 0),
          f(d.retention_max_ms, 0),
          f(d.deliver_total_ms, 0),
          std::to_string(d.alerts_pending),
          std::to_string(d.alerts_firing),
          std::to_string(d.transitions),
          std::to_string(d.notifications),
          std::to_string(d.collect_failures),
          std::to_string(d.storage_errors)};
}

// The table so far, rewritten after every day (a partial run leaves its figures behind).
void WriteTable(const std::string& path, const std::vector<sw::soak::DayStats>& days) {
  if (path.empty()) return;
  const bool markdown = path.size() > 3 && path.compare(path.size() - 3, 3, ".md") == 0;
  std::ofstream out(path + ".tmp");
  std::string sep = markdown ? " | " : ",";
  auto line = [&](const std::vector<std::string>& cells) {
    if (markdown) out << "| ";
    for (size_t i = 0; i < cells.size(); ++i) out << (i ? sep : "") << cells[i];
    out << (markdown ? " |\n" : "\n");
  };
  line(std::vector<std::string>(std::begin(kColumns), std::end(kColumns)));
  if (markdown) {
    std::vector<std::string> rule(std::size(kColumns), "---:");
    line(rule);
  }
  for (const auto& d : days) line(Row(d));
  out.close();
  std::filesystem::rename(path + ".tmp", path);
}

double Change(double from, double to) {
  return from == 0 ? 0 : (to - from) / from * 100.0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = Parse(argc, argv);
  const sw::soak::SoakOptions& o = flags.soak;
  std::printf(
      "agent_soak: %d series x %d simulated days, step %ld min, retention %s, downsample after "
      "%s to %s, storage %s\n",
      o.series, o.days, static_cast<long>(o.step.count()), o.retention.c_str(),
      o.downsample_after.c_str(), o.downsample_resolution.c_str(), o.storage_dir.c_str());
  std::printf("start: VmRSS %.1f MiB, heap in use %.1f MiB\n",
              MiB(sw::soak::internal::ProcStatusBytes("VmRSS:")),
              MiB(sw::soak::internal::HeapInUseBytes()));
  std::printf("%4s %7s %8s %8s %10s %7s %10s %8s %8s %8s %8s %8s %8s %8s %8s %7s %7s %6s %7s %5s\n",
              "day", "wall_s", "rss_MiB", "heap_MiB", "db_MiB", "wal_MiB", "rows", "writ_GiB",
              "eval_ms", "eval_max", "eval_cpu", "rules_ms", "coll_ms", "store_ms", "stor_max",
              "ret_ms", "pending", "firing", "notif", "fail");
  std::fflush(stdout);

  std::vector<sw::soak::DayStats> seen;
  auto result = sw::soak::RunSoak(o, [&](const sw::soak::DayStats& d) {
    std::printf(
        "%4d %7.0f %8.1f %8.1f %10.1f %7.1f %10lld %8.1f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f "
        "%7.0f "
        "%7zu "
        "%6zu %7lld %5lld\n",
        d.day, d.wall_seconds, MiB(d.rss_bytes), MiB(d.heap_bytes),
        MiB(static_cast<double>(d.samples_db_bytes)), MiB(static_cast<double>(d.samples_wal_bytes)),
        static_cast<long long>(d.stored_samples),
        static_cast<double>(d.disk_write_bytes) / (1024.0 * 1024.0 * 1024.0), d.eval_mean_ms,
        d.eval_max_ms, d.eval_cpu_mean_ms, d.rules_mean_ms, d.collect_mean_ms, d.store_mean_ms,
        d.store_max_ms, d.retention_total_ms, d.alerts_pending, d.alerts_firing,
        static_cast<long long>(d.notifications),
        static_cast<long long>(d.collect_failures + d.storage_errors));
    std::fflush(stdout);
    seen.push_back(d);
    WriteTable(flags.out, seen);
  });
  if (!result.ok()) {
    std::fprintf(stderr, "agent_soak: %s\n", result.status().ToString().c_str());
    return 1;
  }
  const std::vector<sw::soak::DayStats>& days = *result;

  // Flatness from the first day after retention reached its bound (or --flat-from) to the end.
  int flat_from = flags.flat_from;
  if (flat_from == 0) {
    auto d = sw::agent::ParseConfig(
        "storage:\n  retention: " + o.retention + "\n  downsample_after: " + o.downsample_after +
            "\n  downsample_resolution: " + o.downsample_resolution + "\n",
        "--retention");
    flat_from = d.ok() ? static_cast<int>(d->retention / std::chrono::hours(24)) + 1 : 2;
  }
  flat_from = std::clamp(flat_from, 1, static_cast<int>(days.size()));
  const auto& first = days.front();
  const auto& from = days[flat_from - 1];
  const auto& last = days.back();
  std::printf(
      "\nday 1 -> day %d: VmRSS %.1f -> %.1f MiB, heap %.1f -> %.1f MiB, samples.db %.1f -> "
      "%.1f MiB, rows %lld -> %lld\n",
      last.day, MiB(first.rss_bytes), MiB(last.rss_bytes), MiB(first.heap_bytes),
      MiB(last.heap_bytes), MiB(static_cast<double>(first.samples_db_bytes)),
      MiB(static_cast<double>(last.samples_db_bytes)), static_cast<long long>(first.stored_samples),
      static_cast<long long>(last.stored_samples));
  struct Check {
    const char* what;
    double a, b;
    double tolerance_percent;
  };
  const Check checks[] = {
      {"VmRSS (MiB)", MiB(from.rss_bytes), MiB(last.rss_bytes), 10},
      {"heap in use (MiB)", MiB(from.heap_bytes), MiB(last.heap_bytes), 10},
      {"samples.db (MiB)", MiB(static_cast<double>(from.samples_db_bytes)),
       MiB(static_cast<double>(last.samples_db_bytes)), 10},
      {"samples.db + WAL (MiB)",
       MiB(static_cast<double>(from.samples_db_bytes + from.samples_wal_bytes)),
       MiB(static_cast<double>(last.samples_db_bytes + last.samples_wal_bytes)), 10},
      {"rows", static_cast<double>(from.stored_samples), static_cast<double>(last.stored_samples),
       10},
      {"evaluation per cycle (ms)", from.eval_mean_ms, last.eval_mean_ms, 25},
      {"evaluation CPU per cycle (ms)", from.eval_cpu_mean_ms, last.eval_cpu_mean_ms, 25},
      {"rules per cycle (ms)", from.rules_mean_ms, last.rules_mean_ms, 25},
      {"store per cycle (ms)", from.store_mean_ms, last.store_mean_ms, 25},
      {"collection CPU per cycle (ms)", from.collect_cpu_mean_ms, last.collect_cpu_mean_ms, 25},
  };
  bool all_flat = true;
  for (const Check& c : checks) {
    const double change = Change(c.a, c.b);
    const bool flat = change <= c.tolerance_percent;
    all_flat = all_flat && flat;
    std::printf("day %d -> day %d: %-28s %12.2f -> %12.2f (%+.1f %%): %s (growth <= %.0f %%)\n",
                from.day, last.day, c.what, c.a, c.b, change, flat ? "flat" : "GREW",
                c.tolerance_percent);
  }
  std::printf("total wall time %.0f s; %s\n", last.wall_seconds,
              all_flat ? "everything stayed flat" : "something grew (see above)");
  if (!flags.keep) {
    std::error_code ec;
    std::filesystem::remove_all(o.storage_dir, ec);
  }
  return 0;
}
