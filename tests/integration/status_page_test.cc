// The status page (`/`) in a real headless Chromium against a running statewatchd with data:
// the page's script must have fetched the API and rendered the watched states with their key
// count, TTL, verdict and a 24 h sparkline, the firing alert and the sources. The rendered DOM
// is what is asserted on (chromium --dump-dom after the page settled); a screenshot is kept
// next to the test binary for people (status_page.png).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "embedded-state/test_util.h"
#include "integration/daemon_process.h"
#include "integration/peers.h"
#include "integration/test_database.h"

namespace statewatch {
namespace {

using statewatch::testing::ChildProcess;
using statewatch::testing::Eventually;
using statewatch::testing::FreeLoopbackPort;
using statewatch::testing::GetJson;
using statewatch::testing::MakeDatabase;
using statewatch::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr const char* kChromium = "/usr/bin/chromium";

// Headless Chromium with `flags` on `url`, its stdout into `out` (stderr is Chromium's own
// chatter, kept apart). Virtual time lets the page's fetches finish before the DOM is dumped.
int RunChromium(const TempDir& dir, const std::string& flags, const std::string& url,
                const std::string& out) {
  const std::string command = std::string(kChromium) +
                              " --headless=new --no-sandbox --disable-gpu --hide-scrollbars"
                              " --user-data-dir=" +
                              dir.Sub("chromium-profile") + " --virtual-time-budget=15000 " +
                              flags + " '" + url + "' 2>" + dir.Sub("chromium.err");
  ChildProcess chromium({"/bin/sh", "-c", command}, out);
  return chromium.Wait(std::chrono::seconds(90)).value_or(-1);
}

TEST(StatusPageTest, RendersStatesSparklinesAlertsAndSourcesInChromium) {
  if (::access(kChromium, X_OK) != 0) {
    GTEST_FAIL() << kChromium << " is missing: install Debian's chromium (scripts/test does)";
  }
  TempDir dir;
  MakeDatabase(dir.Sub("db"), 300);
  std::ofstream(dir.Sub("statewatch.yaml"))
      << "global:\n"
         "  scrape_interval: 200ms\n"
         "  evaluation_interval: 200ms\n"
         "sources:\n"
         "  - name: orders-db\n"
         "    type: rocksdb_dir\n"
         "    job: cdc\n"
         "    options: {path: "
      << dir.Sub("db")
      << "}\n"
         "rules:\n"
         "  - alert: OrdersPresent\n"
         "    type: threshold\n"
         "    series: statewatch_rocksdb_estimate_num_keys\n"
         "    matchers: {cf: orders}\n"
         "    op: '>'\n"
         "    threshold: 0\n"
         "    annotations: {summary: 'column family {{ $labels.cf }} holds keys'}\n"
         "  - alert: ColumnFamilyWithoutTtlFilterGrowing\n"
         "    type: missing_ttl\n"
         "    series: statewatch_rocksdb_estimate_num_keys\n"
         "    ttl_series: statewatch_rocksdb_ttl_compaction_filter\n"
         "    matchers: {cf: orders}\n";
  const int port = FreeLoopbackPort();
  ChildProcess daemon(
      {STATEWATCHD_PATH, "--allow-root", "--config.file=" + dir.Sub("statewatch.yaml"),
       "--storage.path=" + dir.Sub("data"),
       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      dir.Sub("statewatchd.log"));
  // Data first: the alert firing and a few stored points for the sparkline.
  ASSERT_TRUE(Eventually([&] {
    const auto alerts = GetJson(port, "/api/v1/alerts");
    const auto points = GetJson(
        port, "/api/v1/query?series=statewatch_rocksdb_estimate_num_keys&from=0&to=9999999999");
    return alerts && !(*alerts)["data"]["alerts"].empty() && points &&
           !(*points)["data"]["result"].empty() &&
           (*points)["data"]["result"][0]["values"].size() >= 3;
  })) << daemon.Log();

  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  ASSERT_EQ(RunChromium(dir, "--dump-dom", url, dir.Sub("dom.html")), 0);
  const std::string dom = ChildProcess({"/bin/true"}, dir.Sub("dom.html")).Log();

  EXPECT_THAT(dom, HasSubstr("data-loaded=\"true\"")) << dom;  // the script ran to the end
  EXPECT_THAT(dom, Not(HasSubstr("Could not load")));
  // The watched column family: value, TTL, verdict, and a sparkline with a point per sample.
  std::smatch row;
  const std::regex orders_row(
      "<tr data-series=\"statewatch_rocksdb_estimate_num_keys\" data-state=\"orders\">(.*?)</tr>");
  ASSERT_TRUE(std::regex_search(dom, row, orders_row)) << dom;
  const std::string cells = row[1];
  EXPECT_THAT(cells, HasSubstr("<td class=\"num value\">300</td>"));
  EXPECT_THAT(cells, HasSubstr("<td class=\"ttl\">none</td>"));  // no TTL compaction filter
  EXPECT_THAT(cells, HasSubstr("class=\"verdict verdict-insufficient_data\""));
  EXPECT_THAT(cells, HasSubstr("cdc / orders-db"));
  std::smatch spark;
  ASSERT_TRUE(std::regex_search(cells, spark, std::regex("<polyline points=\"([^\"]*)\"")))
      << cells;
  const std::string points = spark[1];
  EXPECT_GE(std::count(points.begin(), points.end(), ' ') + 1, 3) << points;
  // The firing alert with its summary, and the source up.
  EXPECT_THAT(dom, MatchesRegex("(.|\n)*<td>OrdersPresent</td><td class=\"state "
                                "state-firing\">firing</td>(.|\n)*"));
  EXPECT_THAT(dom, HasSubstr("<td>column family orders holds keys</td>"));
  EXPECT_THAT(dom, HasSubstr("<td>orders-db</td><td>rocksdb_dir</td><td>cdc</td>"
                             "<td class=\"up-1\">up</td>"));
  EXPECT_THAT(dom, HasSubstr("1 firing"));

  // A screenshot for people; it must be a real PNG of the rendered page.
  const std::string shot = std::string(STATUS_SCREENSHOT_DIR) + "/status_page.png";
  ASSERT_EQ(RunChromium(dir, "--window-size=1280,720 --screenshot=" + shot, url,
                        dir.Sub("screenshot.log")),
            0);
  std::ifstream png(shot, std::ios::binary);
  std::string header(8, '\0');
  png.read(header.data(), 8);
  EXPECT_EQ(header, "\x89PNG\r\n\x1a\n");
  png.seekg(0, std::ios::end);
  EXPECT_GT(png.tellg(), 10'000);

  // Static files are served with their types; unknown paths are 404.
  httplib::Client client("127.0.0.1", port);
  auto js = client.Get("/status.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  auto missing = client.Get("/nope.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

}  // namespace
}  // namespace statewatch
