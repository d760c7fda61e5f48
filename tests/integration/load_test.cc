// statewatchd's HTTP API under load: the real binary watching a Prometheus exposition of a few
// hundred series, and Debian's `wrk` (2 threads, 16 connections, 5 s each) against /metrics,
// /api/v1/series, /api/v1/query and /-/healthy. No socket error (connect, read, write,
// timeout), no non-2xx answer, the daemon healthy afterwards; p50/p99 latency and requests/s per
// endpoint go to the test log (bench/README.md, "HTTP API under wrk", has the figures).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "embedded-state/test_util.h"
#include "integration/daemon_process.h"
#include "support/loopback_server.h"

namespace statewatch {
namespace {

using statewatch::testing::ChildProcess;
using statewatch::testing::TempDir;

constexpr int kStates = 100;  // × 3 metrics: 300 scraped series, plus the agent's own

// A Prometheus exposition of kStates states × 3 canonical metrics, on a free loopback port,
// every scrape a little larger (so that the series have points and trends).
class Exporter {
 public:
  Exporter() {
    http_.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const int scrape = ++scrapes_;
      std::ostringstream out;
      for (int i = 0; i < kStates; ++i) {
        const std::string labels = "{state=\"state-" + std::to_string(i) + "\"}";
        out << "statewatch_state_keys" << labels << " " << 1000 * i + 10 * scrape << "\n"
            << "statewatch_state_size_bytes" << labels << " " << 64000 * i + 640 * scrape << "\n"
            << "statewatch_rocksdb_estimate_num_keys{cf=\"state-" << i << "\"} "
            << 1000 * i + 10 * scrape << "\n";
      }
      res.set_content(out.str(), "text/plain; version=0.0.4");
    });
    http_.Start();
  }
  ~Exporter() { http_.Stop(); }
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  std::string url() const { return http_.url("/metrics"); }

 private:
  statewatch::testing::LoopbackServer http_;
  std::atomic<int> scrapes_{0};
};

// What wrk printed for one endpoint.
struct WrkRun {
  std::string output;
  int64_t requests = -1;
  double requests_per_sec = -1;
  double p50_ms = -1;
  double p99_ms = -1;
  int64_t connect_errors = 0, read_errors = 0, write_errors = 0, timeouts = 0;
  int64_t non_2xx_3xx = 0;
};

// "1.23ms", "456.00us", "2.00s" → milliseconds.
double Millis(const std::string& value, const std::string& unit) {
  const double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "ms") return v;
  if (unit == "s") return v * 1000;
  if (unit == "m") return v * 60000;
  return -1;
}

WrkRun ParseWrk(const std::string& output) {
  WrkRun run;
  run.output = output;
  std::smatch m;
  if (std::regex_search(output, m, std::regex(R"((\d+) requests in )"))) {
    run.requests = std::stoll(m[1]);
  }
  if (std::regex_search(output, m, std::regex(R"(Requests/sec:\s+([\d.]+))"))) {
    run.requests_per_sec = std::stod(m[1]);
  }
  if (std::regex_search(output, m, std::regex(R"(\n\s+50%\s+([\d.]+)(us|ms|s|m)\b)"))) {
    run.p50_ms = Millis(m[1], m[2]);
  }
  if (std::regex_search(output, m, std::regex(R"(\n\s+99%\s+([\d.]+)(us|ms|s|m)\b)"))) {
    run.p99_ms = Millis(m[1], m[2]);
  }
  // wrk prints these two lines only when a count is not zero.
  if (std::regex_search(
          output, m,
          std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
    run.connect_errors = std::stoll(m[1]);
    run.read_errors = std::stoll(m[2]);
    run.write_errors = std::stoll(m[3]);
    run.timeouts = std::stoll(m[4]);
  }
  if (std::regex_search(output, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))"))) {
    run.non_2xx_3xx = std::stoll(m[1]);
  }
  return run;
}

// Runs `command` through the shell; its stdout and stderr, and the exit status.
std::pair<std::string, int> RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {"popen failed", -1};
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(LoadTest, HttpApiUnderWrkAnswersEveryRequest) {
  ASSERT_EQ(::access(WRK_PATH, X_OK), 0)
      << WRK_PATH << " not found: this test needs Debian's wrk package (apt-get install wrk; "
      << "scripts/test installs it with the other test peers, scripts/lib/packages.sh)";

  TempDir dir;
  Exporter exporter;
  std::ofstream(dir.Sub("statewatch.yaml")) << "global:\n"
                                               "  scrape_interval: 1s\n"
                                               "  evaluation_interval: 1s\n"
                                               "sources:\n"
                                               "  - name: exporter\n"
                                               "    type: prometheus\n"
                                               "    job: load\n"
                                               "    options:\n"
                                               "      url: "
                                            << exporter.url() << "\n";
  ChildProcess daemon(
      {STATEWATCHD_PATH, "--allow-root", "--config.file=" + dir.Sub("statewatch.yaml"),
       "--storage.path=" + dir.Sub("data"), "--web.listen-address=127.0.0.1:0"},
      dir.Sub("statewatchd.log"));
  const std::optional<std::string> port_text =
      daemon.WaitForLog("listening on 127\\.0\\.0\\.1:(\\d+)");
  ASSERT_TRUE(port_text) << daemon.Log();
  const int port = std::stoi(*port_text);
  httplib::Client client("127.0.0.1", port);

  // Every scraped series stored (and queryable) before the load starts.
  size_t series = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto res = client.Get("/api/v1/series");
    if (res && res->status == 200) {
      series = nlohmann::json::parse(res->body)["data"].size();
      if (series >= 3 * kStates) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling for the first scrape
  }
  ASSERT_GE(series, 3u * kStates) << daemon.Log();
  const std::string query =
      "/api/v1/query?series=statewatch_state_keys%7Bstate%3D%22state-42%22%7D";
  {
    auto res = client.Get(query);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    ASSERT_EQ(nlohmann::json::parse(res->body)["data"]["result"].size(), 1u) << res->body;
  }

  struct Target {
    std::string name;
    std::string path;
  };
  const std::vector<Target> targets = {{"/metrics", "/metrics"},
                                       {"/api/v1/series", "/api/v1/series"},
                                       {"/api/v1/query", query},
                                       {"/-/healthy", "/-/healthy"}};
  std::ostringstream table;
  table << "\nwrk -t2 -c16 -d5s --latency, " << series << " series stored\n"
        << "| endpoint | requests/s | p50 | p99 | requests |\n|---|---:|---:|---:|---:|\n";
  for (const Target& t : targets) {
    SCOPED_TRACE(t.name);
    const std::string command =
        std::string(WRK_PATH) +
        " -t2 -c16 -d5s --latency 'http://127.0.0.1:" + std::to_string(port) + t.path + "'";
    const auto [output, status] = RunCommand(command);
    std::cout << "$ " << command << "\n" << output << std::flush;
    ASSERT_EQ(status, 0) << output;
    const WrkRun run = ParseWrk(output);
    EXPECT_GT(run.requests, 0) << output;
    EXPECT_GT(run.requests_per_sec, 0) << output;
    EXPECT_GT(run.p50_ms, 0) << output;
    EXPECT_GE(run.p99_ms, run.p50_ms) << output;
    EXPECT_EQ(run.connect_errors, 0) << output;
    EXPECT_EQ(run.read_errors, 0) << output;
    EXPECT_EQ(run.write_errors, 0) << output;
    EXPECT_EQ(run.timeouts, 0) << output;
    EXPECT_EQ(run.non_2xx_3xx, 0) << output;
    char line[256];
    std::snprintf(line, sizeof line, "| `%s` | %.0f | %.2f ms | %.2f ms | %lld |\n", t.name.c_str(),
                  run.requests_per_sec, run.p50_ms, run.p99_ms,
                  static_cast<long long>(run.requests));
    table << line;
  }
  std::cout << table.str() << std::flush;

  // Still alive and serving.
  ASSERT_TRUE(daemon.Alive()) << daemon.Log();
  auto healthy = client.Get("/-/healthy");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200);
  auto ready = client.Get("/-/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(), 0) << daemon.Log();
}

}  // namespace
}  // namespace statewatch
