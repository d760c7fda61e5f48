// `statewatch export` and `statewatch backtest` as a user runs them: the real binary, its exit
// codes, its stdout and stderr, a pipe from one into the other through stdin
// (`--input -`). The library-level tests (tests/agent/backtest_test.cc, export_test.cc) cover
// the parsing and the rules in depth; this shows the command line wires them.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "embedded-state/test_util.h"
#include "statewatch/storage/sample_store.h"

namespace statewatch {
namespace {

using statewatch::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1'767'225'600;  // 2026-01-01T00:00:00Z, unix seconds

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs STATEWATCH_PATH with `args`, stdin from `stdin_path` (or /dev/null), and waits for it.
CommandResult Statewatch(const TempDir& dir, std::vector<std::string> args,
                         const std::string& stdin_path = "/dev/null") {
  static int n = 0;
  const std::string out = dir.Sub("out-" + std::to_string(n));
  const std::string err = dir.Sub("err-" + std::to_string(n++));
  args.insert(args.begin(), STATEWATCH_PATH);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in_fd = ::open(stdin_path.c_str(), O_RDONLY);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(126);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  CommandResult run;
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  run.out = ReadAll(out);
  run.err = ReadAll(err);
  return run;
}

// Two days of 5-minute samples in a daemon's history: a state without TTL that grows on a line
// and one that holds still.
void WriteHistory(const std::string& storage) {
  std::filesystem::create_directories(storage);
  auto store = storage::SampleStore::Open(storage + "/samples.db");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<rules::Sample> batch;
  for (int64_t t = kStart; t <= kStart + 2 * 86'400; t += 300) {
    for (const auto& [state, keys] :
         {std::pair<std::string, double>{"orders_join", 1000.0 + (t - kStart) / 10.0},
          {"sessions", 5000.0 + static_cast<double>(t % 7)}}) {
      rules::Sample s;
      s.series = "statewatch_state_keys";
      s.labels = {{"job", "cdc"}, {"state", state}};
      s.t_millis = t * 1000;
      s.value = keys;
      batch.push_back(std::move(s));
    }
  }
  ASSERT_SW_OK((*store)->Append(batch));
}

TEST(BacktestCliTest, ExportPipedIntoBacktestThroughStdinFindsTheLeakOnly) {
  TempDir dir;
  WriteHistory(dir.Sub("data"));
  const CommandResult exported = Statewatch(dir, {"export", "--storage.path=" + dir.Sub("data")});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(exported.out.substr(0, exported.out.find('\n')), "timestamp,series,value");
  std::ofstream(dir.Sub("history.csv")) << exported.out;

  const CommandResult replayed =
      Statewatch(dir, {"backtest", "--input", "-", "--output", "json"}, dir.Sub("history.csv"));
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  const auto result = nlohmann::json::parse(replayed.out);
  EXPECT_EQ(result["series"], 2);
  EXPECT_EQ(result["samples"], 2 * (2 * 288 + 1));
  std::set<std::string> fired_states;
  bool without_ttl = false;
  for (const auto& a : result["alerts"]) {
    fired_states.insert(a["labels"]["state"].get<std::string>());
    without_ttl |= a["alertname"] == "StateWithoutTtlGrowing";
    EXPECT_FALSE(a["first_firing"].is_null()) << a.dump();
  }
  EXPECT_TRUE(without_ttl) << replayed.out;
  EXPECT_EQ(fired_states, std::set<std::string>{"orders_join"}) << replayed.out;

  // The same file by name, as text: a timeline naming the state.
  const CommandResult text =
      Statewatch(dir, {"backtest", "--input", dir.Sub("history.csv"), "--output", "text"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("StateWithoutTtlGrowing"));
  EXPECT_THAT(text.out, HasSubstr("orders_join"));
}

TEST(BacktestCliTest, BadInputExitsOneNamingWhereAndWhat) {
  TempDir dir;
  std::ofstream(dir.Sub("bad.csv")) << "timestamp,series,value\n"
                                    << kStart << ",\"statewatch_state_keys{state=\"\"a\"\"}\",1\n"
                                    << "soon,\"statewatch_state_keys{state=\"\"a\"\"}\",2\n";
  const CommandResult from_stdin =
      Statewatch(dir, {"backtest", "--input", "-"}, dir.Sub("bad.csv"));
  EXPECT_EQ(from_stdin.exit_code, 1);
  EXPECT_THAT(from_stdin.err, HasSubstr("<stdin>: line 3: "));
  EXPECT_THAT(from_stdin.err, HasSubstr("soon"));
  EXPECT_TRUE(from_stdin.out.empty()) << from_stdin.out;

  const CommandResult skipped =
      Statewatch(dir, {"backtest", "--input", dir.Sub("bad.csv"), "--skip-bad-rows"});
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_EQ(nlohmann::json::parse(skipped.out)["samples"], 1);

  const CommandResult missing = Statewatch(dir, {"backtest", "--input", dir.Sub("nope.csv")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr(dir.Sub("nope.csv")));

  const CommandResult no_store =
      Statewatch(dir, {"export", "--storage.path", dir.Sub("no-such-dir")});
  EXPECT_EQ(no_store.exit_code, 1);
  EXPECT_THAT(no_store.err, HasSubstr(dir.Sub("no-such-dir")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("no-such-dir"))) << "export created the store";
}

}  // namespace
}  // namespace statewatch
