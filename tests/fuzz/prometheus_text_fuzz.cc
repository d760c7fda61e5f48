// Fuzzes the Prometheus text exposition parser (collectors/prometheus_text.h), which reads
// whatever a scraped target sends.
//
// Invariants beyond "does not crash":
//   - parsing is deterministic (same result twice);
//   - an error is InvalidArgument "line N: …" with N within the input's lines;
//   - every sample and family parsed has a valid metric name, label names are valid and unique;
//   - the samples written back as plain (untyped) lines parse to the same samples, bit for bit;
//   - a max_samples one below the sample count is ResourceExhausted.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "fuzz_check.h"
#include "statewatch/collectors/prometheus_text.h"

namespace {

using statewatch::Result;
using statewatch::collectors::Exposition;
using statewatch::collectors::ExpositionSample;
using statewatch::collectors::ParsePrometheusText;

bool ValidName(std::string_view name, bool label) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    const bool colon = c == ':' && !label;
    if (!(letter || colon || (digit && i > 0))) return false;
  }
  return true;
}

bool SameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof a) == 0;  // -0 and 0 differ
}

bool SameSample(const ExpositionSample& a, const ExpositionSample& b) {
  return a.name == b.name && a.labels == b.labels && SameValue(a.value, b.value) &&
         a.timestamp_millis == b.timestamp_millis;
}

std::string Describe(const ExpositionSample& s) {
  std::string out = s.name + "{";
  for (const auto& [k, v] : s.labels) out += k + "=" + v + ",";
  char value[64];
  std::snprintf(value, sizeof value, "} %a", s.value);
  out += value;
  if (s.timestamp_millis) out += " @" + std::to_string(*s.timestamp_millis);
  return out;
}

// A sample as one exposition line, escaping as the format requires.
std::string Line(const ExpositionSample& s) {
  std::string out = s.name;
  if (!s.labels.empty()) {
    out += '{';
    for (const auto& [k, v] : s.labels) {
      out += k + "=\"";
      for (char c : v) {
        if (c == '\\' || c == '"') {
          out += '\\';
          out += c;
        } else if (c == '\n') {
          out += "\\n";
        } else {
          out += c;
        }
      }
      out += "\",";
    }
    out += '}';
  }
  out += ' ';
  if (std::isnan(s.value)) {
    out += "NaN";
  } else if (std::isinf(s.value)) {
    out += s.value > 0 ? "+Inf" : "-Inf";
  } else {
    char value[64];
    std::snprintf(value, sizeof value, "%.17g", s.value);
    out += value;
  }
  if (s.timestamp_millis) out += " " + std::to_string(*s.timestamp_millis);
  return out + "\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = statewatch::fuzz::AsString(data, size);
  const Result<Exposition> first = ParsePrometheusText(text);
  const Result<Exposition> second = ParsePrometheusText(text);
  FUZZ_CHECK(first.ok() == second.ok());
  if (!first.ok()) {
    FUZZ_CHECK(first.status().ToString() == second.status().ToString());
    FUZZ_CHECK(first.status().IsInvalidArgument(), first.status().ToString());
    const std::string& message = first.status().message();
    FUZZ_CHECK(message.rfind("line ", 0) == 0, message);
    const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    FUZZ_CHECK(std::stoull(message.substr(5)) >= 1 && std::stoull(message.substr(5)) <= lines,
               message);
    return 0;
  }
  const Exposition& e = *first;
  FUZZ_CHECK(e.samples.size() == second->samples.size());
  for (size_t i = 0; i < e.samples.size(); ++i) {
    FUZZ_CHECK(SameSample(e.samples[i], second->samples[i]));
  }

  std::set<std::string> families;
  for (const auto& f : e.families) {
    FUZZ_CHECK(ValidName(f.name, false), f.name);
    FUZZ_CHECK(families.insert(f.name).second, "family " + f.name + " listed twice");
    static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                 "untyped"};
    FUZZ_CHECK(kTypes.count(f.type) == 1, f.type);
  }
  std::string rewritten;
  for (const ExpositionSample& s : e.samples) {
    FUZZ_CHECK(ValidName(s.name, false), s.name);
    std::set<std::string> names;
    for (const auto& [k, v] : s.labels) {
      FUZZ_CHECK(ValidName(k, true), k);
      FUZZ_CHECK(names.insert(k).second, "label " + k + " twice");
    }
    rewritten += Line(s);
  }

  // The samples alone, written back: the same samples (no families, so no TYPE rules apply).
  const Result<Exposition> again = ParsePrometheusText(rewritten);
  FUZZ_CHECK(again.ok(), again.status().ToString() + "\n" + rewritten);
  FUZZ_CHECK(again->samples.size() == e.samples.size());
  FUZZ_CHECK(again->families.empty());
  for (size_t i = 0; i < e.samples.size(); ++i) {
    FUZZ_CHECK(SameSample(again->samples[i], e.samples[i]),
               Describe(e.samples[i]) + " came back as " + Describe(again->samples[i]));
  }

  if (!e.samples.empty()) {
    const Result<Exposition> bounded = ParsePrometheusText(text, e.samples.size() - 1);
    FUZZ_CHECK(bounded.status().IsResourceExhausted(), bounded.status().ToString());
  }
  return 0;
}
