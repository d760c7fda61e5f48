#include "statewatch/collectors/registry.h"

#include <cstdlib>

#include "statewatch/collectors/checkpoint_dir.h"
#include "statewatch/collectors/engine.h"
#include "statewatch/collectors/filesystem.h"
#include "statewatch/collectors/flink_rest.h"
#include "statewatch/collectors/prometheus.h"
#include "statewatch/collectors/rocksdb_dir.h"

namespace statewatch::collectors {

Status CollectorRegistry::Register(std::string type, std::string description,
                                   CollectorFactory factory) {
  if (type.empty()) return Status::InvalidArgument("collector type must not be empty");
  if (!factory) {
    return Status::InvalidArgument("collector type '" + type + "' registered without a factory");
  }
  if (entries_.count(type) != 0) {
    return Status::AlreadyExists("collector type '" + type + "' is already registered");
  }
  entries_.emplace(std::move(type), Entry{std::move(description), std::move(factory)});
  return Status::OK();
}

Result<std::unique_ptr<Collector>> CollectorRegistry::Create(const std::string& type,
                                                             const CollectorParams& params) const {
  auto it = entries_.find(type);
  if (it == entries_.end()) {
    std::string known;
    for (const auto& [name, entry] : entries_) known += (known.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("source '" + params.source + "': unknown collector type '" +
                                   type + "' (known: " + known + ")");
  }
  return it->second.factory(params);
}

std::vector<std::string> CollectorRegistry::Types() const {
  std::vector<std::string> types;
  types.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) types.push_back(name);  // std::map: already sorted
  return types;
}

std::string CollectorRegistry::Description(const std::string& type) const {
  auto it = entries_.find(type);
  return it == entries_.end() ? std::string() : it->second.description;
}

Status RegisterBuiltinCollectors(CollectorRegistry& registry) {
  // One line per collector file.
  SW_RETURN_IF_ERROR(RegisterEngineCollector(registry));
  SW_RETURN_IF_ERROR(RegisterRocksDbDirCollector(registry));
  SW_RETURN_IF_ERROR(RegisterCheckpointDirCollector(registry));
  SW_RETURN_IF_ERROR(RegisterPrometheusCollector(registry));
  SW_RETURN_IF_ERROR(RegisterFlinkRestCollector(registry));
  SW_RETURN_IF_ERROR(RegisterFilesystemCollector(registry));
  return Status::OK();
}

const CollectorRegistry& BuiltinCollectors() {
  // Built on first use (thread-safe static init), never destroyed: collectors may be created
  // from it during static destruction of other objects in the daemon.
  static const CollectorRegistry* const registry = [] {
    auto* r = new CollectorRegistry;
    const Status s = RegisterBuiltinCollectors(*r);
    // Only a programming error (a duplicate built-in name) can fail here.
    if (!s.ok()) std::abort();
    return r;
  }();
  return *registry;
}

}  // namespace statewatch::collectors
