// statewatch: the command-line companion of statewatchd (check-config, inspect; backtest and
// export join it with issues #5 and #8).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "statewatch/agent/check_config.h"
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
  CLI11_PARSE(app, argc, argv);

  if (*inspect) return Inspect(dir, json, options);
  return CheckConfig(files);
}
