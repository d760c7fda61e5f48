// Inputs the fuzz targets (tests/fuzz/) found mishandled, each pinned here next to its fix.
// The inputs themselves are in tests/fuzz/corpus/<target>/regression_*.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <string>
#include <vector>

#include "statewatch/collectors/flink_rest.h"
#include "support/loopback_server.h"

namespace statewatch::collectors {
namespace {

using ::testing::HasSubstr;

// Found reading flink_rest.cc for flink_rest_fuzz, confirmed through it under UBSan
// (corpus/flink_rest_fuzz/regression_checkpoint_id_1e300.txt): the latest completed
// checkpoint's id, any JSON number, was converted to int64 for the details URL — undefined
// behaviour for 1e300 ("outside the range of representable values of type 'long'"), a request
// for an arbitrary checkpoint in a release build. Now an error naming the URL and the field.
TEST(FuzzRegressionTest, FlinkCheckpointIdThatIsNoInt64IsAnErrorNamingTheField) {
  for (const std::string id : {"1e300", "-1", "1.5", "9223372036854775808"}) {
    statewatch::testing::LoopbackServer http;
    httplib::Server& server = http.server();
    server.Get("/jobs/overview", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"jobs":[{"jid":"j1","name":"job","state":"RUNNING"}]})",
                      "application/json");
    });
    server.Get("/jobs/j1/checkpoints", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"counts":{"completed":3,"failed":0},"latest":{"completed":{"id":)" + id +
                          R"(,"state_size":10,"checkpointed_size":1,"end_to_end_duration":5}}})",
                      "application/json");
    });
    server.Get("/jobs/j1/checkpoints/config", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"timeout":600000})", "application/json");
    });
    std::vector<std::string> asked;
    server.Get("/jobs/j1.*", [&](const httplib::Request& req, httplib::Response& res) {
      asked.push_back(req.path);
      res.set_content(R"({"vertices":[]})", "application/json");
    });
    http.Start();

    FlinkRestOptions o;
    o.url = http.url();
    FlinkRestCollector collector("cdc", "jm", o);
    std::vector<rules::Sample> out;
    const Status s = collector.Collect(1000, &out);
    http.Stop();
    ASSERT_FALSE(s.ok()) << id;
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(o.url + "/jobs/j1/checkpoints latest.completed"));
    EXPECT_THAT(s.message(), HasSubstr("'id'"));
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(asked.empty()) << "asked for " << asked.front();
  }
}

}  // namespace
}  // namespace statewatch::collectors
