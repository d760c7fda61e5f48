#include "statewatch/agent/agent.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "statewatch/agent/signal_help.h"
#include "statewatch/collectors/registry.h"
#include "statewatch/storage/labels_text.h"

namespace statewatch::agent {

// The agent's own metrics (DESIGN.md: statewatch_collector_up, …_duration_seconds,
// statewatch_rule_evaluation_duration_seconds, statewatch_alerts).
struct Agent::Metrics {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Gauge>& collector_up =
      prometheus::BuildGauge()
          .Name("statewatch_collector_up")
          .Help("1 when the source's last collection succeeded, 0 when it failed.")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& collector_duration =
      prometheus::BuildGauge()
          .Name("statewatch_collector_duration_seconds")
          .Help("How long the source's last collection took.")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& collector_samples =
      prometheus::BuildGauge()
          .Name("statewatch_collector_samples")
          .Help("Samples the source's last collection produced.")
          .Register(registry);
  prometheus::Gauge& rule_duration = prometheus::BuildGauge()
                                         .Name("statewatch_rule_evaluation_duration_seconds")
                                         .Help("How long the last evaluation of all rules took.")
                                         .Register(registry)
                                         .Add({});
  prometheus::Counter& rule_evaluations = prometheus::BuildCounter()
                                              .Name("statewatch_rule_evaluations_total")
                                              .Help("Rule evaluation cycles run.")
                                              .Register(registry)
                                              .Add({});
  prometheus::Family<prometheus::Gauge>& alerts =
      prometheus::BuildGauge()
          .Name("statewatch_alerts")
          .Help("Active alerts by state (pending, firing).")
          .Register(registry);
  prometheus::Gauge& reload_ok = prometheus::BuildGauge()
                                     .Name("statewatch_config_last_reload_successful")
                                     .Help("1 when the last config (re)load succeeded.")
                                     .Register(registry)
                                     .Add({});
  prometheus::Gauge& reload_time =
      prometheus::BuildGauge()
          .Name("statewatch_config_last_reload_success_timestamp_seconds")
          .Help("Unix time of the last successful config (re)load.")
          .Register(registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& notifications =
      prometheus::BuildCounter()
          .Name("statewatch_notifications_total")
          .Help("Notification attempts by receiver and result (delivered, retried, dropped).")
          .Register(registry);
  prometheus::Gauge& queued = prometheus::BuildGauge()
                                  .Name("statewatch_notifications_queued")
                                  .Help("Notifications in the outbox, not yet acknowledged.")
                                  .Register(registry)
                                  .Add({});
  prometheus::Counter& samples_stored = prometheus::BuildCounter()
                                            .Name("statewatch_storage_samples_appended_total")
                                            .Help("Samples written to the history.")
                                            .Register(registry)
                                            .Add({});
  prometheus::Counter& storage_errors = prometheus::BuildCounter()
                                            .Name("statewatch_storage_errors_total")
                                            .Help("Failed writes to the history or alert store.")
                                            .Register(registry)
                                            .Add({});
  prometheus::Family<prometheus::Gauge>& storage_size =
      prometheus::BuildGauge()
          .Name("statewatch_storage_size_bytes")
          .Help("Size of the SQLite files (db=samples|alerts).")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& storage_ok =
      prometheus::BuildGauge()
          .Name("statewatch_storage_last_write_successful")
          .Help(
              "1 when the last write to the SQLite file succeeded (db=samples|alerts), 0 while "
              "writes fail (a full disk, a read-only file system).")
          .Register(registry);

  // Whether the last write to each store succeeded: a failing store is logged when it starts
  // failing and when it recovers, not at every cycle (a full disk would flood the journal).
  std::mutex write_mu;
  std::map<std::string, bool> write_ok;
};

struct Agent::Source {
  SourceConfig config;
  std::unique_ptr<collectors::Collector> collector;
  std::mutex collect_mu;  // one Collect at a time

  mutable std::mutex status_mu;  // guards status and latest
  SourceStatus status;
  bool collected = false;
  std::vector<rules::Sample> latest;

  prometheus::Gauge* up = nullptr;
  prometheus::Gauge* duration = nullptr;
  prometheus::Gauge* samples = nullptr;
};

struct Agent::Pipeline {
  Config config;
  std::string external_url;
  std::vector<std::shared_ptr<Source>> sources;
  std::mutex rules_mu;  // guards engine
  std::unique_ptr<rules::RuleEngine> engine;
  std::unique_ptr<Notifier> notifier;
};

namespace {

// How many unstored transitions or alert-log entries an agent keeps for a retry while its alert
// store cannot be written: enough for a long outage of a busy agent, small next to its memory.
constexpr size_t kMaxRetainedWrites = 10'000;

template <typename T>
std::vector<T> KeepNewest(std::vector<T> items, size_t limit) {
  if (items.size() > limit) items.erase(items.begin(), items.end() - static_cast<long>(limit));
  return items;
}

std::chrono::milliseconds LongestWindow(const std::vector<rules::RuleSpec>& specs) {
  std::chrono::milliseconds longest{0};
  for (const rules::RuleSpec& r : specs) longest = std::max(longest, r.window);
  return longest;
}

Status EnsureDirectory(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("--storage.path must not be empty");
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return Status::IOError("storage path " + path + " is not a directory");
    return Status::OK();
  }
  if (mkdir(path.c_str(), 0750) != 0) {
    return Status::IOError("cannot create storage directory " + path + ": " + std::strerror(errno));
  }
  return Status::OK();
}

rules::Alert AlertFromRecord(const storage::ActiveAlertRecord& r) {
  rules::Alert a;
  a.rule = r.alertname;
  if (Result<rules::Labels> labels = storage::LabelsFromText(r.labels); labels.ok()) {
    a.labels = *labels;
  }
  const nlohmann::json annotations = nlohmann::json::parse(r.annotations_json, nullptr, false);
  if (annotations.is_object()) {
    for (const auto& [k, v] : annotations.items()) {
      if (v.is_string()) a.annotations[k] = v.get<std::string>();
    }
  }
  a.state = r.state == "firing" ? rules::AlertState::kFiring : rules::AlertState::kPending;
  a.value = r.value;
  a.active_at_millis = r.active_at_millis;
  a.fired_at_millis = r.fired_at_millis;
  a.last_active_millis = r.last_active_millis;
  a.fingerprint = r.fingerprint;
  return a;
}

std::string AnnotationsJson(const std::map<std::string, std::string>& annotations) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : annotations) j[k] = v;
  return j.dump();
}

}  // namespace

Agent::Agent(AgentOptions options) : options_(std::move(options)) {}

Agent::~Agent() {
  // Gauges point into metrics_; drop the pipeline first.
  std::lock_guard<std::mutex> lock(pipeline_mu_);
  pipeline_.reset();
}

Result<std::unique_ptr<Agent>> Agent::Create(AgentOptions options) {
  if (options.clock == nullptr) options.clock = SystemClock::Default();
  Result<Config> config = LoadConfigFile(options.config_file);
  if (!config.ok()) return config.status();
  SW_RETURN_IF_ERROR(EnsureDirectory(options.storage_path));

  std::unique_ptr<Agent> agent(new Agent(std::move(options)));
  agent->metrics_ = std::make_unique<Metrics>();
  Result<std::unique_ptr<storage::SampleStore>> samples =
      storage::SampleStore::Open(agent->options_.storage_path + "/samples.db");
  if (!samples.ok()) return samples.status();
  agent->samples_ = std::move(*samples);
  Result<std::unique_ptr<storage::AlertStore>> alerts =
      storage::AlertStore::Open(agent->options_.storage_path + "/alerts.db");
  if (!alerts.ok()) return alerts.status();
  agent->alerts_ = std::move(*alerts);

  // Pending and firing alerts from before the restart keep their `for:` progress.
  std::vector<rules::Alert> restore;
  Result<std::vector<storage::ActiveAlertRecord>> active = agent->alerts_->ActiveAlerts();
  if (!active.ok()) return active.status();
  for (const storage::ActiveAlertRecord& r : *active) restore.push_back(AlertFromRecord(r));

  Result<std::shared_ptr<Pipeline>> pipeline = agent->Build(*config, restore);
  if (!pipeline.ok()) return pipeline.status();
  agent->pipeline_ = std::move(*pipeline);
  agent->metrics_->reload_ok.Set(1);
  for (const char* db : {"samples", "alerts"}) agent->metrics_->storage_ok.Add({{"db", db}}).Set(1);
  agent->metrics_->reload_time.Set(static_cast<double>(agent->options_.clock->NowMillis()) / 1e3);
  spdlog::info("statewatchd: {} sources, {} rules, {} receivers; {} alerts restored",
               config->sources.size(), config->rules.size(), config->receivers.size(),
               restore.size());
  return agent;
}

Result<std::shared_ptr<Agent::Pipeline>> Agent::Build(
    const Config& config, const std::vector<rules::Alert>& restore) const {
  auto p = std::make_shared<Pipeline>();
  p->config = config;
  p->external_url =
      config.external_url.empty() ? "http://" + options_.listen_address : config.external_url;
  while (!p->external_url.empty() && p->external_url.back() == '/') p->external_url.pop_back();

  for (const SourceConfig& sc : config.sources) {
    collectors::CollectorParams params;
    params.source = sc.name;
    params.job = sc.job;
    params.options = sc.options;
    params.engines = &options_.engines;
    Result<std::unique_ptr<collectors::Collector>> collector =
        collectors::BuiltinCollectors().Create(sc.type, params);
    if (!collector.ok()) {
      return Status::InvalidArgument(sc.position + ": " + collector.status().message());
    }
    auto source = std::make_shared<Source>();
    source->config = sc;
    source->collector = std::move(*collector);
    source->status.name = sc.name;
    source->status.type = sc.type;
    source->status.job = sc.job;
    const prometheus::Labels labels = {{"collector", sc.type}, {"source", sc.name}};
    source->up = &metrics_->collector_up.Add(labels);
    source->duration = &metrics_->collector_duration.Add(labels);
    source->samples = &metrics_->collector_samples.Add(labels);
    p->sources.push_back(std::move(source));
  }

  Notifier::Options notifier_options;
  notifier_options.external_url = p->external_url;
  notifier_options.notifications = &metrics_->notifications;
  Result<std::unique_ptr<Notifier>> notifier =
      Notifier::Create(alerts_.get(), config.receivers, notifier_options);
  if (!notifier.ok()) return notifier.status();
  p->notifier = std::move(*notifier);

  // The windows are rebuilt from the stored history, so a restart or a reload does not have
  // to wait a whole window before the trend rules can judge again.
  p->engine = std::make_unique<rules::RuleEngine>(config.rules);
  const int64_t now = options_.clock->NowMillis();
  const int64_t from = now - LongestWindow(config.rules).count();
  size_t replayed = 0;
  SW_RETURN_IF_ERROR(samples_->ForEachSample(from, now, [&](const rules::Sample& s) {
    p->engine->Observe(s);
    ++replayed;
  }));
  for (const rules::Alert& alert : restore) {
    p->engine->RestoreAlert(alert);
    p->notifier->MarkNotified(alert);
  }
  spdlog::debug("rule windows rebuilt from {} stored samples", replayed);
  return p;
}

std::shared_ptr<Agent::Pipeline> Agent::pipeline() const {
  std::lock_guard<std::mutex> lock(pipeline_mu_);
  return pipeline_;
}

Status Agent::CollectSource(const std::string& name) {
  std::shared_ptr<Pipeline> p = pipeline();
  auto it = std::find_if(p->sources.begin(), p->sources.end(),
                         [&](const auto& s) { return s->config.name == name; });
  if (it == p->sources.end()) return Status::NotFound("no source named '" + name + "'");
  Source& source = **it;

  std::lock_guard<std::mutex> collect_lock(source.collect_mu);
  const int64_t now = options_.clock->NowMillis();
  std::vector<rules::Sample> out;
  const auto start = std::chrono::steady_clock::now();
  Status status = source.collector->Collect(now, &out);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  bool was_up = false;
  {
    std::lock_guard<std::mutex> lock(source.status_mu);
    was_up = source.status.up || !source.collected;
    source.status.up = status.ok();
    source.status.last_error = status.ok() ? "" : status.ToString();
    source.status.last_collect_millis = now;
    source.status.last_duration_seconds = seconds;
    source.status.last_samples = out.size();
    source.latest = out;
    // Gauges before `collected`: once /-/ready says every source was collected, /metrics
    // shows each one's outcome.
    source.up->Set(status.ok() ? 1 : 0);
    source.duration->Set(seconds);
    source.samples->Set(static_cast<double>(out.size()));
    source.collected = true;
  }
  // Log a failing source once when it goes down and once when it recovers, not every cycle.
  if (!status.ok() && was_up) {
    spdlog::error("source '{}' ({}) failed: {}", name, source.config.type, status.ToString());
  } else if (status.ok() && !was_up) {
    spdlog::info("source '{}' ({}) recovered", name, source.config.type);
  }

  if (!out.empty()) {
    // Samples that cannot be stored are dropped (counted, logged): the rules still see them,
    // so alerting goes on while the history has a gap.
    const Status stored = samples_->Append(out);
    NoteWrite("samples", stored, [&] {
      return "storing " + std::to_string(out.size()) + " samples of source '" + name + "'";
    });
    if (stored.ok()) metrics_->samples_stored.Increment(static_cast<double>(out.size()));
    std::lock_guard<std::mutex> lock(p->rules_mu);
    p->engine->Observe(out);
  }
  return status;
}

void Agent::NoteWrite(const std::string& db, const Status& status,
                      const std::function<std::string()>& what) const {
  metrics_->storage_ok.Add({{"db", db}}).Set(status.ok() ? 1 : 0);
  if (!status.ok()) metrics_->storage_errors.Increment();
  std::lock_guard<std::mutex> lock(metrics_->write_mu);
  auto it = metrics_->write_ok.try_emplace(db, true).first;
  if (!status.ok() && it->second) {
    spdlog::error(
        "{}: {} (further failures of the {} store are logged at debug level until "
        "it recovers)",
        what(), status.ToString(), db);
  } else if (!status.ok()) {
    spdlog::debug("{}: {}", what(), status.ToString());
  } else if (!it->second) {
    spdlog::info("writes to the {} store succeed again", db);
  }
  it->second = status.ok();
}

Status Agent::CollectAll() {
  Status first;
  for (const auto& source : pipeline()->sources) {
    Status s = CollectSource(source->config.name);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Result<std::vector<rules::AlertTransition>> Agent::Evaluate() {
  std::shared_ptr<Pipeline> p = pipeline();
  std::lock_guard<std::mutex> lock(p->rules_mu);
  const int64_t now = options_.clock->NowMillis();
  const auto start = std::chrono::steady_clock::now();
  std::vector<rules::AlertTransition> transitions = p->engine->Evaluate(now);
  std::vector<rules::Alert> alerts = p->engine->Alerts();
  metrics_->rule_duration.Set(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  metrics_->rule_evaluations.Increment();

  size_t pending = 0, firing = 0;
  for (const rules::Alert& a : alerts) {
    (a.state == rules::AlertState::kFiring ? firing : pending)++;
  }
  metrics_->alerts.Add({{"state", "pending"}}).Set(static_cast<double>(pending));
  metrics_->alerts.Add({{"state", "firing"}}).Set(static_cast<double>(firing));

  std::vector<storage::AlertLogEntry> log;
  for (const rules::AlertTransition& t : transitions) {
    const rules::Alert& a = t.alert;
    const std::string labels = storage::LabelsToText(a.labels);
    const bool resolved = a.state == rules::AlertState::kInactive && a.resolved_at_millis != 0;
    const char* to = resolved ? "resolved" : rules::AlertStateName(a.state);
    spdlog::info("alert {}{} {} -> {} (value {})", a.rule, labels, rules::AlertStateName(t.from),
                 to, a.value);
    storage::AlertLogEntry entry;
    entry.t_millis = now;
    entry.alertname = a.rule;
    entry.labels = labels;
    entry.fingerprint = a.fingerprint;
    entry.from_state = rules::AlertStateName(t.from);
    entry.to_state = to;
    entry.value = a.value;
    entry.annotations_json = AnnotationsJson(a.annotations);
    log.push_back(std::move(entry));
  }
  std::vector<storage::ActiveAlertRecord> records;
  for (const rules::Alert& a : alerts) {
    storage::ActiveAlertRecord r;
    r.fingerprint = a.fingerprint;
    r.alertname = a.rule;
    r.labels = storage::LabelsToText(a.labels);
    r.state = rules::AlertStateName(a.state);
    r.active_at_millis = a.active_at_millis;
    r.fired_at_millis = a.fired_at_millis;
    r.last_active_millis = a.last_active_millis;
    r.value = a.value;
    r.annotations_json = AnnotationsJson(a.annotations);
    records.push_back(std::move(r));
  }
  // The notifications, the log and the active set in one transaction: a kill anywhere leaves
  // the evaluation before this one or this one, so the restart neither misses a notification
  // nor re-derives (and re-sends) one already queued. What could not be stored (a full disk)
  // is kept here, bounded, and committed with the next evaluation.
  std::lock_guard<std::mutex> retry_lock(retry_mu_);
  std::vector<rules::AlertTransition> to_queue = std::move(unqueued_);
  to_queue.insert(to_queue.end(), transitions.begin(), transitions.end());
  std::vector<storage::AlertLogEntry> to_log = std::move(unlogged_);
  to_log.insert(to_log.end(), std::make_move_iterator(log.begin()),
                std::make_move_iterator(log.end()));
  unqueued_.clear();
  unlogged_.clear();
  const Notifier::Plan plan = p->notifier->PlanNotifications(to_queue, alerts, now);
  const Status committed = alerts_->CommitEvaluation(plan.notifications, to_log, records, now);
  NoteWrite("alerts", committed, [&] {
    return "storing the evaluation (" + std::to_string(plan.notifications.size()) +
           " notifications, " + std::to_string(to_log.size()) + " transitions, " +
           std::to_string(records.size()) + " active alerts)";
  });
  if (committed.ok()) {
    p->notifier->Apply(plan);
  } else {
    unqueued_ = KeepNewest(std::move(to_queue), kMaxRetainedWrites);
    unlogged_ = KeepNewest(std::move(to_log), kMaxRetainedWrites);
  }
  if (Result<size_t> queued = alerts_->QueuedCount(); queued.ok()) {
    metrics_->queued.Set(static_cast<double>(*queued));
  }
  if (!committed.ok()) return committed;
  return transitions;
}

Result<DeliveryResult> Agent::Deliver() {
  Result<DeliveryResult> result = pipeline()->notifier->DeliverDue(options_.clock->NowMillis());
  if (Result<size_t> queued = alerts_->QueuedCount(); queued.ok()) {
    metrics_->queued.Set(static_cast<double>(*queued));
  }
  return result;
}

Status Agent::ApplyRetention() {
  const Config c = config();
  storage::RetentionPolicy policy;
  policy.retention = c.retention;
  policy.downsample_after = c.downsample_after;
  policy.resolution = c.downsample_resolution;
  const int64_t now = options_.clock->NowMillis();
  Result<storage::RetentionStats> stats = samples_->ApplyRetention(now, policy);
  NoteWrite("samples", stats.status(), [] { return std::string("applying retention"); });
  if (!stats.ok()) return stats.status();
  const Status pruned = alerts_->PruneLog(now - c.retention.count());
  NoteWrite("alerts", pruned, [] { return std::string("pruning the alert log"); });
  SW_RETURN_IF_ERROR(pruned);
  if (Result<int64_t> size = samples_->SizeBytes(); size.ok()) {
    metrics_->storage_size.Add({{"db", "samples"}}).Set(static_cast<double>(*size));
  }
  return Status::OK();
}

Status Agent::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  Result<Config> config = LoadConfigFile(options_.config_file);
  Result<std::shared_ptr<Pipeline>> next = config.ok() ? Build(*config, Alerts()) : config.status();
  if (!next.ok()) {
    metrics_->reload_ok.Set(0);
    spdlog::error("reloading {} failed; keeping the running config: {}", options_.config_file,
                  next.status().ToString());
    return next.status();
  }
  std::shared_ptr<Pipeline> previous;
  {
    std::lock_guard<std::mutex> lock(pipeline_mu_);
    previous = std::exchange(pipeline_, std::move(*next));
  }
  // Sources that left the config take their health series with them.
  const std::shared_ptr<Pipeline> current = pipeline();
  for (const auto& old : previous->sources) {
    const bool kept = std::any_of(current->sources.begin(), current->sources.end(), [&](auto& s) {
      return s->config.name == old->config.name && s->config.type == old->config.type;
    });
    if (!kept) {
      metrics_->collector_up.Remove(old->up);
      metrics_->collector_duration.Remove(old->duration);
      metrics_->collector_samples.Remove(old->samples);
    }
  }
  metrics_->reload_ok.Set(1);
  metrics_->reload_time.Set(static_cast<double>(options_.clock->NowMillis()) / 1e3);
  spdlog::info("reloaded {}: {} sources, {} rules, {} receivers", options_.config_file,
               current->config.sources.size(), current->config.rules.size(),
               current->config.receivers.size());
  if (reload_listener_) reload_listener_();
  return Status::OK();
}

void Agent::SetReloadListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  reload_listener_ = std::move(listener);
}

bool Agent::ready() const {
  for (const auto& source : pipeline()->sources) {
    std::lock_guard<std::mutex> lock(source->status_mu);
    if (!source->collected) return false;
  }
  return true;
}

Config Agent::config() const {
  return pipeline()->config;
}

const std::string& Agent::external_url() const {
  return pipeline()->external_url;
}

std::vector<SourceStatus> Agent::Sources() const {
  std::vector<SourceStatus> out;
  for (const auto& source : pipeline()->sources) {
    std::lock_guard<std::mutex> lock(source->status_mu);
    out.push_back(source->status);
  }
  return out;
}

std::vector<rules::Alert> Agent::Alerts() const {
  std::shared_ptr<Pipeline> p = pipeline();
  if (!p) return {};
  std::lock_guard<std::mutex> lock(p->rules_mu);
  return p->engine->Alerts();
}

std::vector<rules::StateVerdict> Agent::Verdicts() const {
  std::shared_ptr<Pipeline> p = pipeline();
  std::lock_guard<std::mutex> lock(p->rules_mu);
  return p->engine->Verdicts(options_.clock->NowMillis());
}

Result<std::optional<int64_t>> Agent::NextDeliveryMillis() const {
  return pipeline()->notifier->NextAttemptMillis();
}

std::string Agent::MetricsText() const {
  std::vector<prometheus::MetricFamily> families = metrics_->registry.Collect();
  // The latest collected signals, one family per name, as gauges (counters by their _total).
  std::map<std::string, prometheus::MetricFamily> signals;
  for (const auto& source : pipeline()->sources) {
    std::lock_guard<std::mutex> lock(source->status_mu);
    for (const rules::Sample& s : source->latest) {
      prometheus::MetricFamily& family = signals[s.series];
      if (family.name.empty()) {
        family.name = s.series;
        family.help = SignalHelp(s.series);
        const bool counter = s.series.size() > 6 && s.series.ends_with("_total");
        family.type = counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
      }
      prometheus::ClientMetric metric;
      for (const auto& [name, value] : s.labels) metric.label.push_back({name, value});
      if (family.type == prometheus::MetricType::Counter) {
        metric.counter.value = s.value;
      } else {
        metric.gauge.value = s.value;
      }
      family.metric.push_back(std::move(metric));
    }
  }
  for (auto& [name, family] : signals) families.push_back(std::move(family));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace statewatch::agent
