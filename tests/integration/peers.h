// Real peers for integration tests — Prometheus, Alertmanager — started on loopback ports
// chosen free at run time, waited for on their /-/ready endpoint (a condition with a
// deadline, not a sleep), and killed with the test.
#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/daemon_process.h"

namespace statewatch::testing {

// A loopback TCP port nothing listens on right now: bound to 0, read back, closed. A peer that
// cannot be told to bind port 0 and report it (Prometheus, Alertmanager) gets one of these.
inline int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// GET http://127.0.0.1:port/path → the parsed JSON body of a 200 answer, else nullopt.
inline std::optional<nlohmann::json> GetJson(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  httplib::Result r = client.Get(path);
  if (!r || r->status != 200) return std::nullopt;
  nlohmann::json body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return std::nullopt;
  return body;
}

// Polls `probe` every 50 ms until it returns true or `timeout` passes (peers reached over HTTP
// have nothing to wait on but their answers).
template <typename Probe>
bool Eventually(Probe probe, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a peer's HTTP API
  }
  return probe();
}

// A Prometheus-family server (prometheus, prometheus-alertmanager) as a child process.
class PeerServer {
 public:
  // `binary` with `args`, listening on 127.0.0.1:`port`, logging to `log`.
  PeerServer(const std::string& binary, std::vector<std::string> args, int port,
             const std::string& log)
      : port_(port) {
    args.insert(args.begin(), binary);
    process_ = std::make_unique<ChildProcess>(std::move(args), log);
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *process_; }

  // True once GET /-/ready answers 200 (false at the deadline or when the process died).
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return Eventually(
        [&] {
          if (!process_->Alive()) return false;
          httplib::Client client("127.0.0.1", port_);
          client.set_connection_timeout(std::chrono::milliseconds(500));
          httplib::Result r = client.Get("/-/ready");
          return r && r->status == 200;
        },
        timeout);
  }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

// prometheus-alertmanager with `config_yaml`, its data in `dir`, clustering off.
inline std::unique_ptr<PeerServer> StartAlertmanager(const std::string& dir,
                                                     const std::string& config_yaml) {
  const std::string config = dir + "/alertmanager.yml";
  std::ofstream(config) << config_yaml;
  const int port = FreeLoopbackPort();
  return std::make_unique<PeerServer>(
      "/usr/bin/prometheus-alertmanager",
      std::vector<std::string>{"--config.file=" + config, "--storage.path=" + dir + "/am-data",
                               "--web.listen-address=127.0.0.1:" + std::to_string(port),
                               "--cluster.listen-address=", "--log.level=debug"},
      port, dir + "/alertmanager.log");
}

// prometheus with `config_yaml`, its TSDB in `dir`.
inline std::unique_ptr<PeerServer> StartPrometheus(const std::string& dir,
                                                   const std::string& config_yaml) {
  const std::string config = dir + "/prometheus.yml";
  std::ofstream(config) << config_yaml;
  const int port = FreeLoopbackPort();
  return std::make_unique<PeerServer>(
      "/usr/bin/prometheus",
      std::vector<std::string>{"--config.file=" + config,
                               "--storage.tsdb.path=" + dir + "/prom-data",
                               "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      port, dir + "/prometheus.log");
}

}  // namespace statewatch::testing
