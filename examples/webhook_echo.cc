// webhook_echo: a small webhook receiver that prints the alerts it gets — statewatchd's own
// or Alertmanager's (the same webhook v4 JSON). Answers 200 to every well-formed POST and 400
// to a body that is not such JSON (printing why). With --hmac.secret-file it is also what a
// receiver of signed webhooks should be: a request whose X-Statewatch-Signature does not match,
// or whose X-Statewatch-Timestamp is more than --hmac.tolerance seconds from now (a replay), is
// answered 401 and not printed as an alert.
//
// Usage: webhook_echo [--web.listen-address 127.0.0.1:9466] [--json]
//                     [--hmac.secret-file FILE [--hmac.tolerance 300]]
// Port 0 picks a free port; the line "listening on http://HOST:PORT/" names it.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "statewatch/agent/hmac.h"
#include "statewatch/agent/secret_file.h"

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
  std::string secret_file;
  int64_t tolerance = statewatch::agent::kWebhookSignatureToleranceSeconds;
  app.add_option("--web.listen-address", address, "host:port to listen on")->capture_default_str();
  app.add_flag("--json", raw, "print each body as received");
  app.add_option("--hmac.secret-file", secret_file,
                 "verify X-Statewatch-Signature with the first line of this file (401 otherwise)");
  app.add_option("--hmac.tolerance", tolerance,
                 "seconds X-Statewatch-Timestamp may lie from now before a request counts as a "
                 "replay")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  std::string secret;
  if (!secret_file.empty()) {
    auto read = statewatch::agent::ReadSecretFile(secret_file, "--hmac.secret-file");
    if (!read.ok()) {
      std::fprintf(stderr, "webhook_echo: %s\n", read.status().ToString().c_str());
      return 2;
    }
    secret = std::move(read).value();
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "webhook_echo: --web.listen-address '%s' is not host:port\n",
                 address.c_str());
    return 2;
  }

  httplib::Server server;
  server.Post(".*", [raw, &secret, tolerance](const httplib::Request& req, httplib::Response& res) {
    if (!secret.empty()) {
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      const statewatch::Status verified = statewatch::agent::VerifyWebhookSignature(
          secret, req.get_header_value("X-Statewatch-Timestamp"),
          req.get_header_value("X-Statewatch-Signature"), req.body, now, tolerance);
      if (!verified.ok()) {
        std::printf("webhook_echo: %s: refused: %s\n", req.path.c_str(),
                    verified.message().c_str());
        std::fflush(stdout);
        res.status = 401;
        res.set_content(verified.message() + "\n", "text/plain");
        return;
      }
    }
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
  const int wanted = std::atoi(address.c_str() + colon + 1);
  const int port = wanted == 0 ? server.bind_to_any_port(host)
                               : (server.bind_to_port(host, wanted) ? wanted : -1);
  if (port <= 0) {
    std::fprintf(stderr, "webhook_echo: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::printf("webhook_echo: listening on http://%s:%d/\n", host.c_str(), port);
  std::fflush(stdout);
  server.listen_after_bind();
  return 0;
}
