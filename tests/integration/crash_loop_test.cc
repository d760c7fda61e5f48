// statewatchd killed with SIGKILL over and over at random moments — mid-scrape, mid-evaluation,
// mid-write to SQLite, with notifications in the outbox and some in flight to a slow or failing
// receiver — and restarted each time on the same storage. Afterwards:
//   - both SQLite files pass PRAGMA integrity_check and the history of the first run is there;
//   - no alert is lost: every firing and every resolve in the alert log reached the receiver
//     (a 2xx) as a notification with the same fingerprint, status and startsAt;
//   - none is delivered twice for the same (fingerprint, status, startsAt): the daemon records
//     (and logs) each acknowledged delivery at most once; copies beyond that are ones whose
//     acknowledgement never reached its outbox — a 5xx, an answer after the daemon's timeout,
//     a kill while it waited for the answer or before it stored it.
//
// The job is a Prometheus endpoint served by the test whose ten states flip between empty and
// full while the daemon runs; a threshold rule (for: 0s) fires and resolves on each flip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sqlite3.h>

#include <array>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "agent/webhook_receiver.h"
#include "embedded-state/test_util.h"
#include "integration/daemon_process.h"
#include "storage/raw_sqlite.h"
#include "support/loopback_server.h"

namespace statewatch {
namespace {

using statewatch::testing::ChildProcess;
using statewatch::testing::RawQuery;
using statewatch::testing::TempDir;
using statewatch::testing::WebhookReceiver;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kStates = 10;
constexpr int kRounds = 12;
constexpr milliseconds kReceiverTimeout{400};

// The job's /metrics: statewatch_state_keys for ten states, each either 0 or 1000 keys.
class FlappingJob {
 public:
  FlappingJob() {
    http_.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      std::string body = "# TYPE statewatch_state_keys gauge\n";
      for (int i = 0; i < kStates; ++i) {
        body += "statewatch_state_keys{state=\"s" + std::to_string(i) + "\"} " +
                (full_[i] ? "1000" : "0") + "\n";
      }
      res.set_content(body, "text/plain; version=0.0.4");
    });
    http_.Start();
  }
  ~FlappingJob() { http_.Stop(); }
  std::string url() const { return http_.url("/metrics"); }
  void Set(int state, bool full) {
    std::lock_guard<std::mutex> lock(mu_);
    full_[state] = full;
  }
  int CountFull() const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (bool f : full_) n += f ? 1 : 0;
    return n;
  }

 private:
  statewatch::testing::LoopbackServer http_;
  mutable std::mutex mu_;
  std::array<bool, kStates> full_{};
};

struct LogEntry {
  std::string fingerprint;
  int64_t t = 0;
  std::string to_state;
};

// The alert log, oldest first, read from the file behind the daemon's back (it has stopped).
std::vector<LogEntry> ReadAlertLog(const std::string& path) {
  std::vector<LogEntry> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT fingerprint, t, to_state FROM alert_log ORDER BY id", -1,
                               &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    out.push_back({reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                   sqlite3_column_int64(stmt, 1),
                   reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2))});
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// As the daemon writes startsAt: RFC 3339 in UTC with milliseconds.
std::string Rfc3339(int64_t millis) {
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];  // room for any int the compiler can imagine in each field
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis % 1000));
  return buf;
}

class CrashLoopTest : public ::testing::Test {
 protected:
  void WriteConfig(const std::string& job_url, const std::string& receiver_url) {
    std::ofstream(dir_.Sub("statewatch.yaml"))
        << "global:\n"
           "  scrape_interval: 50ms\n"
           "  evaluation_interval: 50ms\n"
           "sources:\n"
           "  - name: job\n"
           "    type: prometheus\n"
           "    job: flapping\n"
           "    options:\n"
           "      url: "
        << job_url
        << "\n"
           "rules:\n"
           "  - alert: StateFull\n"
           "    type: threshold\n"
           "    series: statewatch_state_keys\n"
           "    op: '>'\n"
           "    threshold: 500\n"
           "receivers:\n"
           "  - name: ops\n"
           "    url: "
        << receiver_url << "\n    timeout: " << kReceiverTimeout.count()
        << "ms\n    repeat_interval: 24h\n";
  }

  std::unique_ptr<ChildProcess> Start(int round) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{STATEWATCHD_PATH, "--allow-root",
                                 "--config.file=" + dir_.Sub("statewatch.yaml"),
                                 "--storage.path=" + dir_.Sub("data"),
                                 "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
        dir_.Sub("run-" + std::to_string(round) + ".log"));
  }

  TempDir dir_;
};

TEST_F(CrashLoopTest, RepeatedSigkillLosesNoAlertAndSendsNoneTwice) {
  FlappingJob job;
  WebhookReceiver receiver;
  std::mt19937 rng(20261202);
  std::mutex rng_mu;
  // Mostly prompt 200s; some slow (within and beyond the daemon's timeout), some 500s.
  receiver.set_answer([&](size_t) {
    std::lock_guard<std::mutex> lock(rng_mu);
    const unsigned dice = rng() % 100;
    if (dice < 8) return WebhookReceiver::Answer{500, milliseconds(0)};
    if (dice < 20) return WebhookReceiver::Answer{200, milliseconds(100 + rng() % 600)};
    return WebhookReceiver::Answer{200, milliseconds(0)};
  });
  WriteConfig(job.url(), receiver.url());

  int64_t first_round_end_millis = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto daemon = Start(round);
    ASSERT_TRUE(daemon->WaitForLog("listening on 127\\.0\\.0\\.1:(\\d+)")) << daemon->Log();
    int run_ms;
    {
      std::lock_guard<std::mutex> lock(rng_mu);
      run_ms = 200 + static_cast<int>(rng() % 1300);
    }
    // Flip a random state every 60 ms while it runs (the job changing under the daemon), then
    // kill it wherever it is.
    const auto until = Clock::now() + milliseconds(run_ms);
    while (Clock::now() < until) {
      {
        std::lock_guard<std::mutex> lock(rng_mu);
        job.Set(static_cast<int>(rng() % kStates), rng() % 2 == 0);
      }
      std::this_thread::sleep_for(milliseconds(60));  // the pace of the job's changes
    }
    ASSERT_TRUE(daemon->Alive()) << "round " << round << ":\n" << daemon->Log();
    daemon->Signal(SIGKILL);
    ASSERT_EQ(daemon->Wait(), 128 + SIGKILL);
    if (round == 0) {
      first_round_end_millis = std::chrono::duration_cast<milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    }
  }

  // A last run on a job that holds still and a receiver that answers at once: everything owed
  // is delivered, then the daemon stops cleanly.
  receiver.set_answer(nullptr);
  receiver.set_status(200);
  auto daemon = Start(kRounds);
  const std::optional<std::string> port = daemon->WaitForLog("listening on 127\\.0\\.0\\.1:(\\d+)");
  ASSERT_TRUE(port) << daemon->Log();
  httplib::Client client("127.0.0.1", std::stoi(*port));
  const std::string want_firing =
      "statewatch_alerts{state=\"firing\"} " + std::to_string(job.CountFull()) + "\n";
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  bool settled = false;
  while (!settled && Clock::now() < deadline) {
    httplib::Result metrics = client.Get("/metrics");
    settled = metrics && metrics->body.find(want_firing) != std::string::npos &&
              metrics->body.find("statewatch_notifications_queued 0\n") != std::string::npos;
    if (!settled) std::this_thread::sleep_for(milliseconds(20));  // polling /metrics
  }
  ASSERT_TRUE(settled) << "the outbox did not drain: " << client.Get("/metrics")->body;
  daemon->Signal(SIGTERM);
  ASSERT_EQ(daemon->Wait(), 0) << daemon->Log();

  // The stores are intact and the history of the first run survived eleven kills.
  for (const char* file : {"samples.db", "alerts.db"}) {
    EXPECT_EQ(RawQuery(dir_.Sub(std::string("data/") + file), "PRAGMA integrity_check"), "ok")
        << file;
  }
  // (Recent samples are in `head`, older ones in `samples`: count both.)
  const std::string before = std::to_string(first_round_end_millis);
  EXPECT_NE(RawQuery(dir_.Sub("data/samples.db"),
                     "SELECT (SELECT count(*) FROM head WHERE t <= " + before +
                         ") + (SELECT count(*) FROM samples WHERE t <= " + before + ")"),
            "0");

  // What the receiver acknowledged, by (fingerprint, status, startsAt).
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::vector<WebhookReceiver::Request>> acknowledged;
  for (const WebhookReceiver::Request& r : receiver.requests()) {
    if (r.answered / 100 != 2) continue;
    const auto body = nlohmann::json::parse(r.body);
    const auto& a = body["alerts"][0];
    acknowledged[{a["fingerprint"], a["status"], a["startsAt"]}].push_back(r);
  }

  // No alert lost: each logged firing and resolve was delivered.
  const std::vector<LogEntry> log = ReadAlertLog(dir_.Sub("data/alerts.db"));
  std::map<std::string, int64_t> fired_at;
  size_t firings = 0, resolves = 0;
  for (const LogEntry& e : log) {
    if (e.to_state == "firing") {
      fired_at[e.fingerprint] = e.t;
      ++firings;
      EXPECT_TRUE(acknowledged.contains({e.fingerprint, "firing", Rfc3339(e.t)}))
          << "firing of " << e.fingerprint << " at " << Rfc3339(e.t) << " never delivered";
    } else if (e.to_state == "resolved") {
      ++resolves;
      ASSERT_TRUE(fired_at.contains(e.fingerprint)) << "resolved before it fired";
      EXPECT_TRUE(
          acknowledged.contains({e.fingerprint, "resolved", Rfc3339(fired_at[e.fingerprint])}))
          << "resolve of " << e.fingerprint << " at " << Rfc3339(e.t) << " never delivered";
    }
  }
  EXPECT_GE(firings, 10u) << "too few alerts to prove anything";
  EXPECT_GE(resolves, 5u) << "too few resolves to prove anything";

  // None twice. The daemon logs each delivery it recorded (after its outbox commit); a key it
  // recorded twice was sent again after an acknowledged delivery. Copies beyond what it
  // recorded are answers that never reached it as one: a 5xx is not counted at all, an answer
  // later than its timeout, or a kill while it waited or before its commit.
  std::map<Key, size_t> recorded;
  const std::regex delivered(
      R"(notification \d+ \(([0-9a-f]+)\|(firing|resolved)\|(\d+)[|)].* delivered)");
  for (int round = 0; round <= kRounds; ++round) {
    std::ifstream in(dir_.Sub("run-" + std::to_string(round) + ".log"));
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_search(line, m, delivered)) {
        ++recorded[{m[1].str(), m[2].str(), Rfc3339(std::stoll(m[3].str()))}];
      }
    }
  }
  EXPECT_FALSE(recorded.empty()) << "no delivery logged: the check below would prove nothing";
  size_t excused = 0;
  for (const auto& [key, copies] : acknowledged) {
    const size_t times = recorded.contains(key) ? recorded.at(key) : 0;
    EXPECT_LE(times, 1u) << "delivered twice: " << std::get<0>(key) << " " << std::get<1>(key)
                         << " " << std::get<2>(key);
    excused += copies.size() - std::min(copies.size(), std::max<size_t>(times, 1));
  }
  std::printf(
      "crash loop: %d kills, %zu firings and %zu resolves logged, %zu requests, %zu "
      "repeats of unacknowledged notifications\n",
      kRounds, firings, resolves, receiver.requests().size(), excused);
}

}  // namespace
}  // namespace statewatch
