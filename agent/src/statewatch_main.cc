// statewatch: the command-line companion of statewatchd — check-config, inspect, backtest and
// export.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "statewatch/agent/backtest.h"
#include "statewatch/agent/check_config.h"
#include "statewatch/agent/export.h"
#include "statewatch/agent/inspect.h"

namespace {

int CheckConfig(const std::vector<std::string>& files) {
  int failed = 0;
  for (const std::string& file : files) {
    std::printf("Checking %s\n", file.c_str());
    std::string summary;
    statewatch::Status s = statewatch::agent::CheckConfigFile(file, &summary);
    if (s.ok()) {
      std::printf("  SUCCESS: %s\n", summary.c_str());
    } else {
      std::fprintf(stderr, "  FAILED: %s\n", s.message().c_str());
      ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}

int Inspect(const std::string& dir, bool json, const statewatch::agent::InspectOptions& options) {
  statewatch::Result<statewatch::agent::InspectReport> report =
      statewatch::agent::Inspect(dir, options);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().message().c_str());
    return 2;
  }
  const int code = statewatch::agent::ExitCode(*report);
  if (json) {
    std::fputs(statewatch::agent::RenderJson(*report).c_str(), stdout);
  } else if (code == 2) {
    std::fprintf(stderr, "inspect: %s: %s\n", dir.c_str(), report->description.c_str());
  } else {
    std::fputs(statewatch::agent::RenderText(*report).c_str(), stdout);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"statewatch: tools for statewatchd's configuration and data"};
  app.require_subcommand(1);
  std::vector<std::string> files;
  CLI::App* check = app.add_subcommand("check-config", "Check statewatchd configuration files");
  check->add_option("files", files, "Configuration files")->required()->check(CLI::ExistingFile);

  std::string dir;
  bool json = false;
  statewatch::agent::InspectOptions options;
  CLI::App* inspect = app.add_subcommand(
      "inspect",
      "Read-only doctor for a RocksDB directory or a checkpoint root (statewatch or Flink): what "
      "it is, column families with key estimates, SST bytes per level, pending compaction, TTL "
      "compaction filter or not, recent write stalls from its LOG, checkpoint history with "
      "growth rate, and findings with advice. Never writes into DIR (a live database is read "
      "through a secondary instance whose own files go to a temporary directory).");
  inspect->add_option("dir", dir, "RocksDB directory or checkpoint root")->required();
  inspect->add_flag("--json", json,
                    "One JSON object on stdout (its fields: README, statewatch inspect)");
  inspect
      ->add_option("--log.lines", options.log_lines,
                   "How many of the LOG's last stall lines to list")
      ->capture_default_str();
  inspect->footer(
      "Exit status: 0 inspected, verdict healthy or advice only; 1 inspected, a warning or "
      "critical finding (write stalls, pending compaction near its limit, checkpoints growing "
      "steadily, incomplete checkpoints); 2 not inspected (missing or unreadable path, empty "
      "directory, neither a RocksDB directory nor a checkpoint root).\n");

  statewatch::agent::BacktestOptions backtest_options;
  CLI::App* backtest =
      app.add_subcommand("backtest", "Replay recorded series (CSV) through the alerting rules");
  backtest->add_option("--input", backtest_options.input,
                       "Required: CSV with the header timestamp,series,value ('-': stdin)");
  backtest->add_option("--config.file", backtest_options.config_file,
                       "statewatchd configuration whose rules to use (default: built-in rules)");
  backtest->add_option("--step", backtest_options.step,
                       "Evaluate every DURATION (default: at every distinct timestamp)");
  backtest->add_option("--output", backtest_options.output, "json or text (default: json)");
  backtest->add_flag("--skip-bad-rows", backtest_options.skip_bad_rows,
                     "Count and skip malformed rows instead of failing");
  statewatch::agent::ExportOptions export_options;
  CLI::App* export_command =
      app.add_subcommand("export", "Write statewatchd's stored samples to stdout as backtest CSV");
  export_command->add_option("--storage.path", export_options.storage_path,
                             "Required: statewatchd's --storage.path (holds samples.db)");
  export_command->add_option("--from", export_options.from,
                             "Unix seconds or RFC 3339 (default: the oldest sample)");
  export_command->add_option("--to", export_options.to,
                             "Unix seconds or RFC 3339 (default: the newest sample)");
  CLI11_PARSE(app, argc, argv);
  if (*backtest) return statewatch::agent::RunBacktest(backtest_options, std::cout, std::cerr);
  if (*export_command) return statewatch::agent::RunExport(export_options, std::cout, std::cerr);

  if (*inspect) return Inspect(dir, json, options);
  return CheckConfig(files);
}
