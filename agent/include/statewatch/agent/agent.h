// Agent: statewatchd's core — sources, history, rules and notifications wired together, with
// no scheduler and no HTTP of its own (Scheduler and HttpApi drive it), so it can equally run
// inside a stream application that links it as a library and drives it from its own loop, on its
// own (simulated) clock.
//
// One cycle of the data flow (DESIGN.md):
//   CollectSource: collector → samples → SampleStore (SQLite) + RuleEngine windows + /metrics
//   Evaluate:      RuleEngine → transitions → alert log + active alerts (AlertStore) → outbox
//   Deliver:       outbox → webhook receivers (retried until a 2xx, kept across restarts)
//
// On Create and on every Reload the rule engine's windows are rebuilt from the stored history
// and pending/firing alerts are restored, so neither a restart nor a reload restarts `for:` or
// re-sends what was already sent.
//
// Thread-safety: every public method may be called from any thread. Collections of one source
// are serialized (a collector never runs twice at once); evaluation is serialized; different
// sources collect in parallel. Engine sources read an in-process KeyedStateBackend: with the
// heap backend, drive CollectSource from the thread that owns the backend (see engine.h).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "statewatch/agent/config.h"
#include "statewatch/agent/notifier.h"
#include "statewatch/rules/rule_engine.h"
#include "statewatch/state/clock.h"
#include "statewatch/state/keyed_state_backend.h"
#include "statewatch/storage/alert_store.h"
#include "statewatch/storage/sample_store.h"

namespace prometheus {
class Registry;
}

namespace statewatch::agent {

struct AgentOptions {
  std::string config_file;  // read on Create, re-read on Reload
  // Directory for samples.db and alerts.db; created when missing (its parent must exist).
  std::string storage_path;
  // Used for external_url when the config sets none ("http://<address>").
  std::string listen_address = "127.0.0.1:9465";
  const Clock* clock = nullptr;  // default: the system clock
  // In-process backends that "engine" sources may name (option `backend`). Not owned.
  std::map<std::string, KeyedStateBackend*> engines;
};

// One stored-and-current view of a source, for /metrics and the API.
struct SourceStatus {
  std::string name;
  std::string type;
  std::string job;
  bool up = false;
  std::string last_error;
  int64_t last_collect_millis = 0;
  double last_duration_seconds = 0;
  size_t last_samples = 0;
};

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> Create(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Collects one source now. A failing source sets its `up` to 0 and returns the error; the
  // samples it did produce are still stored.
  Status CollectSource(const std::string& name);
  // Every source once, in config order; returns the first error after trying all.
  Status CollectAll();
  // Evaluates the rules at the clock's now, logs transitions, queues notifications.
  Result<std::vector<rules::AlertTransition>> Evaluate();
  // Sends what is due in the outbox.
  Result<DeliveryResult> Deliver();
  // Deletes and downsamples history per the config's storage section.
  Status ApplyRetention();
  // Re-reads the config file. On error the running config stays, the error is logged and
  // statewatch_config_last_reload_successful goes to 0.
  Status Reload();

  // Called after a successful Reload (the scheduler re-arms its timers).
  void SetReloadListener(std::function<void()> listener);

  // True once every source has been collected at least once (success or not) — /-/ready.
  bool ready() const;

  Config config() const;
  std::vector<SourceStatus> Sources() const;
  std::vector<rules::Alert> Alerts() const;
  std::vector<rules::StateVerdict> Verdicts() const;
  // The next time the outbox has something due (nullopt: empty).
  Result<std::optional<int64_t>> NextDeliveryMillis() const;
  // The Prometheus text exposition of the agent's own metrics and the latest collected signals.
  std::string MetricsText() const;

  storage::SampleStore* samples() const { return samples_.get(); }
  storage::AlertStore* alert_store() const { return alerts_.get(); }
  const Clock* clock() const { return options_.clock; }
  const std::string& external_url() const;

 private:
  struct Source;
  struct Metrics;
  struct Pipeline;  // what a config builds: sources, rule engine, notifier

  explicit Agent(AgentOptions options);
  Result<std::shared_ptr<Pipeline>> Build(const Config& config,
                                          const std::vector<rules::Alert>& restore) const;
  std::shared_ptr<Pipeline> pipeline() const;
  // Records the outcome of a write to one store (`db`: samples, alerts): the error counter and
  // statewatch_storage_last_write_successful; logs `what()` when the store starts failing and
  // says when it recovers.
  void NoteWrite(const std::string& db, const Status& status,
                 const std::function<std::string()>& what) const;

  AgentOptions options_;
  std::unique_ptr<storage::SampleStore> samples_;
  std::unique_ptr<storage::AlertStore> alerts_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex pipeline_mu_;  // guards the pointer, not the pipeline
  std::shared_ptr<Pipeline> pipeline_;
  std::mutex reload_mu_;  // one Reload at a time

  // Transitions the outbox and alert-log entries the log could not store (a full disk), tried
  // again at the next evaluation; bounded (the newest are kept).
  std::mutex retry_mu_;
  std::vector<rules::AlertTransition> unqueued_;
  std::vector<storage::AlertLogEntry> unlogged_;
  std::function<void()> reload_listener_;
};

}  // namespace statewatch::agent
