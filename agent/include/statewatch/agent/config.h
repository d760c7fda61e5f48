// statewatchd's configuration file (YAML), read strictly: a key the agent does not know is an
// error, not silently ignored, and every error names FILE:LINE:COLUMN and what was expected —
// as Prometheus does for its own configuration.
//
//   global:
//     scrape_interval: 15s         # default 15s
//     evaluation_interval: 1m      # default 1m
//   storage:
//     retention: 30d               # default 30d
//   sources:
//     - name: cdc                  # required, unique
//       type: rocksdb_dir          # engine | rocksdb_dir | prometheus | flink_rest |
//       checkpoint_dir job: cdc                   # default: the name interval: 30s              #
//       default: global.scrape_interval options:                   # per type; checked by the
//       collector
//         path: /var/lib/job/state
//
// Rules, receivers and the rest of the file arrive with issue #3.
//
// Thread-safety: a loaded Config is a value.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "statewatch/state/status.h"

namespace statewatch::agent {

struct SourceConfig {
  std::string name;
  std::string type;
  std::string job;
  std::chrono::milliseconds interval{0};
  std::map<std::string, std::string> options;
};

struct Config {
  std::chrono::milliseconds scrape_interval = std::chrono::seconds(15);
  std::chrono::milliseconds evaluation_interval = std::chrono::minutes(1);
  std::chrono::milliseconds retention = std::chrono::hours(24 * 30);
  std::vector<SourceConfig> sources;
};

// Source types the agent knows.
inline constexpr const char* kSourceTypes[] = {"engine", "rocksdb_dir", "prometheus", "flink_rest",
                                               "checkpoint_dir"};

// InvalidArgument "FILE:LINE:COLUMN: message" for malformed YAML, a wrong type, an unknown key,
// a bad duration, a missing or duplicate source name or an unknown source type; IOError naming
// the file when it cannot be read.
Result<Config> LoadConfigFile(const std::string& path);
// The same for YAML text; `name` stands for the file in messages.
Result<Config> ParseConfig(const std::string& yaml, const std::string& name);

}  // namespace statewatch::agent
