// `statewatch inspect` on a RocksDB directory: who holds it, what the rocksdb_dir collector sees
// through a secondary instance, what the newest OPTIONS file and the LOG say.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "statewatch/agent/inspect.h"
#include "statewatch/collectors/rocksdb_dir.h"

namespace statewatch::agent {
namespace {

namespace fs = std::filesystem;

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  s = Trim(s);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

void CopyNumbers(const std::map<std::string, std::string>& from,
                 std::initializer_list<const char*> keys, std::map<std::string, uint64_t>* to) {
  for (const char* key : keys) {
    auto it = from.find(key);
    if (it == from.end()) continue;
    if (std::optional<uint64_t> v = ParseUint(it->second)) (*to)[key] = *v;
  }
}

std::string NoneIfNullptr(const std::string& name) {
  return name == "nullptr" ? "" : name;
}

const std::string* Label(const rules::Sample& s, const std::string& name) {
  for (const auto& [k, v] : s.labels) {
    if (k == name) return &v;
  }
  return nullptr;
}

uint64_t AsCount(double v) {
  return v > 0 ? static_cast<uint64_t>(v + 0.5) : 0;
}

std::string CauseKind(std::string_view cause) {
  if (cause.find("level-0 files") != std::string_view::npos) return "level0_files";
  if (cause.find("memtable") != std::string_view::npos) return "memtables";
  if (cause.find("pending compaction bytes") != std::string_view::npos) {
    return "pending_compaction_bytes";
  }
  return "other";
}

}  // namespace

std::optional<int64_t> LockHolder(const std::string& db_dir) {
  const std::string lock = (fs::path(db_dir) / "LOCK").string();
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  struct flock fl;
  std::memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;  // "could I take a write lock?" — asks only, takes nothing
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;  // the whole file
  int rc = ::fcntl(fd, F_OFD_GETLK, &fl);
  if (rc != 0 && errno == EINVAL) {  // a kernel before 3.15: the classic query
    std::memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    rc = ::fcntl(fd, F_GETLK, &fl);
  }
  ::close(fd);
  if (rc != 0 || fl.l_type == F_UNLCK) return std::nullopt;
  return fl.l_pid > 0 ? static_cast<int64_t>(fl.l_pid) : 0;
}

LogReport ReadLogStalls(const std::string& log_path, size_t last_lines) {
  LogReport report;
  report.path = log_path;
  std::ifstream in(log_path, std::ios::binary);
  if (!in) return report;
  report.present = true;
  std::error_code ec;
  report.size_bytes = fs::file_size(log_path, ec);
  if (ec) report.size_bytes = 0;

  std::deque<StallLine> last;
  std::map<std::pair<std::string, std::string>, StallCause> causes;
  std::string text;
  while (std::getline(in, text)) {
    const collectors::LogLine parsed = collectors::ParseLogLine(text);
    if (parsed.kind != collectors::LogLine::Kind::kWritesDelayed &&
        parsed.kind != collectors::LogLine::Kind::kWritesStopped) {
      continue;
    }
    StallLine s;
    s.line = std::string(Trim(text));
    s.cf = parsed.cf;
    s.stopped = parsed.kind == collectors::LogLine::Kind::kWritesStopped;
    s.rate = parsed.value;
    // "2024/05/01-10:00:00.123456 7f… [WARN] …": the first word, when it looks like a time.
    const size_t space = s.line.find(' ');
    const std::string first = s.line.substr(0, space);
    if (!first.empty() && first[0] >= '0' && first[0] <= '9' &&
        first.find('/') != std::string::npos) {
      s.timestamp = first;
    }
    constexpr std::string_view kBecause = "writes because ";
    if (size_t b = s.line.find(kBecause); b != std::string::npos) {
      std::string_view cause = std::string_view(s.line).substr(b + kBecause.size());
      if (!s.stopped) {
        if (size_t r = cause.rfind(" rate "); r != std::string_view::npos)
          cause = cause.substr(0, r);
      }
      s.cause = std::string(Trim(cause));
    }
    s.cause_kind = CauseKind(s.cause);
    (s.stopped ? report.stopped_count : report.delayed_count) += 1;
    StallCause& c = causes[{s.cf, s.cause_kind}];
    c.cf = s.cf;
    c.cause_kind = s.cause_kind;
    c.cause = s.cause;
    (s.stopped ? c.stopped : c.delayed) += 1;
    c.last_timestamp = s.timestamp;
    last.push_back(std::move(s));
    if (last.size() > last_lines) last.pop_front();
  }
  report.stalls.assign(std::make_move_iterator(last.begin()), std::make_move_iterator(last.end()));
  for (auto& [key, cause] : causes) report.causes.push_back(std::move(cause));
  return report;
}

Result<RocksDbReport> InspectRocksDb(const std::string& path, const InspectOptions& options) {
  RocksDbReport report;
  // Before anything is opened: who holds the database.
  report.in_use_by_pid = LockHolder(path);
  report.in_use = report.in_use_by_pid.has_value();
  if (report.in_use_by_pid == 0) report.in_use_by_pid.reset();  // held, holder not visible

  // The collector's view, as a secondary; one collection, so the WAL is replayed once.
  collectors::RocksDbDirOptions dir_options;
  dir_options.path = path;
  dir_options.replay_wal = true;
  std::vector<rules::Sample> samples;
  {
    collectors::RocksDbDirCollector collector("inspect", path, dir_options);
    Status s = collector.Collect(0, &samples);
    if (!s.ok()) {
      return Status::IOError("inspect: " + path +
                             ": a RocksDB directory, but it cannot be read: " + s.message());
    }
  }
  std::map<std::string, ColumnFamilyReport> cfs;
  for (const rules::Sample& s : samples) {
    const std::string* cf = Label(s, "cf");
    if (cf == nullptr) continue;
    ColumnFamilyReport& r = cfs[*cf];
    r.name = *cf;
    if (s.series == "statewatch_rocksdb_estimate_num_keys") {
      r.estimated_keys = AsCount(s.value);
    } else if (s.series == "statewatch_rocksdb_pending_compaction_bytes") {
      r.pending_compaction_bytes = AsCount(s.value);
    } else if (s.series == "statewatch_rocksdb_live_data_bytes") {
      r.live_data_bytes = AsCount(s.value);
    } else if (s.series == "statewatch_rocksdb_memtable_bytes") {
      r.memtable_bytes = AsCount(s.value);
    } else if (s.series == "statewatch_rocksdb_sst_files" ||
               s.series == "statewatch_rocksdb_sst_bytes") {
      const std::string* level = Label(s, "level");
      if (level == nullptr) continue;
      const int n = static_cast<int>(ParseUint(*level).value_or(0));
      auto it = std::find_if(r.levels.begin(), r.levels.end(),
                             [n](const LevelReport& l) { return l.level == n; });
      if (it == r.levels.end()) it = r.levels.insert(r.levels.end(), LevelReport{n, 0, 0});
      if (s.series == "statewatch_rocksdb_sst_files") {
        it->files = AsCount(s.value);
        r.sst_files += it->files;
      } else {
        it->bytes = AsCount(s.value);
        r.sst_bytes += it->bytes;
      }
    }
    // statewatch_rocksdb_ttl_compaction_filter: read below with the filter's name.
  }

  // The newest OPTIONS file: TTL filters by name, the knobs the advice cites, the version.
  const std::string options_file = collectors::NewestOptionsFile(path);
  std::map<std::string, collectors::CfOptionsSummary> summaries;
  if (!options_file.empty()) {
    std::ifstream in(options_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string body = std::move(text).str();
    report.options_file = fs::path(options_file).filename().string();
    summaries = collectors::ParseOptionsFile(body);
    const collectors::OptionsSections sections = collectors::ParseOptionsSections(body);
    if (auto v = sections.find("Version"); v != sections.end()) {
      if (auto it = v->second.find("rocksdb_version"); it != v->second.end()) {
        report.rocksdb_version = it->second;
      }
    }
    if (auto d = sections.find("DBOptions"); d != sections.end()) {
      CopyNumbers(d->second,
                  {"max_background_jobs", "max_background_compactions", "max_background_flushes"},
                  &report.db_options);
    }
    for (auto& [name, r] : cfs) {
      auto c = sections.find("CFOptions:" + name);
      if (c == sections.end()) continue;
      CopyNumbers(c->second,
                  {"level0_slowdown_writes_trigger", "level0_stop_writes_trigger",
                   "max_write_buffer_number", "write_buffer_size",
                   "soft_pending_compaction_bytes_limit", "hard_pending_compaction_bytes_limit"},
                  &r.options);
    }
  }
  for (auto& [name, r] : cfs) {
    std::sort(r.levels.begin(), r.levels.end(),
              [](const LevelReport& a, const LevelReport& b) { return a.level < b.level; });
    if (auto it = summaries.find(name); it != summaries.end()) {
      r.ttl_compaction_filter = it->second.has_ttl_compaction_filter();
      r.compaction_filter = NoneIfNullptr(it->second.compaction_filter);
      r.compaction_filter_factory = NoneIfNullptr(it->second.compaction_filter_factory);
    }
    report.column_families.push_back(std::move(r));
  }
  report.log = ReadLogStalls((fs::path(path) / "LOG").string(), options.log_lines);
  return report;
}

}  // namespace statewatch::agent
