// An httplib::Server on a free loopback port, serving on a thread of its own: the peer that
// tests stand up (webhook receivers, scrape targets, a fake Flink REST API). Register routes on
// server(), then Start(); Stop() or the destructor ends it.
//
// The owner stops it before the state its handlers use goes away: call Stop() first in the
// owner's destructor (a member is destroyed after the destructor's body has run).
#pragma once

#include <httplib.h>

#include <string>
#include <thread>

namespace statewatch::testing {

class LoopbackServer {
 public:
  LoopbackServer() = default;
  ~LoopbackServer() { Stop(); }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  httplib::Server& server() { return server_; }

  // Binds a free port on 127.0.0.1 and serves. Returns once the accept loop runs: httplib's
  // stop() is a no-op until listen has begun, so a server stopped at once would never stop.
  // The kernel queues connections from the bind on, so nobody is refused meanwhile.
  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  void Stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace statewatch::testing
