// Crash testing for the SQLite stores: run work in a forked child, let it report progress over a
// pipe, SIGKILL it mid-way and hand the reports to the test, which reopens the files and checks
// that everything reported is there. Synchronised on the pipe only: no sleeps, no timing.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <vector>

namespace statewatch::testing {

// Sends one value to the parent. Only call it for work that is complete (committed).
using ReportFn = std::function<void(int64_t)>;

// Forks a child running `work(report)`. The child must not touch any SQLite connection the
// parent has open (open its own after the fork); it ends with _exit, never returning into gtest.
// The parent reads reports until it has `kill_after` of them, SIGKILLs the child while it is
// still working, then reads whatever else the child reported before it died. Returns every
// report, in order. A test failure is recorded when the child ended on its own (finished or
// failed) instead of being killed.
inline std::vector<int64_t> RunChildAndKill(const std::function<void(const ReportFn&)>& work,
                                            size_t kill_after) {
  std::vector<int64_t> reports;
  int fds[2];
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: errno " << errno;
    return reports;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: errno " << errno;
    return reports;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ReportFn report = [fd = fds[1]](int64_t value) {
      // 8 bytes < PIPE_BUF: one atomic write. If the parent is gone, SIGPIPE ends the child.
      if (::write(fd, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) ::_exit(3);
    };
    work(report);
    ::_exit(2);  // the work ran out before the kill: the parent flags this
  }
  ::close(fds[1]);
  bool killed = false;
  int64_t value;
  size_t got = 0;  // bytes of `value` read so far
  for (;;) {
    const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&value) + got, sizeof value - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is gone (killed, or ended on its own)
    got += static_cast<size_t>(n);
    if (got < sizeof value) continue;
    got = 0;
    reports.push_back(value);
    if (!killed && reports.size() >= kill_after) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child was not killed mid-way: it ended with status " << status << " after "
      << reports.size() << " reports";
  return reports;
}

}  // namespace statewatch::testing
