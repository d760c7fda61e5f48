#include "statewatch/agent/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "statewatch/agent/duration.h"

namespace statewatch::agent {
namespace {

// Reads one config document, turning every problem into "NAME:LINE:COLUMN: message".
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  Status Error(const YAML::Mark& mark, const std::string& message) const {
    if (mark.is_null()) return Status::InvalidArgument(name_ + ": " + message);
    return Status::InvalidArgument(name_ + ":" + std::to_string(mark.line + 1) + ":" +
                                   std::to_string(mark.column + 1) + ": " + message);
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

  Status Source(const YAML::Node& node, const Config& config, SourceConfig* out) const {
    SW_RETURN_IF_ERROR(CheckMap(node, "a source", {"name", "type", "job", "interval", "options"}));
    if (!node["name"]) return Error(node.Mark(), "source: 'name' is required");
    SW_RETURN_IF_ERROR(String(node["name"], "source name", &out->name));
    if (out->name.empty()) return Error(node["name"].Mark(), "source name must not be empty");
    const std::string what = "source '" + out->name + "'";
    if (!node["type"]) return Error(node.Mark(), what + ": 'type' is required");
    SW_RETURN_IF_ERROR(String(node["type"], what + " type", &out->type));
    if (std::none_of(std::begin(kSourceTypes), std::end(kSourceTypes),
                     [&](const char* t) { return out->type == t; })) {
      std::string known;
      for (const char* t : kSourceTypes) known += (known.empty() ? "" : ", ") + std::string(t);
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
    if (root.IsNull()) return config;  // an empty file: all defaults, no sources
    SW_RETURN_IF_ERROR(CheckMap(root, "the top level", {"global", "storage", "sources"}));
    if (const YAML::Node global = root["global"]) {
      SW_RETURN_IF_ERROR(CheckMap(global, "global", {"scrape_interval", "evaluation_interval"}));
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
      SW_RETURN_IF_ERROR(CheckMap(storage, "storage", {"retention"}));
      if (storage["retention"]) {
        SW_RETURN_IF_ERROR(Duration(storage["retention"], "storage.retention", &config.retention));
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
