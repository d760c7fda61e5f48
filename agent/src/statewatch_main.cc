// statewatch: the command-line companion of statewatchd (check-config now; backtest, export and
// inspect join it with issues #5 and #8).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "statewatch/agent/check_config.h"

int main(int argc, char** argv) {
  CLI::App app{"statewatch: tools for statewatchd's configuration and data"};
  app.require_subcommand(1);
  std::vector<std::string> files;
  CLI::App* check = app.add_subcommand("check-config", "Check statewatchd configuration files");
  check->add_option("files", files, "Configuration files")->required()->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

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
