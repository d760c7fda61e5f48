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
#include <utility>

#include "support/loopback_server.h"

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
    http_.server().Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
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
    http_.Start();
  }
  ~FakeJobManager() { http_.Stop(); }
  std::string url() const { return http_.url(); }
  void Set(const std::string& path, int status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[path] = {status, std::move(body)};
  }

 private:
  LoopbackServer http_;
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_;
};

}  // namespace statewatch::testing
