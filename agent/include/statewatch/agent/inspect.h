// `statewatch inspect DIR [--json]`: a read-only doctor for a RocksDB directory or a checkpoint
// root. It says what DIR is, what is in it, which rules fired and what to do about them.
//
// What it reads, and how it never writes into DIR:
//   - a RocksDB directory (it has CURRENT): whether a running process holds it (fcntl
//     F_OFD_GETLK on DIR/LOCK opened read-only: RocksDB locks LOCK with F_SETLK F_WRLCK, and the
//     query names the holder's pid without taking anything), then the rocksdb_dir collector's
//     view through a secondary instance (DB::OpenAsSecondary, its own info log in a private
//     temp dir outside DIR, the owner's WAL replayed once so that unflushed writes count); the
//     newest OPTIONS file (TTL compaction filter per column family, the tuning knobs the
//     advice cites, rocksdb_version); DIR/LOG's "Stalling writes" / "Stopping writes" lines.
//   - a checkpoint root (statewatch: chk-N/_metadata, shared/; Flink: chk-N/, shared/,
//     taskowned/, or a state.checkpoints.dir with one directory per job id): the checkpoint_dir
//     collector's walk (ListCheckpointRoots), every retained checkpoint with its size and time.
// Caveat: do not inspect, from inside a process, a database that same process has open — it
// would be reported as not in use, and closing the probe's descriptor drops that process's
// POSIX locks on LOCK (fcntl semantics). Another process, as `statewatch` always is, is fine.
//
// Rules, in the style of RocksDB's advisor (a name, a condition, a suggestion); every one that
// fires is a Finding:
//   missing_ttl_compaction_filter  info     a column family whose OPTIONS section names no TTL
//                                           compaction filter holds ≥ ttl_min_keys (estimate)
//   write_stalls                   warning  the LOG has "Stalling writes" lines for a column
//                                  critical family and cause (critical when writes stopped);
//                                           one finding per (column family, cause)
//   pending_compaction_bytes       warning  estimated pending compaction bytes ≥
//                                  critical pending_compaction_fraction × the column family's
//                                           soft_pending_compaction_bytes_limit (64 GiB when
//                                           unset or 0); critical at the limit itself
//   checkpoint_growth              warning  ≥ growth_min_checkpoints retained checkpoints whose
//                                           full size rises along a line (least squares, r² ≥
//                                           growth_min_r_squared) by ≥ growth_min_fraction of
//                                           the first one over the retained span
//   incomplete_checkpoints         warning  ≥ incomplete_min chk-N/ without _metadata
// Verdict: "healthy" (nothing fired), "advice" (only info), "warning", "critical" (the worst
// severity that fired), "not_inspected" (an empty or unknown directory).
// Exit codes (ExitCode): 0 healthy or advice; 1 warning or critical; 2 not inspected — a
// missing or unreadable path (Inspect fails), an empty directory, an unknown kind.
//
// JSON (RenderJson), one object, snake_case:
//   kind            "rocksdb" | "checkpoint_root" | "empty" | "unknown"
//   path            as given
//   description     one line: what DIR is (for "unknown": what was found instead)
//   in_use          RocksDB: a process holds LOCK (false otherwise, and for other kinds)
//   in_use_by_pid   that process's pid, or null (not held, or the holder is not visible)
//   rocksdb_version from the OPTIONS file's [Version] section, or null
//   options_file    the newest OPTIONS file's name, or null
//   column_families [{name, estimated_keys (an estimate), estimated_keys_is_estimate (true),
//                     sst_files, sst_bytes, levels [{level, files, bytes}],
//                     pending_compaction_bytes, live_data_bytes,
//                     memtable_bytes (replayed from the WAL; null when not reported),
//                     ttl_compaction_filter (true | false | null: no OPTIONS section),
//                     compaction_filter, compaction_filter_factory (names or null),
//                     options {the knobs below that the OPTIONS file sets}}]
//   log             null for other kinds; else {path, present, size_bytes, delayed_count,
//                     stopped_count, stalls [{timestamp, cf, kind ("delayed"|"stopped"),
//                     cause, cause_kind, rate_bytes_per_second, line}] (the last log_lines,
//                     oldest first), causes [{cf, cause_kind, cause, delayed, stopped,
//                     last_timestamp}]}
//                   cause_kind: "level0_files" | "memtables" | "pending_compaction_bytes" |
//                     "other"
//   checkpoints     null for other kinds; else {jobs [{job_id (null: the root itself), path,
//                     format ("statewatch"|"flink"|"none"), retained [{id, completed_time
//                     (RFC 3339 UTC or null), completed_seconds, full_size_bytes,
//                     delta_size_bytes, exact}], incomplete [ids], shared_bytes,
//                     growth {bytes_per_hour, method, checkpoints, span_seconds, r_squared,
//                     first_bytes, last_bytes} or null}]}
//   findings        [{rule, severity ("info"|"warning"|"critical"), condition, message,
//                     suggestion}]
//   verdict         as above
//   exit_code       ExitCode()
//
// Thread-safety: pure functions of the file system (and of their arguments).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "statewatch/collectors/checkpoint_dir.h"
#include "statewatch/state/status.h"

namespace statewatch::agent {

struct InspectOptions {
  // How many of the LOG's last stall lines are listed verbatim.
  size_t log_lines = 10;
  // missing_ttl_compaction_filter: key estimate from which a column family counts.
  uint64_t ttl_min_keys = 1000;
  // pending_compaction_bytes: fraction of the soft limit that warns.
  double pending_compaction_fraction = 0.5;
  // checkpoint_growth thresholds.
  size_t growth_min_checkpoints = 3;
  double growth_min_r_squared = 0.9;
  double growth_min_fraction = 0.01;
  // incomplete_checkpoints: how many chk-N/ without _metadata warn (one in progress is normal).
  size_t incomplete_min = 2;
};

enum class InspectKind { kRocksDb, kCheckpointRoot, kEmpty, kUnknown };
// "rocksdb", "checkpoint_root", "empty", "unknown".
const char* KindName(InspectKind kind);

// RocksDB's default soft_pending_compaction_bytes_limit (64 GiB), used when it is unset or 0.
inline constexpr uint64_t kDefaultSoftPendingCompactionBytesLimit = uint64_t{64} << 30;

struct LevelReport {
  int level = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

struct ColumnFamilyReport {
  std::string name;
  uint64_t estimated_keys = 0;  // an ESTIMATE (rocksdb_dir.h: how it is computed)
  uint64_t sst_files = 0;
  uint64_t sst_bytes = 0;
  std::vector<LevelReport> levels;  // every level, empty ones included
  uint64_t pending_compaction_bytes = 0;
  uint64_t live_data_bytes = 0;
  std::optional<uint64_t> memtable_bytes;     // what the WAL replay put in memtables
  std::optional<bool> ttl_compaction_filter;  // nullopt: no OPTIONS section for it
  std::string compaction_filter;              // a name, or "" for none
  std::string compaction_filter_factory;      // a name, or "" for none
  // Knobs the advice cites, as the OPTIONS file sets them: level0_slowdown_writes_trigger,
  // level0_stop_writes_trigger, max_write_buffer_number, write_buffer_size,
  // soft_pending_compaction_bytes_limit, hard_pending_compaction_bytes_limit.
  std::map<std::string, uint64_t> options;
};

struct StallLine {
  std::string timestamp;  // the LOG line's leading "2024/05/01-10:00:00.123456", or ""
  std::string cf;
  bool stopped = false;  // "Stopping writes"; else "Stalling writes" (delayed)
  std::string cause;     // after "because ", without the trailing " rate N"
  std::string cause_kind;
  uint64_t rate = 0;  // delayed write rate in bytes/s, when logged
  std::string line;   // verbatim
};

struct StallCause {
  std::string cf;
  std::string cause_kind;
  std::string cause;  // the latest line's wording
  uint64_t delayed = 0;
  uint64_t stopped = 0;
  std::string last_timestamp;
};

struct LogReport {
  std::string path;
  bool present = false;
  uint64_t size_bytes = 0;
  uint64_t delayed_count = 0;
  uint64_t stopped_count = 0;
  std::vector<StallLine> stalls;   // the last InspectOptions::log_lines, oldest first
  std::vector<StallCause> causes;  // by (cf, cause_kind), sorted
};

struct RocksDbReport {
  bool in_use = false;
  std::optional<int64_t> in_use_by_pid;
  std::string rocksdb_version;  // "" when the OPTIONS file does not say
  std::string options_file;     // file name, "" when there is none
  // DBOptions knobs the advice cites: max_background_jobs, max_background_compactions,
  // max_background_flushes.
  std::map<std::string, uint64_t> db_options;
  std::vector<ColumnFamilyReport> column_families;  // sorted by name
  LogReport log;
};

struct CheckpointGrowth {
  double bytes_per_hour = 0;
  std::string method;  // how it was computed, in words
  size_t checkpoints = 0;
  double span_seconds = 0;
  double r_squared = 0;
  uint64_t first_bytes = 0;
  uint64_t last_bytes = 0;
};

struct CheckpointJobReport {
  collectors::CheckpointRootListing listing;
  std::string format;  // "statewatch" (metadata read), "flink" (sizes from stat), "none"
  std::optional<CheckpointGrowth> growth;
};

enum class Severity { kInfo, kWarning, kCritical };
const char* SeverityName(Severity severity);  // "info", "warning", "critical"

struct Finding {
  std::string rule;
  Severity severity = Severity::kInfo;
  std::string condition;   // the rule's condition, in general terms
  std::string message;     // what was found, with names and numbers
  std::string suggestion;  // what to do, in plain words
};

struct InspectReport {
  std::string path;
  InspectKind kind = InspectKind::kUnknown;
  std::string description;
  std::optional<RocksDbReport> rocksdb;          // kind kRocksDb
  std::vector<CheckpointJobReport> checkpoints;  // kind kCheckpointRoot: one per job root
  std::vector<Finding> findings;
  std::string verdict;
};

// Classifies and inspects `path`, and diagnoses what it found. NotFound for a missing path,
// IOError for one that is not a directory, cannot be listed, or is a RocksDB directory that
// cannot be opened as a secondary — each message starting "inspect: <path>: ". Writes nothing
// into `path`.
Result<InspectReport> Inspect(const std::string& path, const InspectOptions& options = {});

// --- The pieces, exposed for tests ---

// Who holds DIR/LOCK: nullopt when nobody (or there is no LOCK); else the pid, 0 when the
// holder is not visible from here (another pid namespace).
std::optional<int64_t> LockHolder(const std::string& db_dir);

// The RocksDB part of the report (LOG included).
Result<RocksDbReport> InspectRocksDb(const std::string& path, const InspectOptions& options);

// The stall lines of a RocksDB info LOG (present=false when it cannot be opened).
LogReport ReadLogStalls(const std::string& log_path, size_t last_lines);

// The checkpoint part of the report: one entry per job root, with growth fitted.
Result<std::vector<CheckpointJobReport>> InspectCheckpointRoot(const std::string& path);

// Least-squares growth of full size over completion time; nullopt with fewer than two
// checkpoints that have a completion time, or when they all share one.
std::optional<CheckpointGrowth> FitCheckpointGrowth(
    const std::vector<collectors::CompletedCheckpoint>& checkpoints);

// Every rule that fires on `report` (its findings field is ignored).
std::vector<Finding> Diagnose(const InspectReport& report, const InspectOptions& options = {});
// The verdict of a set of findings (kinds other than rocksdb and checkpoint_root:
// "not_inspected").
std::string VerdictOf(InspectKind kind, const std::vector<Finding>& findings);
// 0, 1 or 2, as described above.
int ExitCode(const InspectReport& report);

std::string RenderText(const InspectReport& report);
std::string RenderJson(const InspectReport& report);

// How the report writes sizes ("983 B", "1.2 MiB", "-3.0 GiB") and durations ("45 s",
// "12 min", "3.2 h", "2.5 d").
std::string FormatBytes(double bytes);
std::string FormatDuration(double seconds);

}  // namespace statewatch::agent
