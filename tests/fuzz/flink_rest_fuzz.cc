// Fuzzes the flink_rest collector's handling of a JobManager's REST answers (/jobs/overview,
// /jobs/:id, /jobs/:id/checkpoints, …/config, …/details/:id) through CollectFlinkRest
// (collectors/src/flink_rest_parse.h), the collector's own code minus the HTTP client.
//
// Input: the answers, in the order the collector asks for them, separated by lines "%%". An
// answer may start with a line holding its HTTP status ("404"); without one it is a 200.
// Requests past the last answer fail as a refused connection would.
//
// Invariants beyond "does not crash" (and never throws):
//   - deterministic: the same answers give the same status, requests and samples;
//   - all or nothing: *out is untouched on error, appended to on success;
//   - every error names the URL; every request is the base URL + /jobs/…;
//   - every sample is one of the documented series, with job, source and flink_job labels.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "flink_rest_parse.h"
#include "fuzz_check.h"
#include "statewatch/collectors/collector.h"

namespace {

using statewatch::Result;
using statewatch::Status;
using statewatch::collectors::internal::CollectFlinkRest;
using statewatch::collectors::internal::HttpResponse;

constexpr char kBase[] = "http://fuzz-jobmanager:8081";

std::vector<HttpResponse> SplitAnswers(std::string_view in) {
  std::vector<HttpResponse> answers;
  while (true) {
    const size_t sep = in.find("\n%%\n");
    std::string_view part = in.substr(0, sep);
    HttpResponse r;
    r.status = 200;
    if (part.size() >= 4 && part[3] == '\n' && std::isdigit(static_cast<unsigned char>(part[0])) &&
        std::isdigit(static_cast<unsigned char>(part[1])) &&
        std::isdigit(static_cast<unsigned char>(part[2]))) {
      r.status = (part[0] - '0') * 100 + (part[1] - '0') * 10 + (part[2] - '0');
      part.remove_prefix(4);
    }
    r.body = std::string(part);
    answers.push_back(std::move(r));
    if (sep == std::string_view::npos) break;
    in.remove_prefix(sep + 4);
  }
  return answers;
}

struct Run {
  Status status;
  std::vector<std::string> urls;
  std::vector<statewatch::rules::Sample> out;
};

Run Collect(const std::vector<HttpResponse>& answers) {
  Run run;
  // A sample already there: a failed collection must leave it alone (and only it).
  run.out.push_back(statewatch::collectors::MakeSample("earlier", {{"k", "v"}}, 1, 2));
  size_t next = 0;
  run.status = CollectFlinkRest(
      [&](const std::string& url) -> Result<HttpResponse> {
        run.urls.push_back(url);
        if (next >= answers.size()) {
          return Status::Unavailable("GET " + url + ": connection refused (no more answers)");
        }
        return answers[next++];
      },
      std::string(kBase) + "//", "fuzzjob", "fuzzsource", 1'700'000'000'000, &run.out);
  return run;
}

// The value of label `name`, or nullptr.
const std::string* Label(const statewatch::rules::Sample& s, const std::string& name) {
  for (const auto& [k, v] : s.labels) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<HttpResponse> answers = SplitAnswers(statewatch::fuzz::AsString(data, size));
  const Run a = Collect(answers);
  const Run b = Collect(answers);
  FUZZ_CHECK(a.status.ToString() == b.status.ToString());
  FUZZ_CHECK(a.urls == b.urls);
  FUZZ_CHECK(a.out.size() == b.out.size());
  for (size_t i = 0; i < a.out.size(); ++i) {
    FUZZ_CHECK(a.out[i].series == b.out[i].series && a.out[i].labels == b.out[i].labels);
  }
  FUZZ_CHECK(!a.urls.empty() && a.urls[0] == std::string(kBase) + "/jobs/overview", a.urls[0]);
  for (const std::string& url : a.urls) {
    FUZZ_CHECK(url.rfind(std::string(kBase) + "/jobs/", 0) == 0, url);
  }
  FUZZ_CHECK(!a.out.empty() && a.out[0].series == "earlier");
  if (!a.status.ok()) {
    FUZZ_CHECK(a.out.size() == 1, "a failed collection kept samples: " + a.status.ToString());
    FUZZ_CHECK(a.status.message().find(kBase) != std::string::npos, a.status.ToString());
    return 0;
  }
  static const std::set<std::string> kSeries = {
      "statewatch_checkpoint_full_size_bytes",  "statewatch_checkpoint_delta_size_bytes",
      "statewatch_checkpoint_duration_seconds", "statewatch_checkpoints_completed_total",
      "statewatch_checkpoints_failed_total",    "statewatch_checkpoint_timeout_seconds"};
  for (size_t i = 1; i < a.out.size(); ++i) {
    const statewatch::rules::Sample& s = a.out[i];
    FUZZ_CHECK(kSeries.count(s.series) == 1, s.series);
    FUZZ_CHECK(std::is_sorted(s.labels.begin(), s.labels.end()));
    FUZZ_CHECK(Label(s, "job") != nullptr && *Label(s, "job") == "fuzzjob");
    FUZZ_CHECK(Label(s, "source") != nullptr && *Label(s, "source") == "fuzzsource");
    FUZZ_CHECK(Label(s, "flink_job") != nullptr);
    if (Label(s, "operator") != nullptr) {
      FUZZ_CHECK(s.series.rfind("statewatch_checkpoint_", 0) == 0 &&
                     s.series != "statewatch_checkpoint_timeout_seconds",
                 s.series);
    }
  }
  return 0;
}
