#include "statewatch/agent/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "statewatch/agent/duration.h"
#include "statewatch/agent/secret_file.h"
#include "statewatch/collectors/registry.h"
#include "statewatch/state/backend_options.h"

namespace statewatch::agent {
namespace {

// Reads one config document, turning every problem into "NAME:LINE:COLUMN: message".
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  std::string Position(const YAML::Mark& mark) const {
    if (mark.is_null()) return name_;
    return name_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }

  Status Error(const YAML::Mark& mark, const std::string& message) const {
    return Status::InvalidArgument(Position(mark) + ": " + message);
  }

  // Requires a mapping whose keys are all in `allowed`.
  Status CheckMap(const YAML::Node& node, const std::string& what,
                  std::initializer_list<const char*> allowed) const {
    if (!node.IsMap()) return Error(node.Mark(), what + ": expected a mapping");
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string known;
        for (const char* a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
        return Error(kv.first.Mark(),
                     "unknown key '" + key + "' in " + what + " (known: " + known + ")");
      }
    }
    return Status::OK();
  }

  Status String(const YAML::Node& node, const std::string& what, std::string* out) const {
    if (!node.IsScalar()) return Error(node.Mark(), what + ": expected a string");
    *out = node.Scalar();
    return Status::OK();
  }

  Status Duration(const YAML::Node& node, const std::string& what,
                  std::chrono::milliseconds* out) const {
    if (!node.IsScalar()) return Error(node.Mark(), what + ": expected a duration such as 30s");
    Result<std::chrono::milliseconds> d = ParseDuration(node.Scalar());
    if (!d.ok()) return Error(node.Mark(), what + ": " + d.status().message());
    if (d->count() <= 0) return Error(node.Mark(), what + ": must be positive");
    *out = *d;
    return Status::OK();
  }

  // A duration that may be zero ("for: 0s" means at once).
  Status DurationOrZero(const YAML::Node& node, const std::string& what,
                        std::chrono::milliseconds* out) const {
    if (!node.IsScalar()) return Error(node.Mark(), what + ": expected a duration such as 30s");
    Result<std::chrono::milliseconds> d = ParseDuration(node.Scalar());
    if (!d.ok()) return Error(node.Mark(), what + ": " + d.status().message());
    *out = *d;
    return Status::OK();
  }

  Status Bool(const YAML::Node& node, const std::string& what, bool* out) const {
    if (node.IsScalar()) {
      const std::string& v = node.Scalar();
      if (v == "true") return (*out = true, Status::OK());
      if (v == "false") return (*out = false, Status::OK());
    }
    return Error(node.Mark(), what + ": expected true or false");
  }

  // A plain number (1e9, 0.9) or, for sizes, a byte size such as 64MiB or 2GB.
  Status Number(const YAML::Node& node, const std::string& what, double* out) const {
    if (node.IsScalar()) {
      const std::string& v = node.Scalar();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (!v.empty() && end == v.c_str() + v.size() && std::isfinite(d)) {
        *out = d;
        return Status::OK();
      }
      if (Result<uint64_t> bytes = ParseByteSize(v); bytes.ok()) {
        *out = static_cast<double>(*bytes);
        return Status::OK();
      }
    }
    return Error(node.Mark(), what + ": expected a number (0.9, 1e9) or a byte size (64MiB)");
  }

  Status Count(const YAML::Node& node, const std::string& what, size_t* out) const {
    double d = 0;
    SW_RETURN_IF_ERROR(Number(node, what, &d));
    if (d < 0 || d != std::floor(d)) return Error(node.Mark(), what + ": expected a whole number");
    // 2^64 and beyond do not convert to size_t (undefined behaviour, not a big count).
    if (d >= static_cast<double>(std::numeric_limits<size_t>::max())) {
      return Error(node.Mark(), what + ": too large");
    }
    *out = static_cast<size_t>(d);
    return Status::OK();
  }

  // A mapping of strings (labels, matchers, annotations).
  Status StringMap(const YAML::Node& node, const std::string& what,
                   std::map<std::string, std::string>* out) const {
    if (!node.IsMap()) return Error(node.Mark(), what + ": expected a mapping");
    for (const auto& kv : node) {
      std::string value;
      SW_RETURN_IF_ERROR(String(kv.second, what + " '" + kv.first.Scalar() + "'", &value));
      (*out)[kv.first.Scalar()] = value;
    }
    return Status::OK();
  }

  Status LabelSet(const YAML::Node& node, const std::string& what, rules::Labels* out) const {
    std::map<std::string, std::string> map;
    SW_RETURN_IF_ERROR(StringMap(node, what, &map));
    out->assign(map.begin(), map.end());  // std::map iterates sorted: the canonical order
    return Status::OK();
  }

  Status Rule(const YAML::Node& node, rules::RuleSpec* out) const {
    SW_RETURN_IF_ERROR(CheckMap(node, "a rule",
                                {"alert",
                                 "type",
                                 "series",
                                 "matchers",
                                 "window",
                                 "min_samples",
                                 "min_r_squared",
                                 "floor",
                                 "limit",
                                 "op",
                                 "threshold",
                                 "ttl_series",
                                 "companion_series",
                                 "companion_ignoring",
                                 "flat_tolerance",
                                 "horizon",
                                 "for",
                                 "keep_firing_for",
                                 "labels",
                                 "annotations"}));
    if (!node["alert"]) return Error(node.Mark(), "rule: 'alert' is required");
    SW_RETURN_IF_ERROR(String(node["alert"], "rule alert", &out->alert));
    const std::string what = "rule '" + out->alert + "'";
    if (!node["type"]) return Error(node.Mark(), what + ": 'type' is required");
    std::string type;
    SW_RETURN_IF_ERROR(String(node["type"], what + " type", &type));
    std::optional<rules::RuleType> parsed = rules::ParseRuleType(type);
    if (!parsed) {
      return Error(node["type"].Mark(),
                   what + ": unknown type '" + type +
                       "' (known: trend, threshold, missing_ttl, ttl_cleanup_stalled, "
                       "append_only, forecast)");
    }
    out->type = *parsed;
    // The evidence rules have one natural pair of series each; a config may still name others.
    if (out->type == rules::RuleType::kMissingTtl) out->series = "statewatch_state_keys";
    if (out->type == rules::RuleType::kTtlCleanupStalled) {
      out->series = "statewatch_state_keys";
      out->companion_series = "statewatch_state_expired_total";
      out->companion_ignoring = {"cleanup"};
    }
    if (out->type == rules::RuleType::kAppendOnly) {
      out->series = "statewatch_checkpoint_full_size_bytes";
      out->companion_series = "statewatch_checkpoint_delta_size_bytes";
    }
    if (node["series"]) SW_RETURN_IF_ERROR(String(node["series"], what + " series", &out->series));
    if (out->series.empty()) return Error(node.Mark(), what + ": 'series' is required");
    if (node["matchers"])
      SW_RETURN_IF_ERROR(LabelSet(node["matchers"], what + " matchers", &out->matchers));
    if (node["window"])
      SW_RETURN_IF_ERROR(Duration(node["window"], what + " window", &out->window));
    if (node["min_samples"]) {
      SW_RETURN_IF_ERROR(Count(node["min_samples"], what + " min_samples", &out->min_samples));
    }
    if (node["min_r_squared"]) {
      SW_RETURN_IF_ERROR(
          Number(node["min_r_squared"], what + " min_r_squared", &out->min_r_squared));
    }
    if (node["floor"]) SW_RETURN_IF_ERROR(Number(node["floor"], what + " floor", &out->floor));
    if (node["limit"]) {
      double limit = 0;
      SW_RETURN_IF_ERROR(Number(node["limit"], what + " limit", &limit));
      out->limit = limit;
    }
    if (node["op"]) {
      std::string op;
      SW_RETURN_IF_ERROR(String(node["op"], what + " op", &op));
      std::optional<rules::CompareOp> parsed_op = rules::ParseCompareOp(op);
      if (!parsed_op) {
        return Error(node["op"].Mark(),
                     what + ": unknown op '" + op + "' (known: < <= > >= == !=)");
      }
      out->op = *parsed_op;
    }
    if (out->type == rules::RuleType::kThreshold && !node["threshold"]) {
      return Error(node.Mark(), what + ": a threshold rule needs 'threshold'");
    }
    if (node["threshold"]) {
      SW_RETURN_IF_ERROR(Number(node["threshold"], what + " threshold", &out->threshold));
    }
    if (node["ttl_series"]) {
      SW_RETURN_IF_ERROR(String(node["ttl_series"], what + " ttl_series", &out->ttl_series));
    }
    if (node["companion_series"]) {
      SW_RETURN_IF_ERROR(
          String(node["companion_series"], what + " companion_series", &out->companion_series));
    }
    if (const YAML::Node ignoring = node["companion_ignoring"]; ignoring) {
      if (!ignoring.IsSequence()) {
        return Error(ignoring.Mark(), what + " companion_ignoring: expected a list of label names");
      }
      out->companion_ignoring.clear();
      for (const YAML::Node& name : ignoring) {
        std::string label;
        SW_RETURN_IF_ERROR(String(name, what + " companion_ignoring", &label));
        out->companion_ignoring.push_back(std::move(label));
      }
    }
    if (node["flat_tolerance"]) {
      SW_RETURN_IF_ERROR(
          Number(node["flat_tolerance"], what + " flat_tolerance", &out->flat_tolerance));
    }
    if (node["horizon"]) {
      SW_RETURN_IF_ERROR(Duration(node["horizon"], what + " horizon", &out->horizon));
    }
    if (node["for"])
      SW_RETURN_IF_ERROR(DurationOrZero(node["for"], what + " for", &out->for_duration));
    if (node["keep_firing_for"]) {
      SW_RETURN_IF_ERROR(DurationOrZero(node["keep_firing_for"], what + " keep_firing_for",
                                        &out->keep_firing_for));
    }
    if (node["labels"])
      SW_RETURN_IF_ERROR(LabelSet(node["labels"], what + " labels", &out->labels));
    if (node["annotations"]) {
      SW_RETURN_IF_ERROR(StringMap(node["annotations"], what + " annotations", &out->annotations));
    }
    if (Status valid = rules::ValidateRule(*out); !valid.ok()) {
      return Error(node.Mark(), valid.message());
    }
    return Status::OK();
  }

  Status Receiver(const YAML::Node& node, ReceiverConfig* out) const {
    SW_RETURN_IF_ERROR(CheckMap(node, "a receiver",
                                {"name", "type", "url", "bearer_token_file", "hmac_secret_file",
                                 "timeout", "send_resolved", "repeat_interval"}));
    if (!node["name"]) return Error(node.Mark(), "receiver: 'name' is required");
    SW_RETURN_IF_ERROR(String(node["name"], "receiver name", &out->name));
    if (out->name.empty()) return Error(node["name"].Mark(), "receiver name must not be empty");
    const std::string what = "receiver '" + out->name + "'";
    if (node["type"]) SW_RETURN_IF_ERROR(String(node["type"], what + " type", &out->type));
    if (out->type != "webhook" && out->type != "alertmanager") {
      return Error(node["type"].Mark(),
                   what + ": unknown type '" + out->type + "' (known: alertmanager, webhook)");
    }
    // Alertmanager wants to hear about a firing alert regularly (Prometheus re-sends every
    // minute, its resend_delay); a webhook receiver only every few hours.
    if (out->type == "alertmanager") out->repeat_interval = std::chrono::minutes(1);
    if (!node["url"]) return Error(node.Mark(), what + ": 'url' is required");
    SW_RETURN_IF_ERROR(String(node["url"], what + " url", &out->url));
    if (out->url.rfind("http://", 0) != 0 && out->url.rfind("https://", 0) != 0) {
      return Error(node["url"].Mark(), what + ": url must start with http:// or https://");
    }
    if (node["bearer_token_file"]) {
      SW_RETURN_IF_ERROR(
          String(node["bearer_token_file"], what + " bearer_token_file", &out->bearer_token_file));
    }
    if (node["hmac_secret_file"]) {
      SW_RETURN_IF_ERROR(
          String(node["hmac_secret_file"], what + " hmac_secret_file", &out->hmac_secret_file));
    }
    if (node["timeout"])
      SW_RETURN_IF_ERROR(Duration(node["timeout"], what + " timeout", &out->timeout));
    if (node["send_resolved"]) {
      SW_RETURN_IF_ERROR(Bool(node["send_resolved"], what + " send_resolved", &out->send_resolved));
    }
    if (node["repeat_interval"]) {
      SW_RETURN_IF_ERROR(
          Duration(node["repeat_interval"], what + " repeat_interval", &out->repeat_interval));
    }
    return Status::OK();
  }

  Status Source(const YAML::Node& node, const Config& config, SourceConfig* out) const {
    SW_RETURN_IF_ERROR(CheckMap(node, "a source", {"name", "type", "job", "interval", "options"}));
    if (!node["name"]) return Error(node.Mark(), "source: 'name' is required");
    SW_RETURN_IF_ERROR(String(node["name"], "source name", &out->name));
    if (out->name.empty()) return Error(node["name"].Mark(), "source name must not be empty");
    const std::string what = "source '" + out->name + "'";
    out->position = Position(node.Mark());
    if (!node["type"]) return Error(node.Mark(), what + ": 'type' is required");
    SW_RETURN_IF_ERROR(String(node["type"], what + " type", &out->type));
    const std::vector<std::string> types = collectors::BuiltinCollectors().Types();
    if (std::find(types.begin(), types.end(), out->type) == types.end()) {
      std::string known;
      for (const std::string& t : types) known += (known.empty() ? "" : ", ") + t;
      return Error(node["type"].Mark(),
                   what + ": unknown type '" + out->type + "' (known: " + known + ")");
    }
    out->job = out->name;
    if (node["job"]) SW_RETURN_IF_ERROR(String(node["job"], what + " job", &out->job));
    out->interval = config.scrape_interval;
    if (node["interval"]) {
      SW_RETURN_IF_ERROR(Duration(node["interval"], what + " interval", &out->interval));
    }
    if (const YAML::Node options = node["options"]) {
      if (!options.IsMap()) return Error(options.Mark(), what + " options: expected a mapping");
      for (const auto& kv : options) {
        std::string value;
        SW_RETURN_IF_ERROR(String(kv.second, what + " option '" + kv.first.Scalar() + "'", &value));
        out->options[kv.first.Scalar()] = value;
      }
    }
    return Status::OK();
  }

  Result<Config> Document(const YAML::Node& root) const {
    Config config;
    if (root.IsNull()) {  // an empty file: all defaults, no sources
      config.rules = rules::DefaultRules();
      return config;
    }
    SW_RETURN_IF_ERROR(CheckMap(root, "the top level",
                                {"global", "storage", "web", "sources", "rules", "receivers"}));
    if (const YAML::Node web = root["web"]) {
      SW_RETURN_IF_ERROR(CheckMap(web, "web", {"bearer_token_file"}));
      if (web["bearer_token_file"]) {
        SW_RETURN_IF_ERROR(String(web["bearer_token_file"], "web.bearer_token_file",
                                  &config.web.bearer_token_file));
        Result<std::string> token =
            ReadSecretFile(config.web.bearer_token_file, "web.bearer_token_file");
        if (!token.ok()) return Error(web["bearer_token_file"].Mark(), token.status().message());
        config.web.bearer_token = *token;
      }
    }
    if (const YAML::Node global = root["global"]) {
      SW_RETURN_IF_ERROR(
          CheckMap(global, "global", {"scrape_interval", "evaluation_interval", "external_url"}));
      if (global["external_url"]) {
        SW_RETURN_IF_ERROR(
            String(global["external_url"], "global.external_url", &config.external_url));
      }
      if (global["scrape_interval"]) {
        SW_RETURN_IF_ERROR(
            Duration(global["scrape_interval"], "global.scrape_interval", &config.scrape_interval));
      }
      if (global["evaluation_interval"]) {
        SW_RETURN_IF_ERROR(Duration(global["evaluation_interval"], "global.evaluation_interval",
                                    &config.evaluation_interval));
      }
    }
    if (const YAML::Node storage = root["storage"]) {
      SW_RETURN_IF_ERROR(
          CheckMap(storage, "storage", {"retention", "downsample_after", "downsample_resolution"}));
      if (storage["retention"]) {
        SW_RETURN_IF_ERROR(Duration(storage["retention"], "storage.retention", &config.retention));
      }
      if (storage["downsample_after"]) {
        SW_RETURN_IF_ERROR(Duration(storage["downsample_after"], "storage.downsample_after",
                                    &config.downsample_after));
      }
      if (storage["downsample_resolution"]) {
        SW_RETURN_IF_ERROR(Duration(storage["downsample_resolution"],
                                    "storage.downsample_resolution",
                                    &config.downsample_resolution));
      }
      if (config.downsample_after >= config.retention) {
        return Error(storage.Mark(), "storage: downsample_after (" +
                                         FormatDuration(config.downsample_after) +
                                         ") must be shorter than retention (" +
                                         FormatDuration(config.retention) + ")");
      }
    }
    if (const YAML::Node sources = root["sources"]) {
      if (!sources.IsSequence()) return Error(sources.Mark(), "sources: expected a list");
      std::set<std::string> names;
      for (const YAML::Node& node : sources) {
        SourceConfig source;
        SW_RETURN_IF_ERROR(Source(node, config, &source));
        if (!names.insert(source.name).second) {
          return Error(node["name"].Mark(), "duplicate source name '" + source.name + "'");
        }
        config.sources.push_back(std::move(source));
      }
    }
    if (const YAML::Node rule_list = root["rules"]) {
      if (!rule_list.IsSequence()) return Error(rule_list.Mark(), "rules: expected a list");
      std::set<std::string> seen;
      for (const YAML::Node& node : rule_list) {
        rules::RuleSpec rule;
        SW_RETURN_IF_ERROR(Rule(node, &rule));
        // Prometheus allows several rules per alertname; we key alerts by rule name, so not.
        if (!seen.insert(rule.alert).second) {
          return Error(node["alert"].Mark(), "duplicate rule alert '" + rule.alert + "'");
        }
        config.rules.push_back(std::move(rule));
      }
    } else {
      config.rules = rules::DefaultRules();
    }
    if (const YAML::Node receivers = root["receivers"]) {
      if (!receivers.IsSequence()) return Error(receivers.Mark(), "receivers: expected a list");
      std::set<std::string> names;
      for (const YAML::Node& node : receivers) {
        ReceiverConfig receiver;
        SW_RETURN_IF_ERROR(Receiver(node, &receiver));
        if (!names.insert(receiver.name).second) {
          return Error(node["name"].Mark(), "duplicate receiver name '" + receiver.name + "'");
        }
        config.receivers.push_back(std::move(receiver));
      }
    }
    return config;
  }

 private:
  std::string name_;
};

}  // namespace

Result<Config> ParseConfig(const std::string& yaml, const std::string& name) {
  Reader reader(name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return reader.Error(e.mark, e.msg);
  }
  return reader.Document(root);
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("error reading config file " + path);
  return ParseConfig(text.str(), path);
}

}  // namespace statewatch::agent
