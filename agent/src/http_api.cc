#include "statewatch/agent/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>

#include "statewatch/agent/secret_file.h"
#include "statewatch/agent/webhook_payload.h"
#include "statewatch/storage/labels_text.h"
#include "web_assets.h"

namespace statewatch::agent {
namespace {

using nlohmann::ordered_json;

constexpr size_t kMaxRequestBytes = 64 * 1024;  // no endpoint takes a body larger than this

// Prometheus renders sample values as strings, shortest round-trip form.
std::string ValueString(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, end);
}

double Seconds(int64_t millis) {
  return static_cast<double>(millis) / 1e3;
}

void Json(httplib::Response& res, const ordered_json& data) {
  ordered_json body;
  body["status"] = "success";
  body["data"] = data;
  res.set_content(body.dump(), "application/json");
}

void BadData(httplib::Response& res, const std::string& error) {
  ordered_json body;
  body["status"] = "error";
  body["errorType"] = "bad_data";
  body["error"] = error;
  res.status = 400;
  res.set_content(body.dump(), "application/json");
}

ordered_json LabelsObject(const rules::Labels& labels) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

// "name" or "name{a="b",…}" → name and equality matchers.
Status ParseSelector(const std::string& text, std::string* name, rules::Labels* matchers) {
  const size_t brace = text.find('{');
  *name = text.substr(0, brace);
  if (name->empty()) return Status::InvalidArgument("series selector '" + text + "' has no name");
  matchers->clear();
  if (brace == std::string::npos) return Status::OK();
  Result<rules::Labels> labels = storage::LabelsFromText(std::string_view(text).substr(brace));
  if (!labels.ok()) {
    return Status::InvalidArgument("series selector '" + text + "': " + labels.status().message());
  }
  *matchers = *labels;
  return Status::OK();
}

bool Matches(const rules::Labels& labels, const rules::Labels& matchers) {
  for (const auto& m : matchers) {
    if (std::find(labels.begin(), labels.end(), m) == labels.end()) return false;
  }
  return true;
}

ordered_json AlertJson(const rules::Alert& a) {
  ordered_json j;
  j["labels"] = LabelsObject(a.labels);
  ordered_json annotations = ordered_json::object();
  for (const auto& [k, v] : a.annotations) annotations[k] = v;
  j["annotations"] = annotations;
  j["state"] = rules::AlertStateName(a.state);
  j["activeAt"] = FormatRfc3339(a.active_at_millis);
  if (a.fired_at_millis != 0) j["firedAt"] = FormatRfc3339(a.fired_at_millis);
  j["value"] = ValueString(a.value);
  j["fingerprint"] = a.fingerprint;
  ordered_json values = ordered_json::object();
  for (const auto& [k, v] : a.values) values[k] = v;
  j["values"] = values;
  return j;
}

}  // namespace

Status ParseListenAddress(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Status::InvalidArgument("listen address '" + address + "': expected host:port");
  }
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  const std::string port_text = address.substr(colon + 1);
  int value = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || value < 0 ||
      value > 65535) {
    return Status::InvalidArgument("listen address '" + address + "': bad port '" + port_text +
                                   "'");
  }
  *port = value;
  return Status::OK();
}

Result<int64_t> ParseApiTime(const std::string& text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(seconds)) {
    // The range RFC 3339 can write (years 0000-9999), as strptime's %Y below: beyond it the
    // rounding overflowed int64 ("1e300" read as INT64_MIN) and `to - 1h` with it.
    constexpr double kMinMillis = -62167219200000.0;  // 0000-01-01T00:00:00Z
    constexpr double kMaxMillis = 253402300799999.0;  // 9999-12-31T23:59:59.999Z
    const double millis = std::round(seconds * 1e3);
    if (millis >= kMinMillis && millis <= kMaxMillis) return static_cast<int64_t>(millis);
    return Status::InvalidArgument("time '" + text + "': outside the years 0000-9999");
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest != nullptr) {
    int64_t millis = 0;
    if (*rest == '.') {
      int64_t scale = 100;
      for (++rest; std::isdigit(static_cast<unsigned char>(*rest)); ++rest) {
        millis += (*rest - '0') * scale;
        scale /= 10;
      }
    }
    if (std::string_view(rest) == "Z") {
      return static_cast<int64_t>(timegm(&tm)) * 1000 + millis;
    }
  }
  return Status::InvalidArgument("time '" + text +
                                 "': expected unix seconds or RFC 3339 (2026-11-25T08:00:00Z)");
}

HttpApi::HttpApi(Agent* agent) : agent_(agent), server_(std::make_unique<httplib::Server>()) {
  server_->set_payload_max_length(kMaxRequestBytes);
  Routes();
}

HttpApi::~HttpApi() {
  Stop();
}

Status HttpApi::Start(const std::string& listen_address) {
  std::string host;
  int port = 0;
  SW_RETURN_IF_ERROR(ParseListenAddress(listen_address, &host, &port));
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) return Status::IOError("cannot listen on " + listen_address);
  } else {
    if (!server_->bind_to_port(host, port)) {
      return Status::IOError("cannot listen on " + listen_address +
                             " (address in use or not local?)");
    }
    port_ = port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing before the accept loop runs; an early Stop() would hang.
  while (!server_->is_running()) std::this_thread::yield();
  spdlog::info("listening on {}:{}", host, port_);
  return Status::OK();
}

void HttpApi::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

bool HttpApi::Authorized(const httplib::Request& req, httplib::Response& res) const {
  const std::string expected = agent_->config().web.bearer_token;
  if (expected.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  const bool presented = header.compare(0, kBearer.size(), kBearer) == 0;
  if (presented && SecretEquals(header.substr(kBearer.size()), expected)) return true;
  // Neither the expected nor the presented token goes to the log.
  spdlog::warn("{} {} from {}: {}", req.method, req.path, req.remote_addr,
               presented ? "wrong bearer token" : "no bearer token");
  res.status = 401;
  res.set_header("WWW-Authenticate", "Bearer realm=\"statewatchd\"");
  res.set_content("Unauthorized: this endpoint needs the bearer token of web.bearer_token_file\n",
                  "text/plain");
  return false;
}

void HttpApi::Routes() {
  httplib::Server& s = *server_;
  // The status page and its static files, compiled in (web_assets.h).
  auto asset = [](const httplib::Request& req, httplib::Response& res) {
    const internal::WebAsset* a = internal::FindWebAsset(req.path);
    if (a == nullptr) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->view()), internal::WebContentType(a->path));
  };
  s.Get("/", asset);
  for (const internal::WebAsset& a : internal::WebAssets()) s.Get(a.path, asset);

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(agent_->MetricsText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("statewatchd is Healthy.\n", "text/plain");
  });
  s.Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (agent_->ready()) {
      res.set_content("statewatchd is Ready.\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("Service Unavailable\n", "text/plain");
    }
  });
  auto reload = [this](const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req, res)) return;
    Status reloaded = agent_->Reload();
    if (reloaded.ok()) {
      res.set_content("", "text/plain");
    } else {
      res.status = 500;
      res.set_content("failed to reload config: " + reloaded.ToString() + "\n", "text/plain");
    }
  };
  s.Post("/-/reload", reload);
  s.Put("/-/reload", reload);

  s.Get("/api/v1/series", [this](const httplib::Request&, httplib::Response& res) {
    Result<std::vector<storage::SeriesInfo>> series = agent_->samples()->ListSeries();
    if (!series.ok()) return BadData(res, series.status().ToString());
    ordered_json data = ordered_json::array();
    for (const storage::SeriesInfo& info : *series) {
      ordered_json j;
      j["__name__"] = info.name;
      for (const auto& [k, v] : info.labels) j[k] = v;
      data.push_back(std::move(j));
    }
    Json(res, data);
  });

  s.Get("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("series")) return BadData(res, "parameter 'series' is required");
    std::string name;
    rules::Labels matchers;
    if (Status st = ParseSelector(req.get_param_value("series"), &name, &matchers); !st.ok()) {
      return BadData(res, st.message());
    }
    int64_t to = agent_->clock()->NowMillis();
    if (req.has_param("to")) {
      Result<int64_t> t = ParseApiTime(req.get_param_value("to"));
      if (!t.ok()) return BadData(res, "parameter 'to': " + t.status().message());
      to = *t;
    }
    int64_t from = to - 3600 * 1000;
    if (req.has_param("from")) {
      Result<int64_t> t = ParseApiTime(req.get_param_value("from"));
      if (!t.ok()) return BadData(res, "parameter 'from': " + t.status().message());
      from = *t;
    }
    if (from > to) return BadData(res, "'from' is after 'to'");
    Result<std::vector<storage::SeriesInfo>> series = agent_->samples()->ListSeries();
    if (!series.ok()) return BadData(res, series.status().ToString());
    ordered_json result = ordered_json::array();
    for (const storage::SeriesInfo& info : *series) {
      if (info.name != name || !Matches(info.labels, matchers)) continue;
      Result<std::vector<rules::Point>> points =
          agent_->samples()->Query(info.name, info.labels, from, to);
      if (!points.ok()) return BadData(res, points.status().ToString());
      ordered_json metric;
      metric["__name__"] = info.name;
      for (const auto& [k, v] : info.labels) metric[k] = v;
      ordered_json values = ordered_json::array();
      for (const rules::Point& p : *points) {
        values.push_back(ordered_json::array({Seconds(p.t_millis), ValueString(p.value)}));
      }
      result.push_back({{"metric", metric}, {"values", values}});
    }
    Json(res, {{"resultType", "matrix"}, {"result", result}});
  });

  s.Get("/api/v1/alerts", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string fingerprint =
        req.has_param("fingerprint") ? req.get_param_value("fingerprint") : "";
    ordered_json alerts = ordered_json::array();
    for (const rules::Alert& a : agent_->Alerts()) {
      if (!fingerprint.empty() && a.fingerprint != fingerprint) continue;
      alerts.push_back(AlertJson(a));
    }
    Json(res, {{"alerts", alerts}});
  });

  s.Get("/api/v1/states", [this](const httplib::Request&, httplib::Response& res) {
    ordered_json states = ordered_json::array();
    for (const rules::StateVerdict& v : agent_->Verdicts()) {
      ordered_json j;
      j["series"] = v.series;
      j["labels"] = LabelsObject(v.labels);
      j["latest"] = v.latest;
      j["latest_time"] = Seconds(v.latest_millis);
      j["ttl_seconds"] = v.ttl ? ordered_json(*v.ttl) : ordered_json(nullptr);
      if (v.fit) {
        j["trend"] = {{"slope_per_hour", v.fit->slope_per_hour()},
                      {"r_squared", v.fit->r_squared},
                      {"samples", v.fit->samples},
                      {"from", Seconds(v.fit->first_millis)},
                      {"to", Seconds(v.fit->last_millis)}};
      } else {
        j["trend"] = nullptr;
      }
      j["verdict"] = v.verdict;
      j["rule"] = v.rule;
      states.push_back(std::move(j));
    }
    Json(res, states);
  });

  s.Get("/api/v1/sources", [this](const httplib::Request&, httplib::Response& res) {
    ordered_json sources = ordered_json::array();
    for (const SourceStatus& st : agent_->Sources()) {
      sources.push_back({{"name", st.name},
                         {"type", st.type},
                         {"job", st.job},
                         {"up", st.up},
                         {"last_error", st.last_error},
                         {"last_collect", Seconds(st.last_collect_millis)},
                         {"duration_seconds", st.last_duration_seconds},
                         {"samples", st.last_samples}});
    }
    Json(res, sources);
  });
}

}  // namespace statewatch::agent
