// CollectorRegistry: collector types by name, node_exporter style (STYLE.md §3).
//
//   CollectorParams params;
//   params.source = "orders-db";          // the `source` label of every sample
//   params.job = "cdc";                   // the `job` label
//   params.options = {{"path", "/var/lib/job/state"}};
//   auto collector = BuiltinCollectors().Create("rocksdb_dir", params);
//
// A type is registered with a factory that validates its options (collector_options.h) and
// builds the collector; configuration mistakes come back as InvalidArgument naming the source
// and the option, so the daemon can report them with the config file's position.
//
// Registration is explicit — each collector file provides a Register…Collector(registry)
// function and BuiltinCollectors() calls them — because static self-registering objects are
// dropped by the linker when they sit in a static library.
//
// Thread-safety: Register before use (not concurrently with anything); Create, Types and
// Description are const and may then be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "statewatch/collectors/collector.h"
#include "statewatch/state/keyed_state_backend.h"
#include "statewatch/state/status.h"

namespace statewatch::collectors {

struct CollectorParams {
  // The source's name in the config; the `source` label of every sample.
  std::string source;
  // The `job` label.
  std::string job;
  // Per collector type; unknown keys are an error.
  std::map<std::string, std::string> options;
  // In-process engine backends by name, for type "engine" (option `backend` names one; when
  // omitted and exactly one is attached, that one). Not owned; may be null. The backends must
  // outlive the collectors created from them.
  const std::map<std::string, KeyedStateBackend*>* engines = nullptr;
};

using CollectorFactory = std::function<Result<std::unique_ptr<Collector>>(const CollectorParams&)>;

class CollectorRegistry {
 public:
  // AlreadyExists when `type` is registered; InvalidArgument for an empty type or factory.
  Status Register(std::string type, std::string description, CollectorFactory factory);

  // Builds a collector of `type`. InvalidArgument "source 'X': unknown collector type 'Y'
  // (known: …)" for an unregistered type; otherwise whatever the factory returns (option errors
  // name the source and the option).
  Result<std::unique_ptr<Collector>> Create(const std::string& type,
                                            const CollectorParams& params) const;

  // Registered types, sorted.
  std::vector<std::string> Types() const;
  // The one-line description given to Register; empty for an unknown type.
  std::string Description(const std::string& type) const;

 private:
  struct Entry {
    std::string description;
    CollectorFactory factory;
  };
  std::map<std::string, Entry> entries_;
};

// Registers every built-in collector type into `registry` (for a daemon that adds its own).
Status RegisterBuiltinCollectors(CollectorRegistry& registry);

// The built-in collectors: "checkpoint_dir", "engine", "filesystem", "flink_rest",
// "prometheus", "rocksdb_dir". Built once, on first use.
const CollectorRegistry& BuiltinCollectors();

}  // namespace statewatch::collectors
