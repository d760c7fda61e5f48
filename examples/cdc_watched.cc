// cdc_watched: the CDC join + revenue job (cdc_pipeline.h) with statewatchd's agent linked in —
// the way a stream application embeds statewatch. The job and the agent share one simulated
// clock: every 15 simulated minutes the agent collects the job's state (engine collector),
// stores the samples in SQLite, evaluates the rules and delivers alerts to the webhook
// receivers of the config file, exactly as statewatchd does on wall-clock time. The agent's
// HTTP API (/metrics, /api/v1/states, /api/v1/alerts, …) is served on --web.listen-address.
//
// With --leaky the join operator's states have no TTL: within about a simulated day and an
// hour (StateWithoutTtlGrowing: a 24 h window, then `for: 1h`) the receiver gets an alert that
// names them and says what to change.
//
// Usage: cdc_watched --config.file FILE [--storage.path DIR] [--web.listen-address H:P]
//                    [--leaky] [--backend hashmap|rocksdb] [--speed SIM_SECONDS_PER_SECOND]
//                    [--days N] [--hold]
// SIGINT/SIGTERM stop it after the current tick (pending deliveries are attempted once more).
// With --hold the API keeps serving the last collected state after the run until a signal
// (tests scrape /metrics then; the log says "holding" when the run is over).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "cdc_pipeline.h"
#include "statewatch/agent/agent.h"
#include "statewatch/agent/http_api.h"

using namespace statewatch;
using statewatch::examples::CdcPipeline;
using statewatch::examples::CdcPipelineOptions;

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) {
  g_stop = true;
}

// Keeps simulated time at most `speed` times as fast as real time, so a person can watch.
class Pacer {
 public:
  Pacer(const Clock* clock, double speed)
      : clock_(clock),
        speed_(speed),
        sim_start_(clock->NowMillis()),
        real_start_(std::chrono::steady_clock::now()) {}
  void Wait() const {
    if (speed_ <= 0) return;
    const double sim_ms = static_cast<double>(clock_->NowMillis() - sim_start_);
    const auto due =
        real_start_ + std::chrono::microseconds(static_cast<int64_t>(sim_ms * 1e3 / speed_));
    std::this_thread::sleep_until(due);  // pacing a demo for a human, not synchronisation
  }

 private:
  const Clock* clock_;
  double speed_;
  int64_t sim_start_;
  std::chrono::steady_clock::time_point real_start_;
};

std::string SimTime(int64_t millis) {
  const std::time_t t = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The CDC job with statewatch's agent embedded, on a simulated clock"};
  CdcPipelineOptions options;
  agent::AgentOptions agent_options;
  agent_options.storage_path =
      (std::filesystem::temp_directory_path() / "statewatch-cdc-watched").string();
  agent_options.listen_address = "127.0.0.1:9465";
  double speed = 3600;  // one simulated hour per second
  int days = 30;
  app.add_option("--config.file", agent_options.config_file, "statewatchd configuration (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--storage.path", agent_options.storage_path,
                 "Agent history (samples.db, alerts.db) and job state (job/); replaced each run")
      ->capture_default_str();
  app.add_option("--web.listen-address", agent_options.listen_address, "Agent HTTP API")
      ->capture_default_str();
  app.add_flag("--leaky", options.leaky, "join state without TTL (the bug statewatch catches)");
  app.add_option("--backend", options.backend, "hashmap or rocksdb")
      ->check(CLI::IsMember({"hashmap", "rocksdb"}));
  app.add_option("--speed", speed, "simulated seconds per real second (0: as fast as possible)")
      ->capture_default_str();
  app.add_option("--days", days, "simulated days to run")->check(CLI::Range(1, 3650));
  bool hold = false;
  app.add_flag("--hold", hold, "after the run, keep serving the API until SIGINT/SIGTERM");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_pattern("%H:%M:%S %^%l%$ %v");
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  // A fresh run each time: the simulated clock starts on the same day again, so the previous
  // run's history and alerts would collide with this one's. Only what this program writes there
  // is removed, never the rest of the directory.
  const std::filesystem::path dir(agent_options.storage_path);
  std::filesystem::create_directories(dir);
  for (const char* db : {"samples.db", "alerts.db"}) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(dir / (std::string(db) + suffix));
    }
  }
  std::filesystem::remove_all(dir / "job");
  options.directory = (dir / "job").string();
  ManualClock clock(1'767'225'600'000);  // 2026-01-01T00:00:00Z

  std::unique_ptr<agent::Agent> watcher;
  std::unique_ptr<CdcPipeline> job;
  Pacer pacer(&clock, speed);
  // Every six simulated hours: each state's key count and the agent's verdict on it.
  auto report = [&] {
    std::map<std::string, std::string> verdicts;
    for (const rules::StateVerdict& v : watcher->Verdicts()) {
      if (v.series != "statewatch_state_keys") continue;
      for (const auto& [name, value] : v.labels) {
        if (name == "state") verdicts[value] = fmt::format("{:.0f} keys {}", v.latest, v.verdict);
      }
    }
    std::string line;
    for (const auto& [state, text] : verdicts) line += fmt::format(" | {}: {}", state, text);
    spdlog::info("{}{}", SimTime(clock.NowMillis()), line);
  };
  int ticks = 0;
  options.on_tick = [&]() -> Status {
    if (g_stop) return Status::Unavailable("stopped by a signal");
    (void)watcher->CollectAll();  // a failing source is logged and exported by the agent
    if (auto t = watcher->Evaluate(); !t.ok()) spdlog::error("{}", t.status().ToString());
    if (auto d = watcher->Deliver(); !d.ok()) spdlog::error("{}", d.status().ToString());
    if (++ticks % 24 == 0) report();
    pacer.Wait();
    return Status::OK();
  };
  auto created = CdcPipeline::Create(options, &clock);
  if (!created.ok()) {
    spdlog::critical("cdc_watched: {}", created.status().ToString());
    return 1;
  }
  job = std::move(*created);

  agent_options.clock = &clock;
  agent_options.engines = {{"join", &job->join_backend()},
                           {"aggregate", &job->aggregate_backend()}};
  auto a = agent::Agent::Create(agent_options);
  if (!a.ok()) {
    spdlog::critical("cdc_watched: {}", a.status().ToString());
    return 1;
  }
  watcher = std::move(*a);
  agent::HttpApi http(watcher.get());
  if (Status s = http.Start(agent_options.listen_address); !s.ok()) {
    spdlog::critical("cdc_watched: {}", s.ToString());
    return 1;
  }
  spdlog::info("job: backend={} join TTL={} revenue TTL=90d; {} simulated hours per second",
               options.backend, options.leaky ? "NONE (leaky)" : "7d", speed / 3600);
  const std::string api = fmt::format(
      "http://{}:{}",
      agent_options.listen_address.substr(0, agent_options.listen_address.rfind(':')), http.port());
  spdlog::info("agent: {}/api/v1/states  {}/metrics", api, api);

  for (int d = 0; d < days && !g_stop; ++d) {
    Status s = job->RunDay();
    if (!s.ok()) {
      if (g_stop) break;
      spdlog::critical("cdc_watched: day {}: {}", d, s.ToString());
      return 1;
    }
  }
  if (hold && !g_stop) {
    (void)watcher->Deliver();
    spdlog::info("holding at {}: serving {}/metrics until SIGINT/SIGTERM",
                 SimTime(clock.NowMillis()), api);
    // Nothing to do but wait for the signal; its handler only sets the flag.
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  http.Stop();
  (void)watcher->Deliver();
  spdlog::info("cdc_watched stopped at {}", SimTime(clock.NowMillis()));
  return 0;
}
