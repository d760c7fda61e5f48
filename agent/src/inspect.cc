// `statewatch inspect`: what a directory is (RocksDB, checkpoint root, empty, something else),
// then the kind's own inspection and the diagnosis.
#include "statewatch/agent/inspect.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

namespace statewatch::agent {
namespace {

namespace fs = std::filesystem;

std::string Counted(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// What a directory holds at its top level.
struct Listing {
  std::vector<std::string> files;        // regular files (and anything not a directory)
  std::vector<std::string> directories;  // sorted
};

Result<Listing> ListTopLevel(const std::string& path) {
  Listing l;
  std::error_code ec;
  fs::directory_iterator it(path, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;
    const std::string name = it->path().filename().string();
    (it->is_directory(entry_ec) ? l.directories : l.files).push_back(name);
  }
  if (ec) return Status::IOError("inspect: " + path + ": " + ec.message());
  std::sort(l.files.begin(), l.files.end());
  std::sort(l.directories.begin(), l.directories.end());
  return l;
}

// For a directory that is neither kind: what was found, and what it might be instead.
std::string DescribeUnknown(const std::string& path, const Listing& l) {
  std::string d =
      "not a RocksDB directory or checkpoint root: " + Counted(l.files.size(), "file", "files") +
      ", " + Counted(l.directories.size(), "directory", "directories") +
      ", none of CURRENT, chk-*/, shared/, taskowned/";
  std::vector<std::string> rocksdb_files;
  for (const std::string& f : l.files) {
    if (StartsWith(f, "OPTIONS-") || StartsWith(f, "MANIFEST-") || f == "IDENTITY") {
      rocksdb_files.push_back(f);
    }
  }
  if (!rocksdb_files.empty()) {
    d += "; it has " + rocksdb_files.front() +
         (rocksdb_files.size() > 1 ? " and " + Counted(rocksdb_files.size() - 1,
                                                       "other RocksDB file", "other RocksDB files")
                                   : std::string()) +
         " but no CURRENT: an incomplete or damaged RocksDB directory";
  }
  if (std::find(l.files.begin(), l.files.end(), "_metadata") != l.files.end()) {
    d += "; it has _metadata: one checkpoint (chk-N/) — inspect its parent, the checkpoint root";
  }
  std::vector<std::string> below;
  for (const std::string& sub : l.directories) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(path) / sub / "CURRENT", ec)) below.push_back(sub + "/");
  }
  if (!below.empty()) {
    d += "; RocksDB directories below it: ";
    for (size_t i = 0; i < below.size() && i < 3; ++i) d += (i > 0 ? ", " : "") + below[i];
    if (below.size() > 3) d += ", …";
  }
  return d;
}

std::string DescribeCheckpoints(const std::vector<CheckpointJobReport>& jobs) {
  std::set<std::string> formats;
  for (const CheckpointJobReport& j : jobs) {
    if (j.format != "none") formats.insert(j.format);
  }
  std::string kind = formats.size() == 1 ? " (" + *formats.begin() + ")" : "";
  if (jobs.size() == 1 && jobs.front().listing.job_id.empty()) return "checkpoint root" + kind;
  return "checkpoint directory with " + Counted(jobs.size(), "job", "jobs") + kind +
         " (Flink's state.checkpoints.dir layout)";
}

// `v` with `decimals` digits after the point.
std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string JobPrefix(const collectors::CheckpointRootListing& l) {
  return l.job_id.empty() ? std::string() : "job '" + l.job_id + "': ";
}

// "max_background_jobs (now 2)", or just the name when the OPTIONS file does not say.
std::string Knob(const std::map<std::string, uint64_t>& options, const std::string& name,
                 bool bytes = false) {
  auto it = options.find(name);
  if (it == options.end()) return name;
  return name + " (now " +
         (bytes ? FormatBytes(static_cast<double>(it->second)) : std::to_string(it->second)) + ")";
}

const ColumnFamilyReport* FindCf(const RocksDbReport& db, const std::string& name) {
  for (const ColumnFamilyReport& cf : db.column_families) {
    if (cf.name == name) return &cf;
  }
  return nullptr;
}

std::string StallSuggestion(const RocksDbReport& db, const StallCause& cause) {
  static const std::map<std::string, uint64_t> kNone;
  const ColumnFamilyReport* cf = FindCf(db, cause.cf);
  const std::map<std::string, uint64_t>& o = cf != nullptr ? cf->options : kNone;
  const std::string jobs = Knob(db.db_options, "max_background_jobs");
  if (cause.cause_kind == "level0_files") {
    return "compaction out of level 0 does not keep up with flushes: give compactions more "
           "threads, raise " +
           jobs + "; if reads can afford more level-0 files, raise " +
           Knob(o, "level0_slowdown_writes_trigger") + " and " +
           Knob(o, "level0_stop_writes_trigger") + "; a larger " +
           Knob(o, "write_buffer_size", true) + " makes fewer, larger level-0 files";
  }
  if (cause.cause_kind == "memtables") {
    return "flushes do not keep up with writes: raise " + Knob(o, "max_write_buffer_number") +
           " so more full memtables can wait for their flush, and " + jobs +
           " so more flushes run at once; check the disk's write bandwidth";
  }
  if (cause.cause_kind == "pending_compaction_bytes") {
    return "compaction is falling behind: give it more threads, raise " + jobs +
           "; if the disk has room for the backlog, raise " +
           Knob(o, "soft_pending_compaction_bytes_limit", true) + " and " +
           Knob(o, "hard_pending_compaction_bytes_limit", true);
  }
  return "see the LOG lines listed: RocksDB's write-stall guide names the option for each cause "
         "(level0_slowdown_writes_trigger, max_write_buffer_number, "
         "soft_pending_compaction_bytes_limit, max_background_jobs)";
}

void DiagnoseRocksDb(const RocksDbReport& db, const InspectOptions& o, std::vector<Finding>* out) {
  for (const ColumnFamilyReport& cf : db.column_families) {
    if (cf.ttl_compaction_filter == false && cf.estimated_keys >= o.ttl_min_keys) {
      out->push_back(
          {"missing_ttl_compaction_filter", Severity::kInfo,
           "no TTL compaction filter in the column family's OPTIONS section and estimated keys "
           "≥ " +
               std::to_string(o.ttl_min_keys),
           "column family '" + cf.name + "' has no TTL compaction filter (~" +
               std::to_string(cf.estimated_keys) + " keys, estimate)",
           "if its keys are not bounded by the key space, set a state TTL with compaction-filter "
           "cleanup (Flink: StateTtlConfig.newBuilder(ttl).cleanupInRocksdbCompactFilter(1000); "
           "statewatch: TtlConfig::Of(ttl).CleanupInRocksdbCompactFilter()), so expired entries "
           "are dropped by compaction"});
    }
  }
  for (const StallCause& c : db.log.causes) {
    std::string counts;
    if (c.delayed > 0) counts = "writes delayed " + Counted(c.delayed, "time", "times");
    if (c.stopped > 0) {
      counts += (counts.empty() ? "writes stopped " : " and stopped ") +
                Counted(c.stopped, "time", "times");
    }
    std::string message = "column family '" + c.cf + "': " + counts + " in the LOG";
    if (!c.last_timestamp.empty()) message += " (last at " + c.last_timestamp + ")";
    if (!c.cause.empty()) message += " because " + c.cause;
    out->push_back({"write_stalls", c.stopped > 0 ? Severity::kCritical : Severity::kWarning,
                    "the LOG has \"Stalling writes\" or \"Stopping writes\" lines for the column "
                    "family (critical when writes stopped)",
                    std::move(message), StallSuggestion(db, c)});
  }
  for (const ColumnFamilyReport& cf : db.column_families) {
    uint64_t limit = kDefaultSoftPendingCompactionBytesLimit;
    if (auto it = cf.options.find("soft_pending_compaction_bytes_limit");
        it != cf.options.end() && it->second > 0) {
      limit = it->second;
    }
    const double pending = static_cast<double>(cf.pending_compaction_bytes);
    if (pending < o.pending_compaction_fraction * static_cast<double>(limit)) continue;
    const bool at_limit = cf.pending_compaction_bytes >= limit;
    out->push_back(
        {"pending_compaction_bytes", at_limit ? Severity::kCritical : Severity::kWarning,
         "estimated pending compaction bytes ≥ " + Fixed(o.pending_compaction_fraction * 100, 0) +
             "% of soft_pending_compaction_bytes_limit (critical at the limit)",
         "column family '" + cf.name + "': " + FormatBytes(pending) + " of compaction pending, " +
             Fixed(100 * pending / static_cast<double>(limit), 0) + "%" + " of the " +
             FormatBytes(static_cast<double>(limit)) + " soft limit" +
             (at_limit ? ": RocksDB is slowing writes down" : ": compaction is falling behind"),
         "give compaction more threads, raise " + Knob(db.db_options, "max_background_jobs") +
             ", and check the disk's bandwidth; a column family that is written faster than it "
             "can be compacted will stall writes at " +
             Knob(cf.options, "soft_pending_compaction_bytes_limit", true)});
  }
}

void DiagnoseCheckpoints(const CheckpointJobReport& job, const InspectOptions& o,
                         std::vector<Finding>* out) {
  const collectors::CheckpointRootListing& l = job.listing;
  if (const std::optional<CheckpointGrowth>& g = job.growth;
      g && g->checkpoints >= o.growth_min_checkpoints && g->bytes_per_hour > 0 &&
      g->r_squared >= o.growth_min_r_squared &&
      g->bytes_per_hour * g->span_seconds / 3600 >=
          o.growth_min_fraction * static_cast<double>(g->first_bytes)) {
    std::string message = JobPrefix(l) + "checkpoint full size grows by " +
                          FormatBytes(g->bytes_per_hour) + "/h (least squares over " +
                          std::to_string(g->checkpoints) + " retained checkpoints spanning " +
                          FormatDuration(g->span_seconds) + ", r² " + Fixed(g->r_squared, 2) + ")" +
                          ", from " + FormatBytes(static_cast<double>(g->first_bytes)) + " to " +
                          FormatBytes(static_cast<double>(g->last_bytes)) +
                          "; at this rate it adds " + FormatBytes(g->bytes_per_hour * 24) +
                          " a day";
    if (g->last_bytes > 0) {
      message += " and doubles in " +
                 FormatDuration(static_cast<double>(g->last_bytes) / g->bytes_per_hour * 3600);
    }
    out->push_back(
        {"checkpoint_growth", Severity::kWarning,
         "≥ " + std::to_string(o.growth_min_checkpoints) +
             " retained checkpoints whose full size rises along a line (r² ≥ " +
             Fixed(o.growth_min_r_squared, 2) + ") by ≥ " + Fixed(o.growth_min_fraction * 100, 0) +
             "%" + " over their span",
         std::move(message),
         "find the state that keeps growing (run statewatch inspect on the job's RocksDB "
         "directory: a column family without a TTL compaction filter) and bound it with a state "
         "TTL or a bounded key space; a checkpoint that keeps growing ends in checkpoint "
         "timeouts and a full disk"});
  }
  if (l.incomplete.size() >= o.incomplete_min) {
    std::string ids;
    for (size_t i = 0; i < l.incomplete.size() && i < 5; ++i) {
      ids += (i > 0 ? ", chk-" : "chk-") + std::to_string(l.incomplete[i]);
    }
    if (l.incomplete.size() > 5) ids += ", …";
    out->push_back(
        {"incomplete_checkpoints", Severity::kWarning,
         "≥ " + std::to_string(o.incomplete_min) + " chk-N/ directories without _metadata",
         JobPrefix(l) +
             Counted(l.incomplete.size(), "incomplete checkpoint", "incomplete checkpoints") +
             " (" + ids + ") without _metadata",
         "failed or abandoned checkpoints leave their files behind: find why they failed "
         "(checkpoint timeouts, a full disk: the job's log, Flink's checkpoint history) and, once "
         "no checkpoint is in progress, delete those chk-N/ directories; one in progress at a time "
         "is normal"});
  }
}

int Rank(Severity s) {
  return static_cast<int>(s);
}

}  // namespace

const char* KindName(InspectKind kind) {
  switch (kind) {
    case InspectKind::kRocksDb:
      return "rocksdb";
    case InspectKind::kCheckpointRoot:
      return "checkpoint_root";
    case InspectKind::kEmpty:
      return "empty";
    case InspectKind::kUnknown:
      break;
  }
  return "unknown";
}

Result<InspectReport> Inspect(const std::string& path, const InspectOptions& options) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    const std::string message = "inspect: " + path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(message) : Status::IOError(message);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::IOError("inspect: " + path + ": " + std::strerror(ENOTDIR));
  }
  Result<Listing> listing = ListTopLevel(path);
  if (!listing.ok()) return listing.status();

  InspectReport report;
  report.path = path;
  const auto has_file = [&](const char* name) {
    return std::find(listing->files.begin(), listing->files.end(), name) != listing->files.end();
  };
  bool checkpoint_root = collectors::IsCheckpointJobRoot(path);
  for (size_t i = 0; !checkpoint_root && i < listing->directories.size(); ++i) {
    checkpoint_root =
        collectors::IsCheckpointJobRoot((fs::path(path) / listing->directories[i]).string());
  }
  if (listing->files.empty() && listing->directories.empty()) {
    report.kind = InspectKind::kEmpty;
    report.description = "empty directory: nothing to inspect";
  } else if (has_file("CURRENT")) {
    report.kind = InspectKind::kRocksDb;
    Result<RocksDbReport> db = InspectRocksDb(path, options);
    if (!db.ok()) return db.status();
    report.rocksdb = std::move(*db);
    report.description = "RocksDB database";
    std::string details;
    if (!report.rocksdb->rocksdb_version.empty()) {
      details = "RocksDB " + report.rocksdb->rocksdb_version + ", ";
    }
    details += Counted(report.rocksdb->column_families.size(), "column family", "column families");
    report.description += " (" + details + ")";
  } else if (checkpoint_root) {
    report.kind = InspectKind::kCheckpointRoot;
    Result<std::vector<CheckpointJobReport>> jobs = InspectCheckpointRoot(path);
    if (!jobs.ok()) return jobs.status();
    report.checkpoints = std::move(*jobs);
    report.description = DescribeCheckpoints(report.checkpoints);
  } else {
    report.kind = InspectKind::kUnknown;
    report.description = DescribeUnknown(path, *listing);
  }
  report.findings = Diagnose(report, options);
  report.verdict = VerdictOf(report.kind, report.findings);
  return report;
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      break;
  }
  return "critical";
}

std::vector<Finding> Diagnose(const InspectReport& report, const InspectOptions& options) {
  std::vector<Finding> out;
  if (report.rocksdb) DiagnoseRocksDb(*report.rocksdb, options, &out);
  for (const CheckpointJobReport& job : report.checkpoints) DiagnoseCheckpoints(job, options, &out);
  return out;
}

std::string VerdictOf(InspectKind kind, const std::vector<Finding>& findings) {
  if (kind != InspectKind::kRocksDb && kind != InspectKind::kCheckpointRoot) {
    return "not_inspected";
  }
  if (findings.empty()) return "healthy";
  int worst = 0;
  for (const Finding& f : findings) worst = std::max(worst, Rank(f.severity));
  if (worst == Rank(Severity::kInfo)) return "advice";
  return SeverityName(static_cast<Severity>(worst));
}

int ExitCode(const InspectReport& report) {
  if (report.verdict == "healthy" || report.verdict == "advice") return 0;
  if (report.verdict == "warning" || report.verdict == "critical") return 1;
  return 2;
}

}  // namespace statewatch::agent
