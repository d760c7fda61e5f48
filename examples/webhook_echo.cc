// webhook_echo: a small webhook receiver that prints the alerts it gets — statewatchd's own
// or Alertmanager's (the same webhook v4 JSON). Answers 200 to every well-formed POST and 400
// to a body that is not such JSON (printing why).
//
// Usage: webhook_echo [--web.listen-address 127.0.0.1:9466] [--json]
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

std::string Labels(const nlohmann::json& labels, const char* skip) {
  std::string out;
  for (const auto& [k, v] : labels.items()) {
    if (k == skip || !v.is_string()) continue;
    out += (out.empty() ? "" : " ") + k + "=" + v.get<std::string>();
  }
  return out;
}

std::string Field(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prints the alerts POSTed to it (Alertmanager webhook v4 JSON)"};
  std::string address = "127.0.0.1:9466";
  bool raw = false;
  app.add_option("--web.listen-address", address, "host:port to listen on")->capture_default_str();
  app.add_flag("--json", raw, "print each body as received");
  CLI11_PARSE(app, argc, argv);
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "webhook_echo: --web.listen-address '%s' is not host:port\n",
                 address.c_str());
    return 2;
  }

  httplib::Server server;
  server.Post(".*", [raw](const httplib::Request& req, httplib::Response& res) {
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body["alerts"].is_array()) {
      std::printf("webhook_echo: %s: not webhook JSON (%zu bytes)\n", req.path.c_str(),
                  req.body.size());
      res.status = 400;
      return;
    }
    if (raw) {
      std::printf("%s\n", body.dump(2).c_str());
    } else {
      for (const nlohmann::json& a : body["alerts"]) {
        const std::string status = Field(a, "status");
        std::printf("\n=== ALERT %s: %s {%s}\n", status == "firing" ? "FIRING" : "RESOLVED",
                    Field(a["labels"], "alertname").c_str(),
                    Labels(a["labels"], "alertname").c_str());
        std::printf("    since     %s\n", Field(a, "startsAt").c_str());
        for (const char* key : {"summary", "description", "runbook"}) {
          const std::string text = Field(a["annotations"], key);
          if (!text.empty()) std::printf("    %-9s %s\n", key, text.c_str());
        }
      }
    }
    std::fflush(stdout);
    res.status = 200;
  });
  const std::string host = address.substr(0, colon);
  const int port = std::atoi(address.c_str() + colon + 1);
  if (!server.bind_to_port(host, port)) {
    std::fprintf(stderr, "webhook_echo: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::printf("webhook_echo: listening on http://%s/\n", address.c_str());
  std::fflush(stdout);
  server.listen_after_bind();
  return 0;
}
