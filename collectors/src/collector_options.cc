#include "statewatch/collectors/collector_options.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "statewatch/state/backend_options.h"

namespace statewatch::collectors {

OptionReader::OptionReader(std::string source, std::string type,
                           const std::map<std::string, std::string>& options)
    : source_(std::move(source)), type_(std::move(type)), options_(options) {}

const std::string* OptionReader::Find(std::string_view key) {
  known_.emplace(key);
  auto it = options_.find(std::string(key));
  return it == options_.end() ? nullptr : &it->second;
}

bool OptionReader::Has(std::string_view key) {
  return Find(key) != nullptr;
}

Result<std::string> OptionReader::Required(std::string_view key) {
  const std::string* v = Find(key);
  if (v == nullptr) return Error(key, "is required for collector type '" + type_ + "'");
  if (v->empty()) return Error(key, "must not be empty");
  return *v;
}

std::string OptionReader::Optional(std::string_view key, std::string fallback) {
  const std::string* v = Find(key);
  return v == nullptr ? std::move(fallback) : *v;
}

Result<uint64_t> OptionReader::Bytes(std::string_view key, uint64_t fallback) {
  const std::string* v = Find(key);
  if (v == nullptr) return fallback;
  Result<uint64_t> bytes = ParseByteSize(*v);
  if (!bytes.ok()) {
    return Error(key, "must be a byte size such as 4096, 64MiB or 1GiB, got '" + *v + "'");
  }
  return *bytes;
}

Result<bool> OptionReader::Bool(std::string_view key, bool fallback) {
  const std::string* v = Find(key);
  if (v == nullptr) return fallback;
  std::string t = *v;
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return Error(key, "must be true or false, got '" + *v + "'");
}

Result<std::chrono::milliseconds> OptionReader::Duration(std::string_view key,
                                                         std::chrono::milliseconds fallback) {
  const std::string* v = Find(key);
  if (v == nullptr) return fallback;
  // Prometheus' duration syntax for one unit: 500ms, 10s, 5m, 1h.
  size_t digits = 0;
  while (digits < v->size() && std::isdigit(static_cast<unsigned char>((*v)[digits]))) ++digits;
  const std::string unit = v->substr(digits);
  static const std::map<std::string, int64_t> kUnits = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
  auto it = kUnits.find(unit);
  if (digits == 0 || digits > 9 || it == kUnits.end()) {
    return Error(key, "must be a duration such as 500ms, 10s or 5m, got '" + *v + "'");
  }
  const int64_t millis = std::stoll(v->substr(0, digits)) * it->second;
  if (millis <= 0) return Error(key, "must be positive, got '" + *v + "'");
  return std::chrono::milliseconds(millis);
}

Status OptionReader::Finish() const {
  for (const auto& [key, value] : options_) {
    if (known_.count(key) != 0) continue;
    std::string known;
    for (const std::string& k : known_) known += (known.empty() ? "" : ", ") + k;
    return Error(key, "is unknown for collector type '" + type_ +
                          "' (known: " + (known.empty() ? "none" : known) + ")");
  }
  return Status::OK();
}

Status OptionReader::Error(std::string_view key, std::string_view what) const {
  return Status::InvalidArgument("source '" + source_ + "': option '" + std::string(key) + "' " +
                                 std::string(what));
}

Status OptionReader::SourceError(std::string_view what) const {
  return Status::InvalidArgument("source '" + source_ + "': " + std::string(what));
}

}  // namespace statewatch::collectors
