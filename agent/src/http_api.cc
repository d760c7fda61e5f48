#include "statewatch/agent/http_api.h"

#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>

#include "statewatch/agent/secret_file.h"
#include "statewatch/agent/webhook_payload.h"
#include "statewatch/storage/labels_text.h"
#include "web_assets.h"

namespace statewatch::agent {
namespace {

using nlohmann::ordered_json;

// ---- Request limits -------------------------------------------------------------------------
// Debian's cpp-httplib (0.11.4) is a compiled library: its CPPHTTPLIB_* limits are fixed inside
// libcpp-httplib.so, so defining them here would change nothing (and, differing between
// translation units, break the ODR). Those built-in limits also leave holes: a request line or
// header line is read in full before its length is checked, the number of header lines is not
// bounded, chunked and length-less bodies are read to the end whatever set_payload_max_length
// says, and the body of a GET is not read at all (its bytes are parsed as the next request).
// So LimitedServer reads each request head itself, bounded, and answers anything over a limit
// before httplib sees it; httplib parses and routes the rest through a stream that ends where
// the request's declared body ends.
constexpr size_t kMaxRequestBytes = 64 * 1024;     // a body (POST/PUT; GET takes none): 413
constexpr size_t kMaxRequestLineBytes = 8 * 1024;  // "GET /api/v1/query?… HTTP/1.1\r\n": 414
constexpr size_t kMaxHeaderLineBytes = 8 * 1024;   // one header field, CRLF included: 431
constexpr size_t kMaxHeaderBytes = 32 * 1024;      // all header fields together: 431
constexpr size_t kMaxHeaderFields = 100;           // 431
constexpr size_t kMaxQueryParams = 64;             // 400
// After a rejection the rest of the request is read and dropped, so that the client gets the
// answer instead of a connection reset; up to this much, for at most this long.
constexpr size_t kMaxDiscardBytes = 4 * 1024 * 1024;
constexpr auto kDiscardTime = std::chrono::seconds(2);
// How long a request (request line, header fields and the body they declare, at most
// kMaxRequestBytes) may take to arrive in full, from its first byte: 408.
constexpr auto kRequestDeadline = std::chrono::seconds(10);

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What the bytes received so far say about a request head (request line, header fields, blank
// line). kRejected carries the status and why; kComplete the head's length and body length.
struct Head {
  enum class State { kIncomplete, kComplete, kRejected };
  State state = State::kIncomplete;
  size_t length = 0;
  uint64_t content_length = 0;
  int status = 0;  // kRejected: the answer; 0 when the client went away or timed out
  std::string error;
};

Head Rejected(int status, std::string error) {
  Head h;
  h.state = Head::State::kRejected;
  h.status = status;
  h.error = std::move(error);
  return h;
}

Head ExamineHead(std::string_view data) {
  constexpr size_t npos = std::string_view::npos;
  const size_t eol = data.find('\n');
  if ((eol == npos ? data.size() : eol + 1) > kMaxRequestLineBytes) {
    return Rejected(
        414, "the request line is longer than " + std::to_string(kMaxRequestLineBytes) + " bytes");
  }
  if (eol == npos) return {};
  if (eol == 0 || data[eol - 1] != '\r')
    return Rejected(400, "the request line does not end in CRLF");
  const std::string_view request_line = data.substr(0, eol - 1);
  const std::string method(request_line.substr(0, request_line.find(' ')));
  const size_t fields_start = eol + 1;
  size_t pos = fields_start;
  size_t fields = 0;
  bool has_length = false;
  bool has_transfer_encoding = false;
  uint64_t content_length = 0;
  for (;;) {
    const size_t end = data.find('\n', pos);
    const size_t line_end = end == npos ? data.size() : end + 1;
    if (line_end - pos > kMaxHeaderLineBytes) {
      return Rejected(
          431, "a header field is longer than " + std::to_string(kMaxHeaderLineBytes) + " bytes");
    }
    if (line_end - fields_start > kMaxHeaderBytes) {
      return Rejected(431, "the header fields are longer than " + std::to_string(kMaxHeaderBytes) +
                               " bytes together");
    }
    if (end == npos) return {};
    if (end == pos || data[end - 1] != '\r') {
      return Rejected(400, "a header line does not end in CRLF");
    }
    const std::string_view field = data.substr(pos, end - 1 - pos);
    pos = end + 1;
    if (field.empty()) break;  // the blank line: end of the head
    if (++fields > kMaxHeaderFields) {
      return Rejected(431, "more than " + std::to_string(kMaxHeaderFields) + " header fields");
    }
    const size_t colon = field.find(':');
    if (colon == npos) continue;
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = TrimSpace(field.substr(colon + 1));
    if (IEquals(name, "Content-Length")) {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size() ||
          (has_length && n != content_length)) {
        return Rejected(400, "bad Content-Length");
      }
      has_length = true;
      content_length = n;
    } else if (IEquals(name, "Transfer-Encoding")) {
      has_transfer_encoding = true;
    }
  }
  if ((method == "GET" || method == "HEAD" || method == "OPTIONS") &&
      (has_transfer_encoding || content_length > 0)) {
    return Rejected(413, method + " requests take no body");
  }
  if (has_transfer_encoding) {
    return Rejected(411, "chunked request bodies are not accepted; send Content-Length");
  }
  if (content_length > kMaxRequestBytes) {
    return Rejected(413, "the body is larger than " + std::to_string(kMaxRequestBytes) + " bytes");
  }
  Head h;
  h.state = Head::State::kComplete;
  h.length = pos;
  h.content_length = content_length;
  return h;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Error";
  }
}

// One accepted connection as httplib's Stream: reads the next request's head into a buffer
// (ReadRequest, bounded by the limits above) with its declared body, then hands httplib
// that head and body (read() returns end-of-stream after it). Bytes received past the request (a
// pipelined next one) stay buffered for the next ReadRequest.
class LimitedStream final : public httplib::Stream {
 public:
  LimitedStream(int fd, int read_timeout_ms, int write_timeout_ms)
      : fd_(fd), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

  bool is_readable() const override {
    return pos_ < buffer_.size() || Poll(POLLIN, read_timeout_ms_);
  }
  bool is_writable() const override { return Poll(POLLOUT, write_timeout_ms_); }

  ssize_t read(char* ptr, size_t size) override {
    if (consumed_ >= limit_) return 0;
    size = static_cast<size_t>(std::min<uint64_t>(size, limit_ - consumed_));
    ssize_t n = 0;
    if (pos_ < buffer_.size()) {
      n = static_cast<ssize_t>(std::min(size, buffer_.size() - pos_));
      std::memcpy(ptr, buffer_.data() + pos_, static_cast<size_t>(n));
      pos_ += static_cast<size_t>(n);
    } else {
      if (!Poll(POLLIN, read_timeout_ms_)) return -1;
      n = Recv(ptr, size);
      if (n <= 0) return n;
    }
    consumed_ += static_cast<uint64_t>(n);
    return n;
  }

  using httplib::Stream::write;
  ssize_t write(const char* ptr, size_t size) override {
    if (!Poll(POLLOUT, write_timeout_ms_)) return -1;
    ssize_t n = 0;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      Address(addr, len, ip, port);
    }
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      Address(addr, len, ip, port);
    }
  }
  socket_t socket() const override { return fd_; }

  // Waits up to `timeout_sec` for the next request, in short slices so that a stopping server
  // (svr_sock INVALID_SOCKET) does not wait for idle kept-alive connections.
  bool WaitForRequest(time_t timeout_sec, const std::atomic<socket_t>& svr_sock) const {
    if (pos_ < buffer_.size()) return true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_sec);
    while (svr_sock != INVALID_SOCKET) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (Poll(POLLIN, static_cast<int>(std::min<int64_t>(left.count(), 100)))) return true;
    }
    return false;
  }

  // Receives until the buffer holds a whole request, its declared body included, or its head
  // breaks a limit. The request must arrive within kRequestDeadline of its first byte
  // (WaitForRequest saw it): a client that trickles a byte now and then, into the head or into
  // a body it announced, would otherwise hold one of the few worker threads for as long as it
  // likes. The body is at most kMaxRequestBytes, so holding it here costs little.
  Head ReadRequest() {
    const auto deadline = std::chrono::steady_clock::now() + kRequestDeadline;
    Head h;
    for (;;) {
      const std::string_view received = std::string_view(buffer_).substr(pos_);
      // Once the head is whole, only the body's length is left to check.
      if (h.state == Head::State::kIncomplete) h = ExamineHead(received);
      if (h.state == Head::State::kRejected) return h;
      if (h.state == Head::State::kComplete && received.size() - h.length >= h.content_length) {
        return h;
      }
      char chunk[4096];
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      const auto late = [&h] {
        return Rejected(408, std::string(h.state == Head::State::kComplete ? "the request body"
                                                                           : "the request head") +
                                 " did not arrive within " +
                                 std::to_string(kRequestDeadline.count()) + " s");
      };
      if (left.count() <= 0) return late();
      // A wait bounded by the deadline that times out is the deadline (poll's millisecond
      // granularity may wake it a hair early); one bounded by the read timeout is a dead client.
      const bool until_deadline = left.count() <= read_timeout_ms_;
      const int wait_ms = static_cast<int>(until_deadline ? left.count() : read_timeout_ms_);
      if (!Poll(POLLIN, wait_ms)) return until_deadline ? late() : Rejected(0, "timed out");
      const ssize_t n = Recv(chunk, sizeof chunk);
      if (n <= 0) return Rejected(0, "closed");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // httplib may read `head` and its body, nothing more.
  void BeginRequest(const Head& head) {
    consumed_ = 0;
    limit_ = head.length + head.content_length;
  }

  // Drops what httplib left unread of the request (at most the bounded body); false when the
  // connection broke.
  bool FinishRequest() {
    char scratch[4096];
    while (consumed_ < limit_) {
      if (read(scratch, sizeof scratch) <= 0) return false;
    }
    buffer_.erase(0, pos_);
    pos_ = 0;
    consumed_ = limit_ = 0;
    return true;
  }

  // Answers `status` and closes: the answer, FIN, then the rest of the request read and dropped
  // (bounded) so that closing does not reset the connection under the client's feet.
  void Reject(int status, const std::string& error) {
    const std::string body =
        std::to_string(status) + " " + ReasonPhrase(status) + ": " + error + "\n";
    const std::string response = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
                                 "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                 body;
    for (size_t off = 0; off < response.size();) {
      const ssize_t n = write(response.data() + off, response.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
    ::shutdown(fd_, SHUT_WR);
    const auto deadline = std::chrono::steady_clock::now() + kDiscardTime;
    char scratch[16384];
    for (size_t discarded = 0; discarded < kMaxDiscardBytes;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !Poll(POLLIN, static_cast<int>(left.count()))) return;
      const ssize_t n = Recv(scratch, sizeof scratch);
      if (n <= 0) return;
      discarded += static_cast<size_t>(n);
    }
  }

 private:
  bool Poll(short events, int timeout_ms) const {
    pollfd p{fd_, events, 0};
    int r = 0;
    do {
      r = ::poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    return r > 0;
  }
  ssize_t Recv(char* ptr, size_t size) const {
    ssize_t n = 0;
    do {
      n = ::recv(fd_, ptr, size, 0);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  static void Address(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
    char host[NI_MAXHOST];
    char service[NI_MAXSERV];
    if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, service,
                      sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
      ip = host;
      port = std::atoi(service);
    }
  }

  const int fd_;
  const int read_timeout_ms_;
  const int write_timeout_ms_;
  std::string buffer_;  // received, from pos_ not yet handed out
  size_t pos_ = 0;
  uint64_t consumed_ = 0;  // of the current request, handed to httplib
  uint64_t limit_ = 0;     // its head and body
};

int Millis(time_t sec, time_t usec) {
  return static_cast<int>(sec * 1000 + usec / 1000);
}

// httplib::Server with the request limits above on every connection (its per-connection loop,
// process_and_close_socket, replaced; requests still go through its process_request).
class LimitedServer final : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override {
    // An answer goes out in two writes (head, body): with Nagle's algorithm the second waits
    // for the client's delayed ACK of the first, 40 ms per request on Linux.
    const int on = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    LimitedStream strm(sock, Millis(read_timeout_sec_, read_timeout_usec_),
                       Millis(write_timeout_sec_, write_timeout_usec_));
    bool ret = false;
    for (size_t count = keep_alive_max_count_; count > 0; --count) {
      if (!strm.WaitForRequest(keep_alive_timeout_sec_, svr_sock_)) break;
      const Head head = strm.ReadRequest();
      if (head.state != Head::State::kComplete) {
        if (head.status != 0) {
          std::string ip = "?";
          int port = 0;
          strm.get_remote_ip_and_port(ip, port);
          spdlog::warn("request from {} refused with {}: {}", ip, head.status, head.error);
          strm.Reject(head.status, head.error);
        }
        ret = false;
        break;
      }
      strm.BeginRequest(head);
      bool connection_closed = false;
      ret = process_request(strm, count == 1, connection_closed, nullptr);
      if (!ret || connection_closed || !strm.FinishRequest()) break;
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ret;
  }
};

// Prometheus renders sample values as strings, shortest round-trip form.
std::string ValueString(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, end);
}

double Seconds(int64_t millis) {
  return static_cast<double>(millis) / 1e3;
}

void Json(httplib::Response& res, const ordered_json& data) {
  ordered_json body;
  body["status"] = "success";
  body["data"] = data;
  res.set_content(body.dump(), "application/json");
}

void BadData(httplib::Response& res, const std::string& error) {
  ordered_json body;
  body["status"] = "error";
  body["errorType"] = "bad_data";
  body["error"] = error;
  res.status = 400;
  res.set_content(body.dump(), "application/json");
}

ordered_json LabelsObject(const rules::Labels& labels) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

// "name" or "name{a="b",…}" → name and equality matchers.
Status ParseSelector(const std::string& text, std::string* name, rules::Labels* matchers) {
  const size_t brace = text.find('{');
  *name = text.substr(0, brace);
  if (name->empty()) return Status::InvalidArgument("series selector '" + text + "' has no name");
  matchers->clear();
  if (brace == std::string::npos) return Status::OK();
  Result<rules::Labels> labels = storage::LabelsFromText(std::string_view(text).substr(brace));
  if (!labels.ok()) {
    return Status::InvalidArgument("series selector '" + text + "': " + labels.status().message());
  }
  *matchers = *labels;
  return Status::OK();
}

bool Matches(const rules::Labels& labels, const rules::Labels& matchers) {
  for (const auto& m : matchers) {
    if (std::find(labels.begin(), labels.end(), m) == labels.end()) return false;
  }
  return true;
}

ordered_json AlertJson(const rules::Alert& a) {
  ordered_json j;
  j["labels"] = LabelsObject(a.labels);
  ordered_json annotations = ordered_json::object();
  for (const auto& [k, v] : a.annotations) annotations[k] = v;
  j["annotations"] = annotations;
  j["state"] = rules::AlertStateName(a.state);
  j["activeAt"] = FormatRfc3339(a.active_at_millis);
  if (a.fired_at_millis != 0) j["firedAt"] = FormatRfc3339(a.fired_at_millis);
  j["value"] = ValueString(a.value);
  j["fingerprint"] = a.fingerprint;
  ordered_json values = ordered_json::object();
  for (const auto& [k, v] : a.values) values[k] = v;
  j["values"] = values;
  return j;
}

}  // namespace

Status ParseListenAddress(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Status::InvalidArgument("listen address '" + address + "': expected host:port");
  }
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  const std::string port_text = address.substr(colon + 1);
  int value = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || value < 0 ||
      value > 65535) {
    return Status::InvalidArgument("listen address '" + address + "': bad port '" + port_text +
                                   "'");
  }
  *port = value;
  return Status::OK();
}

Result<int64_t> ParseApiTime(const std::string& text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(seconds)) {
    // The range RFC 3339 can write (years 0000-9999), as strptime's %Y below: beyond it the
    // rounding overflowed int64 ("1e300" read as INT64_MIN) and `to - 1h` with it.
    constexpr double kMinMillis = -62167219200000.0;  // 0000-01-01T00:00:00Z
    constexpr double kMaxMillis = 253402300799999.0;  // 9999-12-31T23:59:59.999Z
    const double millis = std::round(seconds * 1e3);
    if (millis >= kMinMillis && millis <= kMaxMillis) return static_cast<int64_t>(millis);
    return Status::InvalidArgument("time '" + text + "': outside the years 0000-9999");
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest != nullptr) {
    int64_t millis = 0;
    if (*rest == '.') {
      int64_t scale = 100;
      for (++rest; std::isdigit(static_cast<unsigned char>(*rest)); ++rest) {
        millis += (*rest - '0') * scale;
        scale /= 10;
      }
    }
    if (std::string_view(rest) == "Z") {
      return static_cast<int64_t>(timegm(&tm)) * 1000 + millis;
    }
  }
  return Status::InvalidArgument("time '" + text +
                                 "': expected unix seconds or RFC 3339 (2026-11-25T08:00:00Z)");
}

HttpApi::HttpApi(Agent* agent) : agent_(agent), server_(std::make_unique<LimitedServer>()) {
  server_->set_payload_max_length(kMaxRequestBytes);  // LimitedServer refuses more before this
  // The request line is bounded (414), so every parameter is; their number is bounded here.
  server_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.params.size() <= kMaxQueryParams) return httplib::Server::HandlerResponse::Unhandled;
    res.status = 400;
    const std::string error = "more than " + std::to_string(kMaxQueryParams) + " query parameters";
    if (req.path.rfind("/api/", 0) == 0) {
      BadData(res, error);
    } else {
      res.set_content(error + "\n", "text/plain");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  Routes();
}

HttpApi::~HttpApi() {
  Stop();
}

Status HttpApi::Start(const std::string& listen_address) {
  std::string host;
  int port = 0;
  SW_RETURN_IF_ERROR(ParseListenAddress(listen_address, &host, &port));
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) return Status::IOError("cannot listen on " + listen_address);
  } else {
    if (!server_->bind_to_port(host, port)) {
      return Status::IOError("cannot listen on " + listen_address +
                             " (address in use or not local?)");
    }
    port_ = port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing before the accept loop runs; an early Stop() would hang.
  while (!server_->is_running()) std::this_thread::yield();
  spdlog::info("listening on {}:{}", host, port_);
  return Status::OK();
}

void HttpApi::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

bool HttpApi::Authorized(const httplib::Request& req, httplib::Response& res) const {
  const std::string expected = agent_->config().web.bearer_token;
  if (expected.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  const bool presented = header.compare(0, kBearer.size(), kBearer) == 0;
  if (presented && SecretEquals(header.substr(kBearer.size()), expected)) return true;
  // Neither the expected nor the presented token goes to the log.
  spdlog::warn("{} {} from {}: {}", req.method, req.path, req.remote_addr,
               presented ? "wrong bearer token" : "no bearer token");
  res.status = 401;
  res.set_header("WWW-Authenticate", "Bearer realm=\"statewatchd\"");
  res.set_content("Unauthorized: this endpoint needs the bearer token of web.bearer_token_file\n",
                  "text/plain");
  return false;
}

void HttpApi::Routes() {
  httplib::Server& s = *server_;
  // The status page and its static files, compiled in (web_assets.h).
  auto asset = [](const httplib::Request& req, httplib::Response& res) {
    const internal::WebAsset* a = internal::FindWebAsset(req.path);
    if (a == nullptr) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->view()), internal::WebContentType(a->path));
  };
  s.Get("/", asset);
  for (const internal::WebAsset& a : internal::WebAssets()) s.Get(a.path, asset);

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(agent_->MetricsText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("statewatchd is Healthy.\n", "text/plain");
  });
  s.Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (agent_->ready()) {
      res.set_content("statewatchd is Ready.\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("Service Unavailable\n", "text/plain");
    }
  });
  auto reload = [this](const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req, res)) return;
    Status reloaded = agent_->Reload();
    if (reloaded.ok()) {
      res.set_content("", "text/plain");
    } else {
      res.status = 500;
      res.set_content("failed to reload config: " + reloaded.ToString() + "\n", "text/plain");
    }
  };
  s.Post("/-/reload", reload);
  s.Put("/-/reload", reload);

  s.Get("/api/v1/series", [this](const httplib::Request&, httplib::Response& res) {
    Result<std::vector<storage::SeriesInfo>> series = agent_->samples()->ListSeriesLabels();
    if (!series.ok()) return BadData(res, series.status().ToString());
    ordered_json data = ordered_json::array();
    for (const storage::SeriesInfo& info : *series) {
      ordered_json j;
      j["__name__"] = info.name;
      for (const auto& [k, v] : info.labels) j[k] = v;
      data.push_back(std::move(j));
    }
    Json(res, data);
  });

  s.Get("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("series")) return BadData(res, "parameter 'series' is required");
    std::string name;
    rules::Labels matchers;
    if (Status st = ParseSelector(req.get_param_value("series"), &name, &matchers); !st.ok()) {
      return BadData(res, st.message());
    }
    int64_t to = agent_->clock()->NowMillis();
    if (req.has_param("to")) {
      Result<int64_t> t = ParseApiTime(req.get_param_value("to"));
      if (!t.ok()) return BadData(res, "parameter 'to': " + t.status().message());
      to = *t;
    }
    int64_t from = to - 3600 * 1000;
    if (req.has_param("from")) {
      Result<int64_t> t = ParseApiTime(req.get_param_value("from"));
      if (!t.ok()) return BadData(res, "parameter 'from': " + t.status().message());
      from = *t;
    }
    if (from > to) return BadData(res, "'from' is after 'to'");
    Result<std::vector<storage::SeriesInfo>> series = agent_->samples()->ListSeriesLabels(name);
    if (!series.ok()) return BadData(res, series.status().ToString());
    ordered_json result = ordered_json::array();
    for (const storage::SeriesInfo& info : *series) {
      if (!Matches(info.labels, matchers)) continue;
      Result<std::vector<rules::Point>> points =
          agent_->samples()->Query(info.name, info.labels, from, to);
      if (!points.ok()) return BadData(res, points.status().ToString());
      ordered_json metric;
      metric["__name__"] = info.name;
      for (const auto& [k, v] : info.labels) metric[k] = v;
      ordered_json values = ordered_json::array();
      for (const rules::Point& p : *points) {
        values.push_back(ordered_json::array({Seconds(p.t_millis), ValueString(p.value)}));
      }
      result.push_back({{"metric", metric}, {"values", values}});
    }
    Json(res, {{"resultType", "matrix"}, {"result", result}});
  });

  s.Get("/api/v1/alerts", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string fingerprint =
        req.has_param("fingerprint") ? req.get_param_value("fingerprint") : "";
    ordered_json alerts = ordered_json::array();
    for (const rules::Alert& a : agent_->Alerts()) {
      if (!fingerprint.empty() && a.fingerprint != fingerprint) continue;
      alerts.push_back(AlertJson(a));
    }
    Json(res, {{"alerts", alerts}});
  });

  s.Get("/api/v1/states", [this](const httplib::Request&, httplib::Response& res) {
    ordered_json states = ordered_json::array();
    for (const rules::StateVerdict& v : agent_->Verdicts()) {
      ordered_json j;
      j["series"] = v.series;
      j["labels"] = LabelsObject(v.labels);
      j["latest"] = v.latest;
      j["latest_time"] = Seconds(v.latest_millis);
      j["ttl_seconds"] = v.ttl ? ordered_json(*v.ttl) : ordered_json(nullptr);
      if (v.fit) {
        j["trend"] = {{"slope_per_hour", v.fit->slope_per_hour()},
                      {"r_squared", v.fit->r_squared},
                      {"samples", v.fit->samples},
                      {"from", Seconds(v.fit->first_millis)},
                      {"to", Seconds(v.fit->last_millis)}};
      } else {
        j["trend"] = nullptr;
      }
      j["verdict"] = v.verdict;
      j["rule"] = v.rule;
      states.push_back(std::move(j));
    }
    Json(res, states);
  });

  s.Get("/api/v1/sources", [this](const httplib::Request&, httplib::Response& res) {
    ordered_json sources = ordered_json::array();
    for (const SourceStatus& st : agent_->Sources()) {
      sources.push_back({{"name", st.name},
                         {"type", st.type},
                         {"job", st.job},
                         {"up", st.up},
                         {"last_error", st.last_error},
                         {"last_collect", Seconds(st.last_collect_millis)},
                         {"duration_seconds", st.last_duration_seconds},
                         {"samples", st.last_samples}});
    }
    Json(res, sources);
  });
}

}  // namespace statewatch::agent
