#include "statewatch/collectors/collector_options.h"

#include <algorithm>
#include <cctype>

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
