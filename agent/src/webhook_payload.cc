#include "statewatch/agent/webhook_payload.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace statewatch::agent {
namespace {

nlohmann::ordered_json LabelsJson(const rules::Labels& labels) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, value] : labels) out[name] = value;
  return out;
}

// Alertmanager's groupKey for route "{}" grouped by all labels: {}:{a="1", b="2"}.
std::string GroupKey(const rules::Labels& labels) {
  std::string key = "{}:{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key += ", ";
    key += labels[i].first + "=" + nlohmann::json(labels[i].second).dump();
  }
  return key + "}";
}

}  // namespace

std::string FormatRfc3339(int64_t unix_millis) {
  const int64_t seconds = unix_millis >= 0 ? unix_millis / 1000 : (unix_millis - 999) / 1000;
  const int64_t millis = unix_millis - seconds * 1000;
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];  // room for any int year, so the output is never cut
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

std::string BuildWebhookPayload(const std::string& receiver, const std::string& external_url,
                                const rules::Alert& alert, NotificationStatus status) {
  const bool resolved = status == NotificationStatus::kResolved;
  const char* status_text = resolved ? "resolved" : "firing";
  nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
  for (const auto& [name, value] : alert.annotations) annotations[name] = value;

  nlohmann::ordered_json a;
  a["status"] = status_text;
  a["labels"] = LabelsJson(alert.labels);
  a["annotations"] = annotations;
  a["startsAt"] =
      FormatRfc3339(alert.fired_at_millis != 0 ? alert.fired_at_millis : alert.active_at_millis);
  a["endsAt"] = resolved ? FormatRfc3339(alert.resolved_at_millis) : "0001-01-01T00:00:00Z";
  a["generatorURL"] = external_url + "/api/v1/alerts?fingerprint=" + alert.fingerprint;
  a["fingerprint"] = alert.fingerprint;

  nlohmann::ordered_json body;
  body["version"] = "4";
  body["groupKey"] = GroupKey(alert.labels);
  body["truncatedAlerts"] = 0;
  body["status"] = status_text;
  body["receiver"] = receiver;
  body["groupLabels"] = LabelsJson(alert.labels);
  body["commonLabels"] = LabelsJson(alert.labels);
  body["commonAnnotations"] = annotations;
  body["externalURL"] = external_url;
  body["alerts"] = nlohmann::ordered_json::array({a});
  return body.dump();
}

std::string BuildAlertmanagerPayload(const std::string& external_url, const rules::Alert& alert,
                                     NotificationStatus status, int64_t valid_until_millis) {
  nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
  for (const auto& [name, value] : alert.annotations) annotations[name] = value;
  nlohmann::ordered_json a;
  a["labels"] = LabelsJson(alert.labels);
  a["annotations"] = annotations;
  a["startsAt"] =
      FormatRfc3339(alert.fired_at_millis != 0 ? alert.fired_at_millis : alert.active_at_millis);
  a["endsAt"] = FormatRfc3339(status == NotificationStatus::kResolved ? alert.resolved_at_millis
                                                                      : valid_until_millis);
  a["generatorURL"] = external_url + "/api/v1/alerts?fingerprint=" + alert.fingerprint;
  return nlohmann::ordered_json::array({a}).dump();
}

}  // namespace statewatch::agent
