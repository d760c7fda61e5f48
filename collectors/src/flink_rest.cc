#include "statewatch/collectors/flink_rest.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "bounded_get.h"
#include "flink_rest_parse.h"
#include "statewatch/collectors/collector_options.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::collectors {
namespace internal {
namespace {

using nlohmann::json;

// One collection's requests against the REST base.
class Client {
 public:
  Client(const FlinkRestGet& get, const std::string& url) : get_(get) {
    base_ = url;
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  // The parsed body of GET path; nullopt for a 404 when `allow_404`.
  Result<std::optional<json>> Get(const std::string& path, bool allow_404 = false) const {
    const std::string url = base_ + path;
    Result<HttpResponse> r = get_(url);
    if (!r.ok()) return r.status();
    if (r->status == 404 && allow_404) return std::optional<json>();
    if (r->status != 200) {
      std::string why = "HTTP " + std::to_string(r->status);
      // Flink's ErrorResponseBody: {"errors": ["..."]}.
      json error = json::parse(r->body, nullptr, false);
      if (error.is_object() && error.contains("errors") && error["errors"].is_array() &&
          !error["errors"].empty() && error["errors"][0].is_string()) {
        why += ": " + error["errors"][0].get<std::string>().substr(0, 200);
      }
      return Status::Unavailable("GET " + url + ": " + why);
    }
    json body = json::parse(r->body, nullptr, false);
    if (body.is_discarded()) {
      return Status::InvalidArgument("GET " + url + ": the response is not JSON");
    }
    return std::optional<json>(std::move(body));
  }
  std::string Url(const std::string& path) const { return base_ + path; }

 private:
  const FlinkRestGet& get_;
  std::string base_;
};

// A number at `key` of `object` (Flink writes longs as integers, doubles as floats).
Result<double> Number(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) {
    return Status::InvalidArgument(where + ": field '" + key + "' missing or not a number");
  }
  return object[key].get<double>();
}

// The three latest-checkpoint signals of a CheckpointStatistics-like object.
Status AddCheckpointSizes(const json& stats, const std::string& where, const rules::Labels& labels,
                          int64_t now, std::vector<rules::Sample>* out) {
  Result<double> full = Number(stats, "state_size", where);
  Result<double> delta = Number(stats, "checkpointed_size", where);
  Result<double> duration = Number(stats, "end_to_end_duration", where);
  if (!full.ok()) return full.status();
  if (!delta.ok()) return delta.status();
  if (!duration.ok()) return duration.status();
  out->push_back(MakeSample("statewatch_checkpoint_full_size_bytes", labels, now, *full));
  out->push_back(MakeSample("statewatch_checkpoint_delta_size_bytes", labels, now, *delta));
  out->push_back(
      MakeSample("statewatch_checkpoint_duration_seconds", labels, now, *duration / 1e3));
  return Status::OK();
}

// Collect's work; may throw nlohmann::json::exception on fields of an unexpected type.
Status CollectJobs(const Client& client, const std::string& job_label,
                   const std::string& source_label, int64_t now_millis,
                   std::vector<rules::Sample>* out) {
  std::vector<rules::Sample>& samples = *out;
  Result<std::optional<json>> overview = client.Get("/jobs/overview");
  if (!overview.ok()) return overview.status();
  const json& body = **overview;
  if (!body.is_object() || !body.contains("jobs") || !body["jobs"].is_array()) {
    return Status::InvalidArgument(client.Url("/jobs/overview") + ": field 'jobs' missing");
  }
  const json& jobs = body["jobs"];
  for (const json& j : jobs) {
    if (!j.is_object() || !j.contains("jid") || !j["jid"].is_string()) {
      return Status::InvalidArgument(client.Url("/jobs/overview") + ": a job without 'jid'");
    }
    if (j.value("state", "") != "RUNNING") continue;
    const std::string jid = j["jid"].get<std::string>();
    const std::string name = j.value("name", jid);
    const rules::Labels labels{{"job", job_label}, {"source", source_label}, {"flink_job", name}};
    const std::string path = "/jobs/" + jid + "/checkpoints";
    Result<std::optional<json>> checkpoints = client.Get(path, /*allow_404=*/true);
    if (!checkpoints.ok()) return checkpoints.status();
    if (!checkpoints->has_value()) continue;  // checkpointing disabled
    const json& stats = **checkpoints;
    if (!stats.is_object()) return Status::InvalidArgument(client.Url(path) + ": not an object");
    const std::string where = client.Url(path);
    const json counts = stats.value("counts", json::object());
    Result<double> completed = Number(counts, "completed", where + " counts");
    Result<double> failed = Number(counts, "failed", where + " counts");
    if (!completed.ok()) return completed.status();
    if (!failed.ok()) return failed.status();
    samples.push_back(
        MakeSample("statewatch_checkpoints_completed_total", labels, now_millis, *completed));
    samples.push_back(
        MakeSample("statewatch_checkpoints_failed_total", labels, now_millis, *failed));

    Result<std::optional<json>> config = client.Get(path + "/config", /*allow_404=*/true);
    if (!config.ok()) return config.status();
    if (config->has_value()) {
      Result<double> timeout = Number(**config, "timeout", client.Url(path + "/config"));
      if (!timeout.ok()) return timeout.status();
      samples.push_back(
          MakeSample("statewatch_checkpoint_timeout_seconds", labels, now_millis, *timeout / 1e3));
    }

    const json latest = stats.contains("latest") && stats["latest"].is_object()
                            ? stats["latest"].value("completed", json())
                            : json();
    if (!latest.is_object()) continue;  // nothing completed yet
    SW_RETURN_IF_ERROR(
        AddCheckpointSizes(latest, where + " latest.completed", labels, now_millis, &samples));
    Result<double> id = Number(latest, "id", where + " latest.completed");
    if (!id.ok()) return id.status();
    // It names the details URL: a whole number an int64 holds (converting 1e300 is undefined).
    if (!(*id >= 0 && *id < 9223372036854775808.0 && *id == std::floor(*id))) {
      return Status::InvalidArgument(where +
                                     " latest.completed: field 'id' is not a checkpoint id");
    }

    // Per operator: vertex names, then the latest checkpoint's per-vertex statistics.
    Result<std::optional<json>> job = client.Get("/jobs/" + jid);
    if (!job.ok()) return job.status();
    std::map<std::string, std::string> vertex_names;
    const json& job_body = **job;
    const json vertices =
        job_body.is_object() && job_body.contains("vertices") ? job_body["vertices"] : json();
    for (const json& v : vertices.is_array() ? vertices : json::array()) {
      if (v.is_object() && v.contains("id") && v["id"].is_string()) {
        vertex_names[v["id"].get<std::string>()] = v.value("name", v["id"].get<std::string>());
      }
    }
    const std::string details = path + "/details/" + std::to_string(static_cast<int64_t>(*id));
    Result<std::optional<json>> detail = client.Get(details, /*allow_404=*/true);
    if (!detail.ok()) return detail.status();
    if (!detail->has_value()) continue;  // already dropped from the history
    const json& detail_body = **detail;
    const json tasks =
        detail_body.is_object() && detail_body.contains("tasks") && detail_body["tasks"].is_object()
            ? detail_body["tasks"]
            : json::object();
    for (const auto& [vertex, task] : tasks.items()) {
      rules::Labels op = labels;
      auto it = vertex_names.find(vertex);
      op.emplace_back("operator", it == vertex_names.end() ? vertex : it->second);
      SW_RETURN_IF_ERROR(AddCheckpointSizes(task, client.Url(details) + " tasks." + vertex, op,
                                            now_millis, &samples));
    }
  }
  return Status::OK();
}

}  // namespace

Status CollectFlinkRest(const FlinkRestGet& get, const std::string& url, const std::string& job,
                        const std::string& source, int64_t now_millis,
                        std::vector<rules::Sample>* out) {
  std::vector<rules::Sample> samples;  // appended to *out only when everything worked
  try {
    SW_RETURN_IF_ERROR(CollectJobs(Client(get, url), job, source, now_millis, &samples));
  } catch (const nlohmann::json::exception& e) {
    // A field of an unexpected type (value() and friends throw): malformed, not a crash.
    return Status::InvalidArgument(url + ": unexpected JSON: " + e.what());
  }
  out->insert(out->end(), samples.begin(), samples.end());
  return Status::OK();
}

}  // namespace internal

FlinkRestCollector::FlinkRestCollector(std::string job, std::string source,
                                       FlinkRestOptions options)
    : job_(std::move(job)), source_(std::move(source)), options_(std::move(options)) {}

Status FlinkRestCollector::Collect(int64_t now_millis, std::vector<rules::Sample>* out) {
  internal::BoundedGetOptions get;
  get.timeout = options_.timeout;
  get.max_bytes = options_.max_bytes;
  get.accept = "application/json";
  return internal::CollectFlinkRest(
      [&get](const std::string& url) { return internal::BoundedGet(url, get); }, options_.url, job_,
      source_, now_millis, out);
}

namespace {

Result<std::unique_ptr<Collector>> NewFlinkRestCollector(const CollectorParams& params) {
  OptionReader reader(params.source, "flink_rest", params.options);
  FlinkRestOptions options;
  SW_RETURN_IF_ERROR(
      internal::ReadHttpSourceOptions(reader, &options.url, &options.timeout, &options.max_bytes));
  return std::unique_ptr<Collector>(
      std::make_unique<FlinkRestCollector>(params.job, params.source, std::move(options)));
}

}  // namespace

Status RegisterFlinkRestCollector(CollectorRegistry& registry) {
  return registry.Register("flink_rest",
                           "a Flink JobManager's REST API: checkpoint sizes, duration, counts and "
                           "timeout per job and operator (options: url, timeout, max_bytes)",
                           NewFlinkRestCollector);
}

}  // namespace statewatch::collectors
