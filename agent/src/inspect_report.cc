// `statewatch inspect`: the text and JSON renderings of a report.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "statewatch/agent/inspect.h"

namespace statewatch::agent {
namespace {

using Json = nlohmann::ordered_json;

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  if (n < 0) return {};
  return std::string(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

std::string Rfc3339(double seconds) {
  const time_t t = static_cast<time_t>(std::floor(seconds));
  struct tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = std::fabs(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return Format("%s%.0f B", bytes < 0 ? "-" : "", v);
  return Format("%s%.1f %s", bytes < 0 ? "-" : "", v, units[u]);
}

std::string FormatDuration(double seconds) {
  if (seconds < 120) return Format("%.0f s", seconds);
  if (seconds < 2 * 3600) return Format("%.0f min", seconds / 60);
  if (seconds < 2 * 86400) return Format("%.1f h", seconds / 3600);
  return Format("%.1f d", seconds / 86400);
}

std::string RenderText(const InspectReport& r) {
  std::string out;
  const auto line = [&out](const std::string& s) { out += s + "\n"; };
  line("path:      " + r.path);
  line("kind:      " + r.description);
  if (r.rocksdb) {
    const RocksDbReport& db = *r.rocksdb;
    if (db.in_use_by_pid) {
      line("in use:    in use by pid " + std::to_string(*db.in_use_by_pid) +
           " (it holds LOCK); read through a secondary instance, nothing written");
    } else if (db.in_use) {
      line(
          "in use:    yes, by a process not visible from here (LOCK is held); read through a "
          "secondary instance, nothing written");
    } else {
      line("in use:    no (LOCK not held); read through a secondary instance, nothing written");
    }
    if (!db.options_file.empty()) line("options:   " + db.options_file);
    for (const ColumnFamilyReport& cf : db.column_families) {
      line("");
      line("column family '" + cf.name + "'");
      line("  keys                ~" + std::to_string(cf.estimated_keys) + " (estimate)");
      std::string sst = cf.sst_files == 0 ? "no files"
                                          : Plural(cf.sst_files, "file", "files") + ", " +
                                                FormatBytes(static_cast<double>(cf.sst_bytes));
      std::string levels;
      for (const LevelReport& l : cf.levels) {
        if (l.files == 0) continue;
        levels += (levels.empty() ? " — L" : ", L") + std::to_string(l.level) + ": " +
                  Plural(l.files, "file", "files") + " " +
                  FormatBytes(static_cast<double>(l.bytes));
      }
      line("  SST                 " + sst + levels);
      line("  pending compaction  " +
           FormatBytes(static_cast<double>(cf.pending_compaction_bytes)));
      line("  live data           " + FormatBytes(static_cast<double>(cf.live_data_bytes)));
      if (cf.memtable_bytes && *cf.memtable_bytes > 0) {
        line("  memtables           " + FormatBytes(static_cast<double>(*cf.memtable_bytes)) +
             " (the WAL replayed: writes not flushed yet, plus arena overhead)");
      }
      std::string ttl = "unknown (no OPTIONS section)";
      if (cf.ttl_compaction_filter) {
        const std::string& name = cf.compaction_filter_factory.empty()
                                      ? cf.compaction_filter
                                      : cf.compaction_filter_factory;
        ttl = *cf.ttl_compaction_filter ? "yes (" + name + ")"
                                        : (name.empty() ? "no" : "no (filter: " + name + ")");
      }
      line("  TTL filter          " + ttl);
    }
    line("");
    const LogReport& log = db.log;
    if (!log.present) {
      line("LOG:       none at " + log.path);
    } else if (log.delayed_count + log.stopped_count == 0) {
      line("LOG:       " + log.path + " (" + FormatBytes(static_cast<double>(log.size_bytes)) +
           "): no write stalls");
    } else {
      line("LOG:       " + log.path + " (" + FormatBytes(static_cast<double>(log.size_bytes)) +
           "): " + Plural(log.delayed_count + log.stopped_count, "write stall", "write stalls") +
           " (" + std::to_string(log.delayed_count) + " delayed, " +
           std::to_string(log.stopped_count) + " stopped); the last " +
           std::to_string(log.stalls.size()) + ":");
      for (const StallLine& s : log.stalls) line("  " + s.line);
    }
  }
  for (const CheckpointJobReport& job : r.checkpoints) {
    const collectors::CheckpointRootListing& l = job.listing;
    line("");
    std::string head = l.job_id.empty() ? "checkpoints" : "checkpoints of job '" + l.job_id + "'";
    head += " in " + l.path;
    if (job.format == "statewatch") head += " (statewatch: sizes from _metadata, exact)";
    if (job.format == "flink") head += " (flink: sizes from the files, an upper bound)";
    line(head);
    if (l.complete.empty()) {
      line("  no complete checkpoint");
    } else {
      line(Format("  %-8s %-22s %12s %12s", "id", "completed (UTC)", "full size", "delta"));
      for (const collectors::CompletedCheckpoint& c : l.complete) {
        line(Format("  %-8" PRIu64 " %-22s %12s %12s", c.id,
                    c.completed_seconds ? Rfc3339(*c.completed_seconds).c_str() : "?",
                    FormatBytes(static_cast<double>(c.full_size_bytes)).c_str(),
                    FormatBytes(static_cast<double>(c.delta_size_bytes)).c_str()));
      }
    }
    if (!l.incomplete.empty()) {
      std::string ids;
      for (uint64_t id : l.incomplete)
        ids += (ids.empty() ? "chk-" : ", chk-") + std::to_string(id);
      line("  incomplete (no _metadata): " + ids);
    }
    line("  shared/ and taskowned/: " + FormatBytes(static_cast<double>(l.shared_bytes)));
    if (job.growth) {
      line("  growth: " + std::string(job.growth->bytes_per_hour >= 0 ? "+" : "") +
           FormatBytes(job.growth->bytes_per_hour) + "/h over " +
           FormatDuration(job.growth->span_seconds) + Format(" (r² %.2f; ", job.growth->r_squared) +
           job.growth->method + ")");
    } else {
      line("  growth: not enough checkpoints with a completion time to fit");
    }
  }
  line("");
  if (r.findings.empty()) {
    if (r.kind == InspectKind::kRocksDb || r.kind == InspectKind::kCheckpointRoot) {
      line("findings:  none — no rule fired");
    }
  } else {
    line("findings (" + std::to_string(r.findings.size()) + "):");
    for (const Finding& f : r.findings) {
      line("  [" +
           std::string(f.severity == Severity::kInfo ? "advice" : SeverityName(f.severity)) + "] " +
           f.rule + ": " + f.message);
      line("      suggestion: " + f.suggestion);
    }
  }
  std::string verdict = "verdict:   " + r.verdict;
  if (r.verdict == "healthy") verdict += " — nothing to act on";
  line(verdict);
  return out;
}

std::string RenderJson(const InspectReport& r) {
  Json j;
  j["kind"] = KindName(r.kind);
  j["path"] = r.path;
  j["description"] = r.description;
  j["in_use"] = r.rocksdb && r.rocksdb->in_use;
  j["in_use_by_pid"] = nullptr;
  j["rocksdb_version"] = nullptr;
  j["options_file"] = nullptr;
  Json cfs = Json::array();
  Json log = nullptr;
  if (r.rocksdb) {
    const RocksDbReport& db = *r.rocksdb;
    if (db.in_use_by_pid) j["in_use_by_pid"] = *db.in_use_by_pid;
    if (!db.rocksdb_version.empty()) j["rocksdb_version"] = db.rocksdb_version;
    if (!db.options_file.empty()) j["options_file"] = db.options_file;
    for (const ColumnFamilyReport& cf : db.column_families) {
      Json c;
      c["name"] = cf.name;
      c["estimated_keys"] = cf.estimated_keys;
      c["estimated_keys_is_estimate"] = true;
      c["sst_files"] = cf.sst_files;
      c["sst_bytes"] = cf.sst_bytes;
      Json levels = Json::array();
      for (const LevelReport& l : cf.levels) {
        Json level = {{"level", l.level}, {"files", l.files}, {"bytes", l.bytes}};
        levels.push_back(std::move(level));
      }
      c["levels"] = std::move(levels);
      c["pending_compaction_bytes"] = cf.pending_compaction_bytes;
      c["live_data_bytes"] = cf.live_data_bytes;
      c["memtable_bytes"] = nullptr;
      if (cf.memtable_bytes) c["memtable_bytes"] = *cf.memtable_bytes;
      c["ttl_compaction_filter"] = nullptr;
      if (cf.ttl_compaction_filter) c["ttl_compaction_filter"] = *cf.ttl_compaction_filter;
      c["compaction_filter"] = nullptr;
      if (!cf.compaction_filter.empty()) c["compaction_filter"] = cf.compaction_filter;
      c["compaction_filter_factory"] = nullptr;
      if (!cf.compaction_filter_factory.empty()) {
        c["compaction_filter_factory"] = cf.compaction_filter_factory;
      }
      Json options = Json::object();
      for (const auto& [name, value] : cf.options) options[name] = value;
      c["options"] = std::move(options);
      cfs.push_back(std::move(c));
    }
    log = Json::object();
    log["path"] = db.log.path;
    log["present"] = db.log.present;
    log["size_bytes"] = db.log.size_bytes;
    log["delayed_count"] = db.log.delayed_count;
    log["stopped_count"] = db.log.stopped_count;
    Json stalls = Json::array();
    for (const StallLine& s : db.log.stalls) {
      Json stall;
      stall["timestamp"] = s.timestamp;
      stall["cf"] = s.cf;
      stall["kind"] = s.stopped ? "stopped" : "delayed";
      stall["cause"] = s.cause;
      stall["cause_kind"] = s.cause_kind;
      stall["rate_bytes_per_second"] = s.rate;
      stall["line"] = s.line;
      stalls.push_back(std::move(stall));
    }
    log["stalls"] = std::move(stalls);
    Json causes = Json::array();
    for (const StallCause& c : db.log.causes) {
      Json cause;
      cause["cf"] = c.cf;
      cause["cause_kind"] = c.cause_kind;
      cause["cause"] = c.cause;
      cause["delayed"] = c.delayed;
      cause["stopped"] = c.stopped;
      cause["last_timestamp"] = c.last_timestamp;
      causes.push_back(std::move(cause));
    }
    log["causes"] = std::move(causes);
  }
  j["column_families"] = std::move(cfs);
  j["log"] = std::move(log);
  Json checkpoints = nullptr;
  if (r.kind == InspectKind::kCheckpointRoot) {
    Json jobs = Json::array();
    for (const CheckpointJobReport& job : r.checkpoints) {
      const collectors::CheckpointRootListing& l = job.listing;
      Json o;
      o["job_id"] = nullptr;
      if (!l.job_id.empty()) o["job_id"] = l.job_id;
      o["path"] = l.path;
      o["format"] = job.format;
      Json retained = Json::array();
      for (const collectors::CompletedCheckpoint& c : l.complete) {
        Json e;
        e["id"] = c.id;
        e["completed_time"] = nullptr;
        e["completed_seconds"] = nullptr;
        if (c.completed_seconds) {
          e["completed_time"] = Rfc3339(*c.completed_seconds);
          e["completed_seconds"] = *c.completed_seconds;
        }
        e["full_size_bytes"] = c.full_size_bytes;
        e["delta_size_bytes"] = c.delta_size_bytes;
        e["exact"] = c.from_metadata;
        retained.push_back(std::move(e));
      }
      o["retained"] = std::move(retained);
      Json incomplete = Json::array();
      for (uint64_t id : l.incomplete) incomplete.push_back(id);
      o["incomplete"] = std::move(incomplete);
      o["shared_bytes"] = l.shared_bytes;
      o["growth"] = nullptr;
      if (job.growth) {
        Json g;
        g["bytes_per_hour"] = job.growth->bytes_per_hour;
        g["method"] = job.growth->method;
        g["checkpoints"] = job.growth->checkpoints;
        g["span_seconds"] = job.growth->span_seconds;
        g["r_squared"] = job.growth->r_squared;
        g["first_bytes"] = job.growth->first_bytes;
        g["last_bytes"] = job.growth->last_bytes;
        o["growth"] = std::move(g);
      }
      jobs.push_back(std::move(o));
    }
    checkpoints = Json::object();
    checkpoints["jobs"] = std::move(jobs);
  }
  j["checkpoints"] = std::move(checkpoints);
  Json findings = Json::array();
  for (const Finding& f : r.findings) {
    Json finding;
    finding["rule"] = f.rule;
    finding["severity"] = SeverityName(f.severity);
    finding["condition"] = f.condition;
    finding["message"] = f.message;
    finding["suggestion"] = f.suggestion;
    findings.push_back(std::move(finding));
  }
  j["findings"] = std::move(findings);
  j["verdict"] = r.verdict;
  j["exit_code"] = ExitCode(r);
  return j.dump(2) + "\n";
}

}  // namespace statewatch::agent
