// statewatchd: the monitoring agent as a daemon. Flags follow Prometheus' own.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "statewatch/agent/agent.h"
#include "statewatch/agent/http_api.h"
#include "statewatch/agent/scheduler.h"

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
  CLI11_PARSE(app, argc, argv);

  // One line per event on stderr; journald adds its own timestamps but plain runs need them.
  auto logger = spdlog::stderr_color_mt("statewatchd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  Result<std::unique_ptr<agent::Agent>> created = agent::Agent::Create(options);
  if (!created.ok()) {
    spdlog::critical("{}", created.status().ToString());
    return 1;
  }
  agent::Agent& a = **created;
  // Signals are handled by the scheduler's signal_set; construct it before anything else can
  // receive SIGTERM with the default (killing) action.
  agent::Scheduler scheduler(&a);
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
