// A real HTTP webhook receiver on a free loopback port, for tests: records every request and
// answers with a status the test chooses (200 by default; e.g. 500 to simulate an outage),
// optionally after a delay (a slow receiver, or one slower than the sender's timeout).
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback_server.h"

namespace statewatch::testing {

class WebhookReceiver {
 public:
  struct Request {
    std::string path;
    std::string body;
    httplib::Headers headers;
    int answered = 0;  // the status it got (if the sender waited for it)
  };
  // How to answer the n-th request (0-based).
  struct Answer {
    int status = 200;
    std::chrono::milliseconds delay{0};
  };

  WebhookReceiver() {
    http_.server().Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Answer answer;
      {
        std::lock_guard<std::mutex> lock(mu_);
        answer = answer_ ? answer_(requests_.size()) : Answer{status_, delay_};
        res.status = answer.status;
        requests_.push_back({req.path, req.body, req.headers, answer.status});
        cv_.notify_all();
      }
      // A slow receiver: the answer leaves only after the delay (outside the lock, so the
      // test can read what arrived meanwhile).
      if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    });
    http_.Start();
  }
  ~WebhookReceiver() { http_.Stop(); }

  int port() const { return http_.port(); }
  std::string url(const std::string& path = "/alerts") const { return http_.url(path); }
  void set_status(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
  }
  void set_delay(std::chrono::milliseconds delay) {
    std::lock_guard<std::mutex> lock(mu_);
    delay_ = delay;
  }
  // Answers each request as `answer(n)` says (instead of set_status/set_delay).
  void set_answer(std::function<Answer(size_t n)> answer) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = std::move(answer);
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Waits until at least n requests arrived; false after `timeout` (a failing test, not a sleep).
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

 private:
  LoopbackServer http_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 200;
  std::chrono::milliseconds delay_{0};
  std::function<Answer(size_t)> answer_;
  std::vector<Request> requests_;
};

}  // namespace statewatch::testing
