// HttpApi: statewatchd's HTTP interface (cpp-httplib), shaped like Prometheus' own so its users
// and tools feel at home:
//   GET  /                   the status page (static files compiled in, web_assets.h)
//   GET  /metrics            Prometheus text: the agent's own metrics and the collected signals
//   GET  /-/healthy          200 while the process serves
//   GET  /-/ready            200 once every source was collected once, else 503
//   POST /-/reload           re-read the config (as SIGHUP); 500 with the error when it is bad
//   GET  /api/v1/series      every stored series, as label sets with __name__
//   GET  /api/v1/query       ?series=name{label="v"}&from=&to= (unix seconds or RFC 3339):
//                            stored points as a Prometheus "matrix" result
//   GET  /api/v1/alerts      pending and firing alerts (?fingerprint= for one)
//   GET  /api/v1/states      per watched state: latest, TTL, trend fit, verdict
//   GET  /api/v1/sources     per source: up, last error, duration, samples
// JSON answers use Prometheus' envelope: {"status":"success","data":…} or
// {"status":"error","errorType":"bad_data","error":"…"} with HTTP 400.
//
// With web.bearer_token_file configured, /-/reload answers 401 unless the request carries
// `Authorization: Bearer <token>` (compared in constant time; neither token is logged). Reads
// stay open: bind to loopback (the default) or firewall the port to keep them private.
//
// Every request is bounded before any handler runs, and refused with a text naming the limit
// (the connection then closes): a request line over 8 KiB → 414; a header field over 8 KiB,
// header fields over 32 KiB together or more than 100 of them → 431; a body on GET/HEAD/OPTIONS
// or over 64 KiB elsewhere → 413; a chunked body → 411; more than 64 query parameters → 400;
// a head (request line and header fields) not complete 10 s after its first byte → 408.
//
// Thread-safety: Start/Stop from one thread; requests are served on cpp-httplib's pool.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "statewatch/agent/agent.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace statewatch::agent {

class HttpApi {
 public:
  explicit HttpApi(Agent* agent);  // not owned
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds "host:port" (port 0: any free port) and serves on a background thread. IOError naming
  // the address when it cannot bind.
  Status Start(const std::string& listen_address);
  int port() const { return port_; }
  void Stop();

 private:
  void Routes();
  // True when the request may change something; else answers 401 and logs who asked.
  bool Authorized(const httplib::Request& req, httplib::Response& res) const;
  Agent* agent_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" ("[::1]:9465" for IPv6); InvalidArgument naming the text otherwise.
Status ParseListenAddress(const std::string& address, std::string* host, int* port);

// Unix seconds ("1764057600", "1764057600.5") or RFC 3339 ("2026-11-25T08:00:00Z") → millis.
// InvalidArgument for anything else, and for a time outside the years 0000-9999.
Result<int64_t> ParseApiTime(const std::string& text);

}  // namespace statewatch::agent
