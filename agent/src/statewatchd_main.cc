// statewatchd: the monitoring agent as a daemon. Flags follow Prometheus' own.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "statewatch/agent/agent.h"
#include "statewatch/agent/http_api.h"
#include "statewatch/agent/scheduler.h"
#include "statewatch/agent/systemd_notify.h"

namespace {

// One line for `systemctl status`.
std::string StatusLine(const statewatch::agent::Agent& a) {
  const statewatch::agent::Config c = a.config();
  return "watching " + std::to_string(c.sources.size()) + " sources with " +
         std::to_string(c.rules.size()) + " rules";
}

// READY=1 once every source was collected once (as /-/ready), heartbeats for WatchdogSec=,
// RELOADING=1/READY=1 around SIGHUP, STOPPING=1 at shutdown.
statewatch::agent::Scheduler::Hooks SystemdHooks(statewatch::agent::Agent& a,
                                                 statewatch::agent::SystemdNotifier& systemd) {
  statewatch::agent::Scheduler::Hooks hooks;
  hooks.after_collection = [&a, &systemd] {
    if (a.ready()) systemd.Ready(StatusLine(a));
  };
  hooks.reloading = [&systemd] { systemd.Reloading(); };
  hooks.reloaded = [&a, &systemd] { systemd.Reloaded(StatusLine(a)); };
  hooks.stopping = [&systemd] { systemd.Stopping(); };
  if (std::optional<std::chrono::microseconds> every = systemd.WatchdogInterval()) {
    hooks.heartbeat_interval = *every;
    hooks.heartbeat = [&systemd] { systemd.Watchdog(); };
  }
  return hooks;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace statewatch;
  CLI::App app{
      "statewatchd: watches keyed state and RocksDB, alerts before state outgrows its job"};
  agent::AgentOptions options;
  options.config_file = "/etc/statewatch/statewatch.yaml";
  options.storage_path = "/var/lib/statewatch";
  std::string log_level = "info";
  app.add_option("--config.file", options.config_file, "Configuration file (YAML)")
      ->capture_default_str();
  app.add_option("--web.listen-address", options.listen_address,
                 "Address for /metrics, /-/… and /api/v1 (host:port; port 0 picks a free one)")
      ->capture_default_str();
  app.add_option("--storage.path", options.storage_path,
                 "Directory for samples.db and alerts.db (created when missing)")
      ->capture_default_str();
  app.add_option("--log.level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  bool allow_root = false;
  app.add_flag("--allow-root", allow_root,
               "Run even as root (a monitoring agent needs no privileges; the package runs it as "
               "user statewatch)");
  CLI11_PARSE(app, argc, argv);

  // One line per event on stderr; journald adds its own timestamps but plain runs need them.
  auto logger = spdlog::stderr_color_mt("statewatchd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (::geteuid() == 0 && !allow_root) {
    spdlog::critical(
        "refusing to run as root: statewatchd reads what it watches and writes only its "
        "storage, so it needs no privileges. Run it as its own user (the package's unit runs it "
        "as user statewatch), or pass --allow-root to run as root anyway");
    return 1;
  }
  Result<std::unique_ptr<agent::Agent>> created = agent::Agent::Create(options);
  if (!created.ok()) {
    spdlog::critical("{}", created.status().ToString());
    return 1;
  }
  agent::Agent& a = **created;
  // Signals are handled by the scheduler's signal_set; construct it before anything else can
  // receive SIGTERM with the default (killing) action.
  agent::Scheduler scheduler(&a);
  scheduler.CatchSignals();
  agent::SystemdNotifier systemd;
  if (systemd.enabled()) scheduler.SetHooks(SystemdHooks(a, systemd));
  agent::HttpApi http(&a);
  if (Status s = http.Start(options.listen_address); !s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  scheduler.Run(/*handle_signals=*/true);
  http.Stop();
  // One last attempt for anything queued in the final cycle; what fails stays in the outbox.
  if (Result<agent::DeliveryResult> d = a.Deliver(); !d.ok()) {
    spdlog::error("final delivery: {}", d.status().ToString());
  }
  spdlog::info("statewatchd stopped");
  return 0;
}
