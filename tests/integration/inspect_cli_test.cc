// `statewatch inspect` as a process: what it prints on stdout and stderr and the exit code it
// returns, for a missing path, an empty directory, a directory of something else, a closed
// database, one held open by a running writer, and a checkpoint root; --json parsed.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "agent/inspect_fixtures.h"
#include "embedded-state/test_util.h"

namespace statewatch {
namespace {

namespace fs = std::filesystem;
using statewatch::testing::kWriterVariable;
using statewatch::testing::MakeEngineDatabase;
using statewatch::testing::RunWriter;
using statewatch::testing::Snapshot;
using statewatch::testing::TempDir;
using statewatch::testing::WriteFile;
using statewatch::testing::WriterProcess;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double kT0 = 1'767'225'600;  // 2026-01-01T00:00:00Z

struct CliRun {
  int exit_code = -1;  // 128 + signal when killed, -1 when it did not end in time
  std::string out;
  std::string err;
};

// Runs `statewatch ARGS…`, reading its stdout and stderr until both close (deadline 60 s).
CliRun Statewatch(const std::vector<std::string>& args) {
  CliRun run;
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) return run;
  std::vector<std::string> argv = {STATEWATCH_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::close(out[0]);
    ::close(err[0]);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* bufs[2] = {&run.out, &run.err};
  int open = 2;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(fds, 2, static_cast<int>(left.count())) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        bufs[i]->append(buf, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  if (open > 0) {
    ::kill(pid, SIGKILL);
    for (const struct pollfd& f : fds) {
      if (f.fd >= 0) ::close(f.fd);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (open == 0) {
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return run;
}

TEST(InspectCliTest, MissingPathExits2NamingIt) {
  TempDir dir;
  const CliRun r = Statewatch({"inspect", dir.Sub("nope")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "inspect: " + dir.Sub("nope") + ": No such file or directory\n");
  EXPECT_EQ(r.out, "");
}

TEST(InspectCliTest, EmptyDirectoryExits2) {
  TempDir dir;
  const CliRun r = Statewatch({"inspect", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("inspect: " + dir.path().string() + ": empty directory"));
  const CliRun j = Statewatch({"inspect", dir.path().string(), "--json"});
  EXPECT_EQ(j.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(j.out)["kind"], "empty");
}

TEST(InspectCliTest, DirectoryOfSomethingElseSaysWhatWasFoundAndExits2) {
  TempDir dir;
  WriteFile(dir.path() / "a.csv", 10, kT0);
  WriteFile(dir.path() / "b.bin", 10, kT0);
  fs::create_directories(dir.path() / "sub");
  const CliRun r = Statewatch({"inspect", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("inspect: " + dir.path().string() +
                               ": not a RocksDB directory or checkpoint root: 2 files, 1 "
                               "directory, none of CURRENT, chk-*/"));
  const CliRun j = Statewatch({"inspect", "--json", dir.path().string()});
  EXPECT_EQ(j.exit_code, 2);
  const nlohmann::json report = nlohmann::json::parse(j.out);
  EXPECT_EQ(report["kind"], "unknown");
  EXPECT_EQ(report["verdict"], "not_inspected");
  EXPECT_EQ(report["exit_code"], 2);
}

TEST(InspectCliTest, ClosedDatabaseReportAndJsonWithoutWritingIntoIt) {
  TempDir dir;
  const std::string db = MakeEngineDatabase(dir);
  const auto before = Snapshot(db);
  const CliRun r = Statewatch({"inspect", db});
  const CliRun j = Statewatch({"inspect", db, "--json"});
  EXPECT_EQ(Snapshot(db), before) << "statewatch inspect wrote into the directory";

  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("kind:      RocksDB database (RocksDB 7."));
  EXPECT_THAT(r.out, HasSubstr("in use:    no"));
  EXPECT_THAT(r.out, HasSubstr("column family 'orders'"));
  EXPECT_THAT(r.out, HasSubstr("TTL filter          yes (statewatch.TtlCompactionFilterFactory)"));
  EXPECT_THAT(r.out, HasSubstr("[advice] missing_ttl_compaction_filter: column family 'seen'"));
  EXPECT_THAT(r.out, HasSubstr("verdict:   advice"));

  EXPECT_EQ(j.exit_code, 0);
  const nlohmann::json report = nlohmann::json::parse(j.out);
  EXPECT_EQ(report["kind"], "rocksdb");
  EXPECT_TRUE(report["in_use_by_pid"].is_null());
  const nlohmann::json& cfs = report["column_families"];
  ASSERT_EQ(cfs.size(), 3u);
  EXPECT_EQ(cfs[2]["name"], "seen");
  EXPECT_EQ(cfs[2]["ttl_compaction_filter"], false);
  EXPECT_EQ(cfs[2]["estimated_keys"], 3000);
  EXPECT_TRUE(report["log"]["stalls"].is_array());
  ASSERT_EQ(report["findings"].size(), 1u);
  EXPECT_EQ(report["findings"][0]["rule"], "missing_ttl_compaction_filter");
  EXPECT_EQ(report["verdict"], "advice");
}

// --- A database held open by a writer ---

TEST(InspectCliTest, DatabaseHeldByARunningWriterIsNamedWithItsPid) {
  if (const char* writer_dir = std::getenv(kWriterVariable)) RunWriter(writer_dir);

  TempDir dir;
  const std::string db = dir.Sub("db");
  WriterProcess writer(db);
  ASSERT_GT(writer.pid(), 0);
  ASSERT_EQ(writer.WaitReady(std::chrono::seconds(60)), 5000) << "the writer did not start";
  const auto before = Snapshot(db);
  const CliRun r = Statewatch({"inspect", db});
  const CliRun j = Statewatch({"inspect", "--json", db});
  EXPECT_EQ(Snapshot(db), before) << "statewatch inspect wrote into a live database";
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("in use by pid " + std::to_string(writer.pid())));
  EXPECT_THAT(r.out, HasSubstr("~5000 (estimate)"));
  const nlohmann::json report = nlohmann::json::parse(j.out);
  EXPECT_EQ(report["in_use"], true);
  EXPECT_EQ(report["in_use_by_pid"], writer.pid());
}

TEST(InspectCliTest, GrowingCheckpointRootExits1WithTheRate) {
  TempDir dir;
  const fs::path root = dir.path() / "job";
  for (int i = 0; i < 3; ++i) {
    // Each checkpoint adds 1000·(i+1) bytes of shared files: 1010, 3010, 6010 bytes in all.
    WriteFile(root / "shared" / ("s" + std::to_string(i)), 1000 * (i + 1), kT0 + 3600.0 * i - 10);
    WriteFile(root / ("chk-" + std::to_string(i + 1)) / "_metadata", 10, kT0 + 3600.0 * i);
  }
  const CliRun r = Statewatch({"inspect", root.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("kind:      checkpoint root (flink)"));
  EXPECT_THAT(r.out, HasSubstr("growth: +2.4 KiB/h over 2.0 h"));
  EXPECT_THAT(r.out, HasSubstr("[warning] checkpoint_growth: checkpoint full size grows by"));
  EXPECT_THAT(r.out, HasSubstr("verdict:   warning"));
  const CliRun j = Statewatch({"inspect", root.string(), "--json"});
  EXPECT_EQ(j.exit_code, 1);
  const nlohmann::json report = nlohmann::json::parse(j.out);
  EXPECT_EQ(report["kind"], "checkpoint_root");
  const nlohmann::json& job = report["checkpoints"]["jobs"][0];
  EXPECT_TRUE(job["job_id"].is_null());
  ASSERT_EQ(job["retained"].size(), 3u);
  EXPECT_EQ(job["retained"][2]["full_size_bytes"], 6010);
  EXPECT_EQ(job["retained"][2]["completed_time"], "2026-01-01T02:00:00Z");
  EXPECT_NEAR(job["growth"]["bytes_per_hour"].get<double>(), 2500, 1e-6);
  EXPECT_EQ(report["findings"][0]["rule"], "checkpoint_growth");
}

TEST(InspectCliTest, HelpDocumentsTheExitCodes) {
  const CliRun r = Statewatch({"inspect", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--json"));
  EXPECT_THAT(r.out, HasSubstr("Exit status: 0 inspected"));
  EXPECT_THAT(r.out, HasSubstr("2 not inspected"));
}

}  // namespace
}  // namespace statewatch
