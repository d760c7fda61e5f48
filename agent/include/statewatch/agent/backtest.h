// `statewatch backtest`: replays recorded series through the alerting rules, offline, and says
// which alerts would have gone pending and fired, and when (issue #8).
//
//   statewatch backtest --input FILE.csv [--config.file FILE.yaml] [--step DURATION]
//                       [--output json|text] [--skip-bad-rows]
//
// Input: CSV (RFC 4180: quoted fields, "" escapes, LF or CRLF) with the header
// `timestamp,series,value`. `timestamp` is unix seconds, integer or decimal (kept to the
// millisecond); `series` a metric name with optional labels in Prometheus notation
// (`statewatch_state_keys{job="cdc",state="orders_join"}`, quoted as CSV needs: the quotes in
// the labels are doubled); `value` a float (`NaN`, `+Inf`, `-Inf`, `Inf` accepted). Rows need not
// be sorted. Label order does not matter (`{b="1",a="2"}` is `{a="2",b="1"}`). Series no rule
// reads are counted and otherwise ignored, as the daemon does. `statewatch export` writes this
// format (export.h). "-" reads standard input.
//
// Rules: the daemon's own RuleEngine (rules/rule_engine.h) — the same code, not a copy — with
// the rules of `--config.file` (LoadConfigFile: statewatchd's config; its built-in rules when the
// file has no `rules:`), or DefaultRules() without one. Time comes only from the data.
//
// Evaluation schedule (the daemon observes samples as they are collected and evaluates every
// evaluation_interval; here):
//   no --step  every distinct timestamp T of the input, in order: all samples at T are
//              observed, then Evaluate(T). Evaluations = distinct timestamps.
//   --step S   at E_k = first timestamp + k × S for k = 0 … ceil((last − first) / S): all
//              samples with t ≤ E_k are observed, then Evaluate(E_k). The last evaluation is at
//              or after the last sample. Also through gaps in the data, where series go stale
//              and alerts resolve as in the daemon. At most kMaxBacktestEvaluations.
// Per series, samples are observed in time order; of two samples of one series with the same
// timestamp the first in the file counts (the other is reported in ignored_samples).
//
// Output (--output json): one JSON object,
//   {"series": N, "samples": N, "evaluations": N, "alerts": [{"alertname": "...",
//    "labels": {...}, "annotations": {...}, "first_pending": T, "first_firing": T-or-null,
//    "intervals": [{"firing": T, "resolved": T-or-null}]}]}
// with times in unix seconds (an integer unless the data had milliseconds). One entry per alert
// (rule + label set) that went pending or firing at least once, in the order they first did.
// `labels` are the alert's labels (series labels, rule labels, alertname); `annotations` as
// expanded when it first fired (when it first went pending, if it never fired);
// `first_pending` is when its condition first held (= first_firing for a rule without `for:`);
// `resolved` is null while it was still firing at the end of the data. --output text: the same
// as a timeline, one line per transition, then a summary. Skipped rows and ignored samples are
// reported on stderr, not in the JSON.
//
// Bad input: a malformed row fails with "FILE: line N: <the problem>" and exit code 1;
// with --skip-bad-rows it is counted, the first kMaxReportedBadRows are listed on stderr, and
// the replay goes on. A header other than `timestamp,series,value`, a quoted field left open at
// the end of the file and a record over 1 MiB are always fatal.
//
// Memory and speed (bounded, whatever the number of rows): rows (24 bytes: time, value, series
// id) are parsed into chunks of `chunk_rows` (default 1 Mi rows) and each chunk is radix-sorted
// by time through a second buffer of the same size: 48 MiB at most. An input of more rows than
// one chunk writes each full chunk to an unlinked temporary file as a sorted run (20 bytes per
// row on disk) and the runs are merged (80 KiB of buffer per run) while replaying: 432 M rows
// make 412 runs, 33 MiB of merge buffers and 8.6 GB of temporary disk. On top of that: the
// series table (each distinct series' name and labels, twice), the CSV reader's 2 MiB buffer
// and the rule engine (~1.2 KB per watched series). Measured peak RSS and rates:
// bench/backtest_bench.cc, bench/README.md.
//
// Thread-safety: functions are reentrant; a BacktestReplay has one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "statewatch/rules/alert.h"
#include "statewatch/rules/rule.h"
#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::agent {

inline constexpr size_t kBacktestChunkRows = size_t{1} << 20;
inline constexpr uint64_t kMaxBacktestEvaluations = 10'000'000;
inline constexpr size_t kMaxReportedBadRows = 10;

// The flags of `statewatch backtest`, as given (RunBacktest parses and checks them).
struct BacktestOptions {
  std::string input;            // --input: the CSV file; "-" for standard input
  std::string config_file;      // --config.file: statewatchd's config; empty: built-in rules
  std::string step;             // --step: a duration ("5m"); empty: every distinct timestamp
  std::string output = "json";  // --output: "json" | "text"
  bool skip_bad_rows = false;   // --skip-bad-rows
  // Not flags (tests, benchmark): rows sorted in memory at once, and where sorted runs go
  // (empty: $TMPDIR, else /tmp).
  size_t chunk_rows = kBacktestChunkRows;
  std::string temp_dir;
};

// How to replay, parsed.
struct BacktestSettings {
  std::chrono::milliseconds step{0};  // 0: every distinct timestamp
  bool skip_bad_rows = false;
  size_t chunk_rows = kBacktestChunkRows;  // ≥ 1
  std::string temp_dir;
};

struct BacktestInterval {
  int64_t firing_millis = 0;
  std::optional<int64_t> resolved_millis;  // none: still firing at the end
};

struct BacktestAlert {
  std::string alertname;
  rules::Labels labels;  // the alert's labels, alertname included, sorted
  std::map<std::string, std::string> annotations;
  int64_t first_pending_millis = 0;
  std::optional<int64_t> first_firing_millis;
  std::vector<BacktestInterval> intervals;
};

// One alert state transition, as the timeline shows it.
struct BacktestEvent {
  int64_t t_millis = 0;
  size_t alert = 0;  // index into BacktestResult::alerts
  rules::AlertState from = rules::AlertState::kInactive;
  rules::AlertState to = rules::AlertState::kInactive;
};

struct BacktestResult {
  size_t series = 0;        // distinct series in the input, those no rule reads included
  size_t samples = 0;       // rows replayed
  size_t evaluations = 0;   // RuleEngine::Evaluate calls
  size_t skipped_rows = 0;  // bad rows skipped (--skip-bad-rows)
  std::vector<std::string> skipped_examples;  // the first kMaxReportedBadRows, with lines
  size_t ignored_samples = 0;                 // samples of a series at a timestamp it already had
  size_t sorted_runs = 0;    // runs spilled to temporary files (0: sorted in memory)
  int64_t first_millis = 0;  // first and last timestamp (0 without samples)
  int64_t last_millis = 0;
  std::vector<BacktestAlert> alerts;  // in the order they first went pending or firing
  std::vector<BacktestEvent> timeline;
};

// The replay itself, on rows already in time order: what Backtest() runs after reading and
// sorting, and what the benchmark drives directly.
class BacktestReplay {
 public:
  // `series`: name and labels per series id (times and values unused); `step` as in
  // BacktestSettings. `rules` must have passed ValidateRule.
  BacktestReplay(std::vector<rules::RuleSpec> rules, std::vector<rules::Sample> series,
                 std::chrono::milliseconds step);
  ~BacktestReplay();
  BacktestReplay(const BacktestReplay&) = delete;
  BacktestReplay& operator=(const BacktestReplay&) = delete;

  // REQUIRES: series < the number of series given; t_millis ≥ the previous call's.
  void Add(uint32_t series, int64_t t_millis, double value);
  // Runs the last evaluation and returns the result (series = the number given, samples = the
  // rows added). Call once.
  BacktestResult Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the CSV at `input` ("-": stdin), sorts it and replays it. InvalidArgument
// "INPUT: line N: problem" for bad input (see above), IOError for a file that cannot be read
// or a temporary file that cannot be written, InvalidArgument when the step gives more than
// kMaxBacktestEvaluations evaluations.
Result<BacktestResult> Backtest(std::vector<rules::RuleSpec> rules, const std::string& input,
                                const BacktestSettings& settings);

// The two renderings of a result (--output json | text), each ending in a newline.
std::string BacktestJson(const BacktestResult& result);
std::string BacktestText(const BacktestResult& result);

// The whole subcommand: checks the options, loads the rules, runs Backtest and prints the
// result to `out`, errors and notes (skipped rows, ignored samples) to `err`. Returns the exit
// code: 0 when the replay ran (whether or not alerts fired), 1 on any error.
int RunBacktest(const BacktestOptions& options, std::ostream& out, std::ostream& err);

}  // namespace statewatch::agent
