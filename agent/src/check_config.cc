#include "statewatch/agent/check_config.h"

#include "statewatch/agent/config.h"
#include "statewatch/agent/notifier.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::agent {
namespace {
std::string Count(size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}
}  // namespace

Status CheckConfigFile(const std::string& path, std::string* summary) {
  Result<Config> config = LoadConfigFile(path);
  if (!config.ok()) return config.status();
  for (const SourceConfig& sc : config->sources) {
    if (sc.type == "engine") continue;
    collectors::CollectorParams params;
    params.source = sc.name;
    params.job = sc.job;
    params.options = sc.options;
    Result<std::unique_ptr<collectors::Collector>> collector =
        collectors::BuiltinCollectors().Create(sc.type, params);
    if (!collector.ok()) {
      return Status::InvalidArgument(sc.position + ": " + collector.status().message());
    }
  }
  for (const ReceiverConfig& rc : config->receivers) {
    Result<std::unique_ptr<WebhookSender>> sender = WebhookSender::Create(rc);
    if (!sender.ok()) return Status::InvalidArgument(path + ": " + sender.status().message());
  }
  *summary = Count(config->sources.size(), "source") + ", " + Count(config->rules.size(), "rule") +
             ", " + Count(config->receivers.size(), "receiver");
  return Status::OK();
}

}  // namespace statewatch::agent
