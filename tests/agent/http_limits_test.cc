// The HTTP API's request limits, over raw sockets: an over-long request line (414), oversized
// or too many header fields (431), a body on a GET or over 64 KiB (413), a chunked body (411),
// too many query parameters (400), on every endpoint, a head or body trickled in slower than
// 10 s (408); each answered with a clear status and a closed connection, and the next request
// on a fresh connection served as usual. Requests within the limits (large but allowed,
// pipelined, POST without Content-Length, a body in pieces) still work.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "embedded-state/test_util.h"
#include "statewatch/agent/agent.h"
#include "statewatch/agent/http_api.h"

namespace statewatch::agent {
namespace {

using statewatch::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr size_t kKiB = 1024;

struct Endpoint {
  std::string method;
  std::string target;
  int status;  // what a normal request gets
};

// Every route the API serves (the status page and its files included).
const std::vector<Endpoint>& Endpoints() {
  static const std::vector<Endpoint> endpoints = {
      {"GET", "/", 200},
      {"GET", "/index.html", 200},
      {"GET", "/status.js", 200},
      {"GET", "/status.css", 200},
      {"GET", "/metrics", 200},
      {"GET", "/-/healthy", 200},
      {"GET", "/-/ready", 200},
      {"GET", "/api/v1/series", 200},
      {"GET", "/api/v1/query?series=statewatch_state_keys%7Bstate%3D%22orders%22%7D&from=0", 200},
      {"GET", "/api/v1/alerts", 200},
      {"GET", "/api/v1/states", 200},
      {"GET", "/api/v1/sources", 200},
      {"POST", "/-/reload", 200},
      {"PUT", "/-/reload", 200},
  };
  return endpoints;
}

struct Reply {
  int status = 0;        // of the first response; 0 when none came
  std::string text;      // everything received until the server closed
  size_t responses = 0;  // how many status lines
};

// A TCP connection to 127.0.0.1:`port` whose sends and receives time out after
// `timeout_seconds`; -1 (and a test failure naming the error) when it cannot be made.
int ConnectLoopback(int port, int timeout_seconds) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket: " << std::strerror(errno);
    return -1;
  }
  timeval tv{timeout_seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on a fresh loopback connection and reads until the server closes. The request
// goes out from a second thread, so a server that answers before reading all of it (or stops
// reading) cannot block the test; both directions time out after 20 s.
Reply Exchange(int port, const std::string& request) {
  Reply reply;
  const int fd = ConnectLoopback(port, 20);
  if (fd < 0) return reply;
  std::thread sender([&] {
    for (size_t off = 0; off < request.size();) {
      const ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may close once it has answered
      off += static_cast<size_t>(n);
    }
  });
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.text.append(buffer, static_cast<size_t>(n));
  }
  sender.join();
  ::close(fd);
  if (reply.text.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::atoi(reply.text.c_str() + 9);
  for (size_t pos = 0; (pos = reply.text.find("HTTP/1.1 ", pos)) != std::string::npos; ++pos) {
    ++reply.responses;
  }
  return reply;
}

// "METHOD target HTTP/1.1" with Host, `extra` header lines, Connection: close and `body`
// (Content-Length set when `body` is not empty, unless `extra` says how it is framed).
std::string Request(const std::string& method, const std::string& target,
                    const std::string& extra = "", const std::string& body = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra;
  if (!body.empty() && extra.find("Transfer-Encoding") == std::string::npos) {
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "Connection: close\r\n\r\n" + body;
}

// `target` with one more query parameter.
std::string WithParam(const std::string& target, const std::string& param) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + param;
}

// `count` header fields of `size` bytes each (CRLF included).
std::string Fields(size_t count, size_t size) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    std::string name = "X-Pad-" + std::to_string(i) + ": ";
    out += name + std::string(size - name.size() - 2, 'h') + "\r\n";
  }
  return out;
}

class HttpLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = statewatch::testing::MakeBackend(
        statewatch::testing::TestOptions("hashmap", &clock_, dir_));
    auto orders = backend_->GetValueState(ValueStateDescriptor<std::string>("orders"));
    ASSERT_TRUE(orders.ok()) << orders.status().ToString();
    ASSERT_SW_OK(backend_->SetCurrentKey(std::string("order-1")));
    ASSERT_SW_OK((*orders)->Update("open"));
    std::ofstream(dir_.Sub("statewatch.yaml")) << "sources:\n"
                                                  "  - name: app\n"
                                                  "    type: engine\n"
                                                  "    job: cdc\n";
    AgentOptions o;
    o.config_file = dir_.Sub("statewatch.yaml");
    o.storage_path = dir_.Sub("data");
    o.clock = &clock_;
    o.engines = {{"app", backend_.get()}};
    auto agent = Agent::Create(o);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(*agent);
    ASSERT_SW_OK(agent_->CollectAll());  // /-/ready answers 200 from here on
    http_ = std::make_unique<HttpApi>(agent_.get());
    ASSERT_SW_OK(http_->Start("127.0.0.1:0"));
  }
  void TearDown() override {
    if (http_) http_->Stop();
  }

  int port() const { return http_->port(); }

  // A normal request to `e` on a fresh connection gets its usual answer.
  void ExpectServed(const Endpoint& e) {
    const Reply r = Exchange(port(), Request(e.method, e.target));
    EXPECT_EQ(r.status, e.status) << e.method << " " << e.target << "\n" << r.text.substr(0, 300);
  }

  // `request` is refused with `status` and a text naming the limit, and the server then serves
  // `e` normally.
  void ExpectRefused(const Endpoint& e, const std::string& request, int status,
                     const std::string& says) {
    SCOPED_TRACE(e.method + " " + e.target);
    const Reply r = Exchange(port(), request);
    EXPECT_EQ(r.status, status) << r.text.substr(0, 300);
    EXPECT_THAT(r.text, HasSubstr("Connection: close"));
    EXPECT_THAT(r.text, HasSubstr(says));
    EXPECT_EQ(r.responses, 1u);
    ExpectServed(e);
  }

  TempDir dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<KeyedStateBackend> backend_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<HttpApi> http_;
};

// Loopback by default: without --web.listen-address the API is not reachable from the network.
TEST(HttpDefaultsTest, TheDefaultListenAddressIsLoopbackOnly) {
  std::string host;
  int port = 0;
  ASSERT_SW_OK(ParseListenAddress(AgentOptions{}.listen_address, &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9465);
}

TEST_F(HttpLimitsTest, EveryEndpointServesNormalRequests) {
  for (const Endpoint& e : Endpoints()) ExpectServed(e);
}

TEST_F(HttpLimitsTest, RequestTargetOver8KiBIs414) {
  for (const Endpoint& e : Endpoints()) {
    const std::string target = WithParam(e.target, "pad=" + std::string(100 * kKiB, 'u'));
    ExpectRefused(e, Request(e.method, target), 414, "414 URI Too Long: the request line");
  }
  // Just under the limit is fine.
  const std::string target = WithParam("/metrics", "pad=" + std::string(7 * kKiB, 'u'));
  EXPECT_EQ(Exchange(port(), Request("GET", target)).status, 200);
}

TEST_F(HttpLimitsTest, HeaderFieldsOver32KiBAre431) {
  for (const Endpoint& e : Endpoints()) {
    // 100 fields of 1 KiB: each short, the count at the limit, 100 KiB together.
    ExpectRefused(e, Request(e.method, e.target, Fields(100, kKiB)), 431,
                  "431 Request Header Fields Too Large: the header fields are longer than");
  }
  // 30 KiB in 30 fields is allowed.
  EXPECT_EQ(Exchange(port(), Request("GET", "/metrics", Fields(30, kKiB))).status, 200);
}

TEST_F(HttpLimitsTest, OneHeaderFieldOver8KiBIs431) {
  const Endpoint healthy{"GET", "/-/healthy", 200};
  ExpectRefused(healthy, Request("GET", "/-/healthy", Fields(1, 10 * kKiB)), 431,
                "a header field is longer than 8192 bytes");
  ExpectRefused(healthy, Request("GET", "/-/healthy", Fields(1, 100 * kKiB)), 431,
                "a header field is longer than 8192 bytes");
  EXPECT_EQ(Exchange(port(), Request("GET", "/-/healthy", Fields(1, 8 * kKiB))).status, 200);
}

TEST_F(HttpLimitsTest, MoreThan100HeaderFieldsAre431) {
  const Endpoint healthy{"GET", "/-/healthy", 200};
  ExpectRefused(healthy, Request("GET", "/-/healthy", Fields(200, 16)), 431,
                "more than 100 header fields");
  // Host and Connection make 2: 98 more is the limit.
  EXPECT_EQ(Exchange(port(), Request("GET", "/-/healthy", Fields(98, 16))).status, 200);
}

TEST_F(HttpLimitsTest, BodiesOver64KiBAndOnGetsAre413) {
  const std::string mib(1024 * kKiB, 'b');
  for (const Endpoint& e : Endpoints()) {
    const std::string says = e.method == "GET" ? "413 Payload Too Large: GET requests take no body"
                                               : "413 Payload Too Large: the body is larger than";
    ExpectRefused(e, Request(e.method, e.target, "Content-Type: text/plain\r\n", mib), 413, says);
  }
  // A GET takes no body at all, not even a small one (httplib would parse it as a request).
  const Endpoint healthy{"GET", "/-/healthy", 200};
  ExpectRefused(healthy, Request("GET", "/-/healthy", "", "x"), 413, "GET requests take no body");
  // A huge declared length is refused at once, without waiting for the bytes.
  ExpectRefused(healthy, Request("POST", "/-/reload", "Content-Length: 99999999999\r\n"), 413,
                "the body is larger than 65536 bytes");
  // Up to 64 KiB is accepted where a body is.
  EXPECT_EQ(Exchange(port(), Request("POST", "/-/reload", "", std::string(64 * kKiB, 'b'))).status,
            200);
}

TEST_F(HttpLimitsTest, ChunkedBodiesAre411) {
  std::string chunked;
  for (int i = 0; i < 16; ++i) chunked += "10000\r\n" + std::string(64 * kKiB, 'c') + "\r\n";
  chunked += "0\r\n\r\n";
  const Endpoint reload{"POST", "/-/reload", 200};
  ExpectRefused(reload, Request("POST", "/-/reload", "Transfer-Encoding: chunked\r\n", chunked),
                411, "411 Length Required: chunked request bodies are not accepted");
  const Endpoint metrics{"GET", "/metrics", 200};
  ExpectRefused(metrics, Request("GET", "/metrics", "Transfer-Encoding: chunked\r\n", chunked), 413,
                "GET requests take no body");
}

TEST_F(HttpLimitsTest, MoreThan64QueryParametersAre400) {
  std::string many = "/api/v1/query?series=statewatch_state_keys";
  for (int i = 0; i < 64; ++i) many += "&p" + std::to_string(i) + "=1";
  const Reply r = Exchange(port(), Request("GET", many));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.text, HasSubstr(R"("error":"more than 64 query parameters")"));
  const Reply metrics = Exchange(port(), Request("GET", WithParam("/metrics", many.substr(14))));
  EXPECT_EQ(metrics.status, 400);
  EXPECT_THAT(metrics.text, HasSubstr("more than 64 query parameters"));
  // 64 is fine.
  std::string allowed = "/api/v1/query?series=statewatch_state_keys";
  for (int i = 0; i < 63; ++i) allowed += "&p" + std::to_string(i) + "=1";
  EXPECT_EQ(Exchange(port(), Request("GET", allowed)).status, 200);
}

TEST_F(HttpLimitsTest, KeptAliveAndPipelinedRequestsStillWork) {
  // Three requests in one write, a POST with a body among them: three answers, in order.
  const std::string pipelined =
      "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "GET /api/v1/sources HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const Reply r = Exchange(port(), pipelined);
  EXPECT_EQ(r.responses, 3u) << r.text;
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.text, HasSubstr("statewatchd is Healthy."));
  EXPECT_THAT(r.text, HasSubstr(R"("name":"app")"));
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("HTTP/1.1 4")));

  // A client's kept-alive connection serves several requests.
  httplib::Client client("127.0.0.1", port());
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto res = client.Get("/-/healthy");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
}

TEST_F(HttpLimitsTest, PostWithoutContentLengthHasAnEmptyBody) {
  // httplib alone reads such a body until the connection closes (here: 5 s, then 400).
  const auto start = std::chrono::steady_clock::now();
  const Reply r =
      Exchange(port(), "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

// Sends `first`, then `next(i)` once a second (each within the 5 s read timeout) until the
// server answers or 30 s pass, on its own thread, while the test checks that others are still
// served; returns what the server sent and how long the answer took from the first byte.
struct TrickleReply {
  std::string text;
  std::chrono::steady_clock::duration took{};
};
template <typename Next>
TrickleReply Trickle(int port, const std::string& first, Next next) {
  TrickleReply reply;
  const int fd = ConnectLoopback(port, 30);
  if (fd < 0) return reply;
  const auto start = std::chrono::steady_clock::now();
  std::atomic<bool> answered{false};
  std::thread slow_client([&] {
    std::string piece = first;
    for (int i = 0; i < 30 && !answered; ++i) {
      // Stop once the answer is there: a send after the server closed would draw a reset, which
      // drops the unread answer from our receive queue.
      pollfd readable{fd, POLLIN, 0};
      if (::poll(&readable, 1, 0) > 0) break;
      if (::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) <= 0) break;
      piece = next(i);
      std::this_thread::sleep_for(std::chrono::seconds(1));  // the client's pace, not a wait
    }
  });
  EXPECT_EQ(Exchange(port, Request("GET", "/-/healthy")).status, 200);  // others are served
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) reply.text.append(buffer, n);
  answered = true;
  reply.took = std::chrono::steady_clock::now() - start;
  slow_client.join();
  ::close(fd);
  return reply;
}

// The trickled request was answered 408 naming its late `part` ("head" or "body"), at its 10 s
// deadline: not before it, and not as late as the client would have gone on (30 s).
void ExpectCutOffWith408(const TrickleReply& r, const std::string& part) {
  EXPECT_THAT(r.text, HasSubstr("HTTP/1.1 408 Request Timeout"));
  EXPECT_THAT(r.text, HasSubstr("the request " + part + " did not arrive within 10 s"));
  EXPECT_GE(r.took, std::chrono::seconds(9));
  EXPECT_LT(r.took, std::chrono::seconds(25));
}

// A client that sends its head a header field per second is cut off 10 s after its first byte
// with 408, instead of holding a worker thread for as long as it likes; the API keeps answering
// others meanwhile.
TEST_F(HttpLimitsTest, AHeadTrickledInSlowerThan10SecondsIs408) {
  const TrickleReply r = Trickle(port(), "GET /metrics HTTP/1.1\r\n",
                                 [](int i) { return "X-Slow-" + std::to_string(i) + ": 1\r\n"; });
  ExpectCutOffWith408(r, "head");
}

// The same for a body: a whole head that announces 64 bytes, then a byte a second. httplib
// alone would wait for the body as long as each byte came within its read timeout; and the
// reload must not run on a body that never arrived.
TEST_F(HttpLimitsTest, ABodyTrickledInSlowerThan10SecondsIs408) {
  const TrickleReply r = Trickle(
      port(),
      "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 64\r\n\r\n",
      [](int) { return std::string("b"); });
  ExpectCutOffWith408(r, "body");
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("HTTP/1.1 200")));
}

// A body that arrives in pieces within the deadline is served as usual.
TEST_F(HttpLimitsTest, ABodyInSeveralPiecesWithinTheDeadlineIsServed) {
  const TrickleReply r = Trickle(
      port(),
      "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\na",
      [](int) { return std::string("b"); });
  EXPECT_THAT(r.text, HasSubstr("HTTP/1.1 200"));
  EXPECT_LT(r.took, std::chrono::seconds(8));
}

TEST_F(HttpLimitsTest, MalformedHeadsAre400) {
  const Endpoint healthy{"GET", "/-/healthy", 200};
  ExpectRefused(healthy, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400,
                "bad Content-Length");
  ExpectRefused(healthy,
                "POST /-/reload HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400,
                "bad Content-Length");
}

}  // namespace
}  // namespace statewatch::agent
