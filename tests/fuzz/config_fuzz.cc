// Fuzzes statewatchd's YAML configuration loader (agent/config.h: ParseConfig), which reads
// /etc/statewatch/statewatch.yaml at start and on every reload.
//
// Invariants beyond "does not crash" (and never throws):
//   - deterministic: the same text gives the same Config, or the same error;
//   - an error is InvalidArgument and names the file ("fuzz.yaml…");
//   - a Config that loads is valid: every rule passes rules::ValidateRule; names are unique and
//     non-empty; source types are registered; receivers have an http(s) URL and a known type;
//     durations are positive where required and survive FormatDuration → ParseDuration;
//     without `rules:` the built-in rules apply;
//   - written back as YAML (every field explicit, double-quoted), it loads to the same Config
//     (checked when every string is printable ASCII, which the emitter keeps byte for byte).
//
// web.bearer_token_file names a file that is read (never written). Inputs naming /dev, /proc
// or /sys are skipped: reading /dev/zero or a FIFO would never end.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include "fuzz_check.h"
#include "statewatch/agent/config.h"
#include "statewatch/agent/duration.h"
#include "statewatch/collectors/registry.h"
#include "statewatch/rules/rule.h"

namespace {

using statewatch::Result;
using statewatch::agent::Config;
using statewatch::agent::ParseConfig;
using statewatch::rules::RuleSpec;

constexpr char kName[] = "fuzz.yaml";

std::string Double(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", d);
  return buf;
}

// Every field of a Config, as text, for comparing two of them.
std::string Dump(const Config& c, bool with_positions) {
  std::ostringstream o;
  o << "scrape=" << c.scrape_interval.count() << " eval=" << c.evaluation_interval.count()
    << " external=" << c.external_url << " retention=" << c.retention.count()
    << " ds_after=" << c.downsample_after.count() << " ds_res=" << c.downsample_resolution.count()
    << " token_file=" << c.web.bearer_token_file << " token=" << c.web.bearer_token << "\n";
  for (const auto& s : c.sources) {
    o << "source " << s.name << "|" << s.type << "|" << s.job << "|" << s.interval.count();
    for (const auto& [k, v] : s.options) o << "|" << k << "=" << v;
    if (with_positions) o << "|@" << s.position;
    o << "\n";
  }
  for (const RuleSpec& r : c.rules) {
    o << "rule " << r.alert << "|" << static_cast<int>(r.type) << "|" << r.series << "|";
    for (const auto& [k, v] : r.matchers) o << k << "=" << v << ",";
    o << "|" << r.window.count() << "|" << r.min_samples << "|" << Double(r.min_r_squared) << "|"
      << Double(r.floor) << "|" << (r.limit ? Double(*r.limit) : "none") << "|"
      << static_cast<int>(r.op) << "|" << Double(r.threshold) << "|" << r.ttl_series << "|"
      << r.companion_series << "|";
    for (const auto& i : r.companion_ignoring) o << i << ",";
    o << "|" << Double(r.flat_tolerance) << "|" << r.horizon.count() << "|"
      << r.for_duration.count() << "|" << r.keep_firing_for.count() << "|";
    for (const auto& [k, v] : r.labels) o << k << "=" << v << ",";
    o << "|";
    for (const auto& [k, v] : r.annotations) o << k << "=" << v << ",";
    o << "\n";
  }
  for (const auto& r : c.receivers) {
    o << "receiver " << r.name << "|" << r.type << "|" << r.url << "|" << r.bearer_token_file << "|"
      << r.hmac_secret_file << "|" << r.timeout.count() << "|" << r.send_resolved << "|"
      << r.repeat_interval.count() << "\n";
  }
  return o.str();
}

// Writes a Config back as YAML; `printable` turns false when a string is not printable ASCII.
class Writer {
 public:
  std::string Write(const Config& c) {
    out_.SetStringFormat(YAML::DoubleQuoted);
    out_ << YAML::BeginMap;
    Key("global");
    out_ << YAML::BeginMap;
    Pair("scrape_interval", Duration(c.scrape_interval));
    Pair("evaluation_interval", Duration(c.evaluation_interval));
    Pair("external_url", c.external_url);
    out_ << YAML::EndMap;
    Key("storage");
    out_ << YAML::BeginMap;
    Pair("retention", Duration(c.retention));
    Pair("downsample_after", Duration(c.downsample_after));
    Pair("downsample_resolution", Duration(c.downsample_resolution));
    out_ << YAML::EndMap;
    if (!c.web.bearer_token_file.empty()) {
      Key("web");
      out_ << YAML::BeginMap;
      Pair("bearer_token_file", c.web.bearer_token_file);
      out_ << YAML::EndMap;
    }
    Key("sources");
    out_ << YAML::BeginSeq;
    for (const auto& s : c.sources) {
      out_ << YAML::BeginMap;
      Pair("name", s.name);
      Pair("type", s.type);
      Pair("job", s.job);
      Pair("interval", Duration(s.interval));
      Key("options");
      Map(s.options);
      out_ << YAML::EndMap;
    }
    out_ << YAML::EndSeq;
    Key("rules");
    out_ << YAML::BeginSeq;
    for (const RuleSpec& r : c.rules) Rule(r);
    out_ << YAML::EndSeq;
    Key("receivers");
    out_ << YAML::BeginSeq;
    for (const auto& r : c.receivers) {
      out_ << YAML::BeginMap;
      Pair("name", r.name);
      Pair("type", r.type);
      Pair("url", r.url);
      if (!r.bearer_token_file.empty()) Pair("bearer_token_file", r.bearer_token_file);
      if (!r.hmac_secret_file.empty()) Pair("hmac_secret_file", r.hmac_secret_file);
      Pair("timeout", Duration(r.timeout));
      Pair("send_resolved", r.send_resolved ? "true" : "false");
      Pair("repeat_interval", Duration(r.repeat_interval));
      out_ << YAML::EndMap;
    }
    out_ << YAML::EndSeq;
    out_ << YAML::EndMap;
    return out_.c_str();
  }
  bool printable() const { return printable_; }

 private:
  static std::string Duration(std::chrono::milliseconds d) {
    return statewatch::agent::FormatDuration(d);
  }
  static std::string Number(double d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }
  void Scalar(const std::string& s) {
    for (char c : s) {
      if (c < 0x20 || c > 0x7e) printable_ = false;
    }
    out_ << s;
  }
  void Key(const std::string& k) {
    out_ << YAML::Key;
    Scalar(k);
    out_ << YAML::Value;
  }
  void Pair(const std::string& k, const std::string& v) {
    Key(k);
    Scalar(v);
  }
  template <typename M>
  void Map(const M& m) {
    out_ << YAML::BeginMap;
    for (const auto& [k, v] : m) Pair(k, v);
    out_ << YAML::EndMap;
  }
  void Rule(const RuleSpec& r) {
    out_ << YAML::BeginMap;
    Pair("alert", r.alert);
    Pair("type", statewatch::rules::RuleTypeName(r.type));
    Pair("series", r.series);
    Key("matchers");
    Map(r.matchers);
    Pair("window", Duration(r.window));
    Pair("min_samples", std::to_string(r.min_samples));
    Pair("min_r_squared", Number(r.min_r_squared));
    Pair("floor", Number(r.floor));
    if (r.limit) Pair("limit", Number(*r.limit));
    Pair("op", statewatch::rules::CompareOpText(r.op));
    Pair("threshold", Number(r.threshold));
    Pair("ttl_series", r.ttl_series);
    Pair("companion_series", r.companion_series);
    Key("companion_ignoring");
    out_ << YAML::BeginSeq;
    for (const auto& i : r.companion_ignoring) Scalar(i);
    out_ << YAML::EndSeq;
    Pair("flat_tolerance", Number(r.flat_tolerance));
    Pair("horizon", Duration(r.horizon));
    Pair("for", Duration(r.for_duration));
    Pair("keep_firing_for", Duration(r.keep_firing_for));
    Key("labels");
    Map(r.labels);
    Key("annotations");
    Map(r.annotations);
    out_ << YAML::EndMap;
  }

  YAML::Emitter out_;
  bool printable_ = true;
};

void CheckDuration(std::chrono::milliseconds d, bool positive, const std::string& what) {
  FUZZ_CHECK(positive ? d.count() > 0 : d.count() >= 0, what);
  const Result<std::chrono::milliseconds> back =
      statewatch::agent::ParseDuration(statewatch::agent::FormatDuration(d));
  FUZZ_CHECK(back.ok() && *back == d, what + " " + statewatch::agent::FormatDuration(d));
}

void CheckValid(const Config& c, bool has_rules_key) {
  CheckDuration(c.scrape_interval, true, "scrape_interval");
  CheckDuration(c.evaluation_interval, true, "evaluation_interval");
  CheckDuration(c.retention, true, "retention");
  CheckDuration(c.downsample_after, true, "downsample_after");
  CheckDuration(c.downsample_resolution, true, "downsample_resolution");
  FUZZ_CHECK(c.downsample_after < c.retention);
  FUZZ_CHECK(c.web.bearer_token.empty() == c.web.bearer_token_file.empty());

  const std::vector<std::string> types = statewatch::collectors::BuiltinCollectors().Types();
  std::set<std::string> names;
  for (const auto& s : c.sources) {
    FUZZ_CHECK(!s.name.empty());
    FUZZ_CHECK(names.insert(s.name).second, "duplicate source " + s.name);
    FUZZ_CHECK(std::find(types.begin(), types.end(), s.type) != types.end(), s.type);
    CheckDuration(s.interval, true, "source interval");
    FUZZ_CHECK(s.position.rfind(kName, 0) == 0, s.position);
  }
  names.clear();
  for (const RuleSpec& r : c.rules) {
    const statewatch::Status valid = statewatch::rules::ValidateRule(r);
    FUZZ_CHECK(valid.ok(),
               "rule " + r.alert + " loaded but does not validate: " + valid.ToString());
    FUZZ_CHECK(names.insert(r.alert).second, "duplicate rule " + r.alert);
    CheckDuration(r.window, true, "rule window");
    CheckDuration(r.horizon, true, "rule horizon");
    CheckDuration(r.for_duration, false, "rule for");
    CheckDuration(r.keep_firing_for, false, "rule keep_firing_for");
  }
  if (!has_rules_key) {
    FUZZ_CHECK(c.rules.size() == statewatch::rules::DefaultRules().size());
  }
  names.clear();
  for (const auto& r : c.receivers) {
    FUZZ_CHECK(!r.name.empty());
    FUZZ_CHECK(names.insert(r.name).second, "duplicate receiver " + r.name);
    FUZZ_CHECK(r.type == "webhook" || r.type == "alertmanager", r.type);
    FUZZ_CHECK(r.url.rfind("http://", 0) == 0 || r.url.rfind("https://", 0) == 0, r.url);
    CheckDuration(r.timeout, true, "receiver timeout");
    CheckDuration(r.repeat_interval, true, "receiver repeat_interval");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = statewatch::fuzz::AsString(data, size);
  for (const char* special : {"/dev", "/proc", "/sys"}) {
    if (text.find(special) != std::string::npos) return 0;
  }
  const Result<Config> first = ParseConfig(text, kName);
  const Result<Config> second = ParseConfig(text, kName);
  FUZZ_CHECK(first.ok() == second.ok());
  if (!first.ok()) {
    FUZZ_CHECK(first.status().ToString() == second.status().ToString());
    FUZZ_CHECK(first.status().IsInvalidArgument(), first.status().ToString());
    FUZZ_CHECK(first.status().message().rfind(kName, 0) == 0, first.status().ToString());
    return 0;
  }
  FUZZ_CHECK(Dump(*first, true) == Dump(*second, true));

  bool has_rules_key = false;
  try {
    const YAML::Node root = YAML::Load(text);
    has_rules_key = root.IsMap() && root["rules"];
  } catch (const YAML::Exception&) {
    FUZZ_CHECK(false, "ParseConfig accepted text YAML::Load rejects");
  }
  CheckValid(*first, has_rules_key);

  Writer writer;
  const std::string yaml = writer.Write(*first);
  if (!writer.printable()) return 0;
  const Result<Config> reread = ParseConfig(yaml, kName);
  FUZZ_CHECK(reread.ok(), reread.status().ToString() + "\n--- written back:\n" + yaml);
  FUZZ_CHECK(Dump(*reread, false) == Dump(*first, false),
             "\n--- loaded:\n" + Dump(*first, false) + "--- written back and reloaded:\n" +
                 Dump(*reread, false) + "--- YAML:\n" + yaml);
  return 0;
}
