// A statewatchd (or statewatch) child process for integration tests: started with fork+exec,
// stdout and stderr captured in a log file, signalled and reaped by the test. Waits are on a
// condition with a deadline (a line in the log, the process's exit), never a fixed sleep.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace statewatch::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, its output appended to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path)
      : log_path_(std::move(log_path)) {
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0 && !status_.has_value(); }
  // Reaps the child if it has exited; true while it runs.
  bool Alive() { return Poll(); }
  void Signal(int sig) const { ::kill(pid_, sig); }

  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Waits until the log matches `pattern`; returns the first match's group 1 (or the whole
  // match), nullopt at the deadline or when the process exits first.
  std::optional<std::string> WaitForLog(
      const std::string& pattern, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const std::regex re(pattern);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      std::smatch m;
      const std::string log = Log();
      if (std::regex_search(log, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
      if (!Poll() || std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling the log file
    }
  }

  // The exit code (or 128 + signal), nullopt if still running at the deadline.
  std::optional<int> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Poll() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling waitpid
    }
    return status_;
  }

 private:
  // Reaps the child if it exited; true while it runs.
  bool Poll() {
    if (status_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return false;
    }
    return true;
  }

  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace statewatch::testing
