// statewatchd under systemd's Type=notify protocol, without systemd: the test plays the
// service manager — a datagram socket passed as NOTIFY_SOCKET, WATCHDOG_USEC set — and checks
// what the daemon says and when: READY=1 only once it is ready (/-/ready answers 200),
// WATCHDOG=1 heartbeats at half the watchdog period, RELOADING=1 then READY=1 around SIGHUP,
// STOPPING=1 on SIGTERM before a clean exit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "embedded-state/test_util.h"
#include "integration/daemon_process.h"
#include "integration/test_database.h"

namespace statewatch {
namespace {

using statewatch::testing::ChildProcess;
using statewatch::testing::MakeDatabase;
using statewatch::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The service manager's end of NOTIFY_SOCKET: a bound AF_UNIX datagram socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<size_t>(n));
  }

  // Datagrams until one starts with `prefix` (returned), skipping heartbeats and the like;
  // nullopt at the deadline. Every datagram seen is appended to `seen`.
  std::optional<std::string> WaitFor(const std::string& prefix, std::vector<std::string>* seen,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      std::optional<std::string> m = Receive(std::max(left, std::chrono::milliseconds(1)));
      if (!m) continue;
      seen->push_back(*m);
      if (m->rfind(prefix, 0) == 0) return m;
    }
    return std::nullopt;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

// Sets an environment variable for the children started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(SystemdNotifyTest, ReadyWhenReadyHeartbeatsReloadingAndStopping) {
  TempDir dir;
  MakeDatabase(dir.Sub("db"), 100);
  std::ofstream(dir.Sub("statewatch.yaml")) << "global:\n"
                                               "  scrape_interval: 200ms\n"
                                               "  evaluation_interval: 200ms\n"
                                               "sources:\n"
                                               "  - name: db\n"
                                               "    type: rocksdb_dir\n"
                                               "    options: {path: "
                                            << dir.Sub("db") << "}\n";
  NotifySocket manager(dir.Sub("notify.sock"));
  ASSERT_TRUE(manager.bound()) << dir.Sub("notify.sock");
  ScopedEnv notify("NOTIFY_SOCKET", manager.path());
  ScopedEnv watchdog("WATCHDOG_USEC", "400000");  // 0.4 s: heartbeats every 0.2 s
  ChildProcess daemon(
      {STATEWATCHD_PATH, "--allow-root", "--config.file=" + dir.Sub("statewatch.yaml"),
       "--storage.path=" + dir.Sub("data"), "--web.listen-address=127.0.0.1:0"},
      dir.Sub("statewatchd.log"));
  const std::optional<std::string> port = daemon.WaitForLog("listening on 127\\.0\\.0\\.1:(\\d+)");
  ASSERT_TRUE(port) << daemon.Log();

  std::vector<std::string> seen;
  const std::optional<std::string> ready = manager.WaitFor("READY=1", &seen);
  ASSERT_TRUE(ready) << daemon.Log();
  EXPECT_THAT(*ready, HasSubstr("STATUS=watching 1 sources with"));
  // READY=1 came after the first collection: the daemon says ready on /-/ready too.
  httplib::Client client("127.0.0.1", std::stoi(*port));
  httplib::Result r = client.Get("/-/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // Heartbeats keep coming at half the watchdog period.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager.WaitFor("WATCHDOG=1", &seen)) << daemon.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  daemon.Signal(SIGHUP);
  ASSERT_TRUE(manager.WaitFor("RELOADING=1", &seen)) << daemon.Log();
  const std::optional<std::string> reloaded = manager.WaitFor("READY=1", &seen);
  ASSERT_TRUE(reloaded) << daemon.Log();

  daemon.Signal(SIGTERM);
  const std::optional<std::string> stopping = manager.WaitFor("STOPPING=1", &seen);
  ASSERT_TRUE(stopping) << daemon.Log();
  EXPECT_EQ(daemon.Wait(), 0) << daemon.Log();
  // READY=1 was sent at start and after the reload only — not after every collection.
  size_t readies = 0;
  for (const std::string& m : seen) readies += m.rfind("READY=1", 0) == 0 ? 1 : 0;
  EXPECT_EQ(readies, 2u);
}

}  // namespace
}  // namespace statewatch
