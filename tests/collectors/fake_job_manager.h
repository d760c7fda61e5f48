// A Flink JobManager's REST API for tests, on a free loopback port: answers from a
// path → (status, body) table filled from tests/fixtures/flink (in the shapes Flink documents)
// that a test may change while it runs. One running job with checkpoints (kFlinkJob), one
// without checkpointing (404, as Flink answers). Needs STATEWATCH_FIXTURES_DIR.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

namespace statewatch::testing {

inline std::string FlinkFixture(const std::string& name) {
  std::ifstream in(std::string(STATEWATCH_FIXTURES_DIR) + "/flink/" + name);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

inline constexpr char kFlinkJob[] = "8c1f0e6b5a2d4c3b9e7f1a2b3c4d5e6f";
inline constexpr char kFlinkJobWithoutCheckpoints[] = "ffeeddccbbaa99887766554433221100";

// A JobManager REST API answering from a path → (status, body) table the test can change.
class FakeJobManager {
 public:
  FakeJobManager() {
    const std::string job = std::string("/jobs/") + kFlinkJob;
    routes_["/jobs/overview"] = {200, FlinkFixture("jobs_overview.json")};
    routes_[job] = {200, FlinkFixture("job.json")};
    routes_[job + "/checkpoints"] = {200, FlinkFixture("checkpoints.json")};
    routes_[job + "/checkpoints/config"] = {200, FlinkFixture("checkpoints_config.json")};
    routes_[job + "/checkpoints/details/1441"] = {200, FlinkFixture("checkpoint_details.json")};
    routes_[std::string("/jobs/") + kFlinkJobWithoutCheckpoints + "/checkpoints"] = {
        404, R"({"errors":["Checkpointing is not enabled for this job (ffeedd...)."]})"};
    routes_[std::string("/jobs/") + kFlinkJobWithoutCheckpoints + "/checkpoints/config"] = {
        404, R"({"errors":["Checkpointing is not enabled for this job."]})"};
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = routes_.find(req.path);
      if (it == routes_.end()) {
        res.status = 404;
        res.set_content(R"({"errors":["Not found: )" + req.path + R"("]})", "application/json");
        return;
      }
      res.status = it->second.first;
      res.set_content(it->second.second, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeJobManager() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Set(const std::string& path, int status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[path] = {status, std::move(body)};
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_;
};

}  // namespace statewatch::testing
