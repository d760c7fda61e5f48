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
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace statewatch::testing {

// Sends one value to the parent. Only call it for work that is complete (committed).
using ReportFn = std::function<void(int64_t)>;

// The parent's half: reads reports from `fd` until it has `kill_after`, SIGKILLs `pid`, reads
// the rest, reaps the child and checks it was killed.
inline std::vector<int64_t> CollectReportsAndKill(pid_t pid, int fd, size_t kill_after) {
  std::vector<int64_t> reports;
  bool killed = false;
  int64_t value;
  size_t got = 0;  // bytes of `value` read so far
  for (;;) {
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(&value) + got, sizeof value - got);
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
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child was not killed mid-way: it ended with status " << status << " after "
      << reports.size() << " reports";
  return reports;
}

// A ReportFn writing to `fd`: 8 bytes < PIPE_BUF, one atomic write. If the parent is gone,
// SIGPIPE ends the child.
inline ReportFn ReportTo(int fd) {
  return [fd](int64_t value) {
    if (::write(fd, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) ::_exit(3);
  };
}

// Makes the report pipe and forks: the child runs `child(write_fd)`, which must not return; the
// parent collects the reports (CollectReportsAndKill).
inline std::vector<int64_t> ForkAndKill(const std::function<void(int)>& child, size_t kill_after) {
  int fds[2];
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: errno " << errno;
    return {};
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: errno " << errno;
    return {};
  }
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1]);
    ::_exit(9);  // the child function returned (it must not)
  }
  ::close(fds[1]);
  return CollectReportsAndKill(pid, fds[0], kill_after);
}

// Forks a child running `work(report)`. The child must not touch any SQLite connection the
// parent has open (open its own after the fork); it ends with _exit, never returning into gtest.
// The parent reads reports until it has `kill_after` of them, SIGKILLs the child while it is
// still working, then reads whatever else the child reported before it died. Returns every
// report, in order. A test failure is recorded when the child ended on its own (finished or
// failed) instead of being killed.
inline std::vector<int64_t> RunChildAndKill(const std::function<void(const ReportFn&)>& work,
                                            size_t kill_after) {
  return ForkAndKill(
      [&](int fd) {
        work(ReportTo(fd));
        ::_exit(2);  // the work ran out before the kill: the parent flags this
      },
      kill_after);
}

// The environment variable through which RunSelfAndKill tells its child where to report.
inline constexpr char kReportFdVariable[] = "STATEWATCH_TEST_REPORT_FD";

// As RunChildAndKill, but the child is this test binary run afresh (fork + exec), running only
// the current test, with `variable`=`value` set: the test sees the variable, does the child's
// work reporting to ReportFnFromEnvironment(), and never returns. For work that needs threads
// (RocksDB's flushes run on a thread pool that a plain fork of a process whose RocksDB threads
// are running would copy only as phantoms, and the child would wait for them forever).
inline std::vector<int64_t> RunSelfAndKill(const std::string& variable, const std::string& value,
                                           size_t kill_after) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter =
      std::string("--gtest_filter=") + test->test_suite_name() + "." + test->name();
  return ForkAndKill(
      [&](int fd) {
        ::setenv(variable.c_str(), value.c_str(), 1);
        ::setenv(kReportFdVariable, std::to_string(fd).c_str(), 1);
        const char* argv[] = {"/proc/self/exe", filter.c_str(), nullptr};
        ::execv(argv[0], const_cast<char* const*>(argv));
        ::_exit(9);  // exec failed
      },
      kill_after);
}

// In a RunSelfAndKill child: reports to the parent.
inline ReportFn ReportFnFromEnvironment() {
  const char* fd = std::getenv(kReportFdVariable);
  return ReportTo(fd == nullptr ? -1 : std::atoi(fd));
}

}  // namespace statewatch::testing
