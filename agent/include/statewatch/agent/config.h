// statewatchd's configuration file (YAML), read strictly: a key the agent does not know is an
// error, not silently ignored, and every error names FILE:LINE:COLUMN and what was expected —
// as Prometheus does for its own configuration. Where the agent listens and where it stores its
// data are flags (--web.listen-address, --storage.path), as in Prometheus, not file keys.
//
//   global:
//     scrape_interval: 15s         # default 15s
//     evaluation_interval: 1m      # default 1m
//     external_url: http://h:9465  # generatorURL/externalURL of alerts; default from the flag
//   storage:
//     retention: 30d               # default 30d
//     downsample_after: 2d         # older samples thinned to one per resolution; default 2d
//     downsample_resolution: 5m    # default 5m
//   sources:
//     - name: cdc                  # required, unique; the `source` label
//       type: rocksdb_dir          # a registered collector type (check-config lists them)
//       job: cdc                   # default: the name
//       interval: 30s              # default: global.scrape_interval
//       options:                   # per type; checked by the collector
//         path: /var/lib/job/state
//   rules:                         # absent: the built-in rules; []: none
//     - alert: StateGrowingWithoutBound
//       type: trend                # trend | threshold | missing_ttl | ttl_cleanup_stalled |
//                                  #   append_only | forecast (rules/rule.h says what each does)
//       series: statewatch_state_keys
//       matchers: {job: cdc}       # equality matchers on labels
//       window: 24h                # trend, missing_ttl
//       min_samples: 10
//       min_r_squared: 0.9
//       floor: 1000                # a number or a byte size (64MiB)
//       limit: 100GiB              # trend: projected time until the line reaches it
//       op: '<'                    # threshold: < <= > >= == !=
//       threshold: 0.9
//       ttl_series: statewatch_state_ttl_seconds
//       companion_series: statewatch_state_expired_total  # ttl_cleanup_stalled, append_only,
//       companion_ignoring: [cleanup]                      #   forecast (the limit's series)
//       flat_tolerance: 0.25       # append_only
//       horizon: 24h               # forecast: how far ahead the line may reach the limit
//       for: 1h
//       keep_firing_for: 0s
//       labels: {severity: warning}
//       annotations: {summary: 'State {{ $labels.state }} grows {{ $value | humanize }}/h'}
//   web:
//     bearer_token_file: /etc/statewatch/api-token  # /-/reload needs Authorization: Bearer …
//   receivers:
//     - name: ops                  # required, unique
//       type: webhook              # Alertmanager webhook v4 JSON
//       url: http://127.0.0.1:5001/alerts
//       bearer_token_file: /etc/statewatch/token      # optional; Authorization: Bearer …
//       hmac_secret_file: /etc/statewatch/hmac        # optional; X-Statewatch-Signature
//       timeout: 10s               # default 10s
//       send_resolved: true        # default true
//       repeat_interval: 4h        # re-send while firing; default 4h (alertmanager: 1m)
//     - name: am
//       type: alertmanager         # POST /api/v2/alerts, as Prometheus does; endsAt while firing
//       url: http://127.0.0.1:9093 #   is now + 4 × repeat_interval, the resolve time once resolved
//
// Thread-safety: a loaded Config is a value.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "statewatch/rules/rule.h"
#include "statewatch/state/status.h"

namespace statewatch::agent {

struct SourceConfig {
  std::string name;
  std::string type;
  std::string job;
  std::chrono::milliseconds interval{0};
  std::map<std::string, std::string> options;
  std::string position;  // "FILE:LINE:COLUMN" of the entry, for errors found later
};

struct ReceiverConfig {
  std::string name;
  std::string type = "webhook";
  std::string url;
  std::string bearer_token_file;  // empty: no Authorization header
  std::string hmac_secret_file;   // empty: no signature
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  bool send_resolved = true;
  std::chrono::milliseconds repeat_interval = std::chrono::hours(4);
};

// The HTTP API's protection (`web:`).
struct WebConfig {
  // When set, /-/reload (POST, PUT) — every endpoint that changes something — requires
  // `Authorization: Bearer <the file's first line>`; reads stay open. Empty: no token.
  std::string bearer_token_file;
  std::string bearer_token;  // read from the file at load; never logged
};

struct Config {
  std::chrono::milliseconds scrape_interval = std::chrono::seconds(15);
  std::chrono::milliseconds evaluation_interval = std::chrono::minutes(1);
  std::string external_url;  // empty: derived from --web.listen-address
  std::chrono::milliseconds retention = std::chrono::hours(24 * 30);
  std::chrono::milliseconds downsample_after = std::chrono::hours(48);
  std::chrono::milliseconds downsample_resolution = std::chrono::minutes(5);
  std::vector<SourceConfig> sources;
  std::vector<rules::RuleSpec> rules;  // the built-in rules unless the file has `rules:`
  std::vector<ReceiverConfig> receivers;
  WebConfig web;
};

// InvalidArgument "FILE:LINE:COLUMN: message" for malformed YAML, a wrong type, an unknown key,
// a bad duration, a missing or duplicate name, a source type no collector is registered for, a
// rule that does not validate or a receiver without a URL; IOError naming the file when it
// cannot be read. Source options are checked later, by the collector (CheckSources).
Result<Config> LoadConfigFile(const std::string& path);
// The same for YAML text; `name` stands for the file in messages.
Result<Config> ParseConfig(const std::string& yaml, const std::string& name);

}  // namespace statewatch::agent
