#include "statewatch/collectors/checkpoint_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "filesystem.h"
#include "statewatch/collectors/collector_options.h"
#include "statewatch/collectors/registry.h"
#include "statewatch/state/checkpoint.h"

namespace statewatch::collectors {
namespace {

namespace fs = std::filesystem;

// Modification time in seconds since the epoch, or nullopt when `path` cannot be stat'ed.
std::optional<double> MtimeSeconds(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

struct FileInfo {
  uint64_t bytes = 0;
  double mtime = 0;
};

// Every regular file under `dir`, by path relative to it. Entries that vanish during the walk
// are skipped; a missing `dir` is empty.
std::map<std::string, FileInfo> FilesUnder(const fs::path& dir) {
  std::map<std::string, FileInfo> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_regular_file(entry_ec)) continue;
    FileInfo info;
    info.bytes = it->file_size(entry_ec);
    if (entry_ec) continue;
    info.mtime = MtimeSeconds(it->path()).value_or(0);
    files.emplace(fs::relative(it->path(), dir, entry_ec).string(), info);
  }
  return files;
}

uint64_t TotalBytes(const std::map<std::string, FileInfo>& files) {
  uint64_t total = 0;
  for (const auto& [name, info] : files) total += info.bytes;
  return total;
}

struct ChkDir {
  uint64_t id = 0;
  fs::path path;
  bool complete = false;
};

// The chk-N/ directories of `root`, oldest first.
std::vector<ChkDir> CheckpointDirs(const fs::path& root, std::error_code* ec) {
  std::vector<ChkDir> dirs;
  for (const auto& entry : fs::directory_iterator(root, *ec)) {
    std::error_code entry_ec;
    if (!entry.is_directory(entry_ec)) continue;
    const std::optional<uint64_t> id = CheckpointIdOf(entry.path().filename().string());
    if (!id) continue;
    dirs.push_back({*id, entry.path(), fs::exists(entry.path() / "_metadata", entry_ec)});
  }
  std::sort(dirs.begin(), dirs.end(), [](const ChkDir& a, const ChkDir& b) { return a.id < b.id; });
  return dirs;
}

// The files of `files` written no later than `until` (all of them without a time).
uint64_t BytesUntil(const std::map<std::string, FileInfo>& files, std::optional<double> until,
                    std::optional<double> after = std::nullopt) {
  uint64_t total = 0;
  for (const auto& [name, info] : files) {
    if (until && info.mtime > *until) continue;
    if (after && info.mtime <= *after) continue;
    total += info.bytes;
  }
  return total;
}

// One job's root: every chk-N/ measured.
Result<CheckpointRootListing> ListRoot(const fs::path& root, std::string job_id) {
  std::error_code ec;
  const std::vector<ChkDir> dirs = CheckpointDirs(root, &ec);
  if (ec) {
    return Status::IOError("cannot list checkpoint root " + root.string() + ": " + ec.message());
  }
  CheckpointRootListing listing;
  listing.path = root.string();
  listing.job_id = std::move(job_id);
  const auto shared = FilesUnder(root / "shared");
  const auto taskowned = FilesUnder(root / "taskowned");
  listing.shared_bytes = TotalBytes(shared) + TotalBytes(taskowned);

  // The shared files the previous statewatch checkpoint lists (for the next one's delta).
  std::optional<std::set<std::string>> previous_shared;
  std::optional<double> previous_completed;
  bool have_previous = false;
  for (const ChkDir& d : dirs) {
    if (!d.complete) {
      listing.incomplete.push_back(d.id);
      continue;
    }
    CompletedCheckpoint c;
    c.id = d.id;
    c.path = d.path.string();
    c.completed_seconds = MtimeSeconds(d.path / "_metadata");
    // A statewatch checkpoint says exactly what it holds.
    Result<CheckpointMetadata> meta = ReadCheckpoint(c.path, CheckpointVerify::kNone);
    if (meta.ok()) {
      c.from_metadata = true;
      c.triggered_seconds = static_cast<double>(meta->timestamp_millis) / 1e3;
      c.full_size_bytes = meta->full_size_bytes();
      std::set<std::string> mine;
      for (const CheckpointFile& f : meta->files) {
        if (f.shared) mine.insert(f.name);
        if (!f.shared || !previous_shared || !previous_shared->count(f.name)) {
          c.delta_size_bytes += f.size;
        }
      }
      previous_shared = std::move(mine);
    } else {
      // Flink (or anything else): sizes from the tree. Shared files written after this
      // checkpoint completed belong to a later one.
      const uint64_t own = TotalBytes(FilesUnder(d.path));
      c.full_size_bytes = own + BytesUntil(shared, c.completed_seconds) +
                          BytesUntil(taskowned, c.completed_seconds);
      const std::optional<double> after = have_previous ? previous_completed : std::nullopt;
      c.delta_size_bytes = own + BytesUntil(shared, c.completed_seconds, after) +
                           BytesUntil(taskowned, c.completed_seconds, after);
      previous_shared.reset();
    }
    previous_completed = c.completed_seconds;
    have_previous = true;
    listing.complete.push_back(std::move(c));
  }
  return listing;
}

}  // namespace

bool IsCheckpointJobRoot(const std::string& dir) {
  std::error_code ec;
  if (fs::is_directory(fs::path(dir) / "shared", ec)) return true;
  return !CheckpointDirs(dir, &ec).empty();
}

Result<std::vector<CheckpointRootListing>> ListCheckpointRoots(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    return Status::NotFound("checkpoint root " + path + " does not exist");
  }
  if (ec) return Status::IOError("cannot access checkpoint root " + path + ": " + ec.message());
  if (!fs::is_directory(st)) {
    return Status::IOError("checkpoint root " + path + " is not a directory");
  }
  std::vector<CheckpointRootListing> roots;
  const auto add = [&roots](const fs::path& root, std::string job_id) -> Status {
    Result<CheckpointRootListing> listing = ListRoot(root, std::move(job_id));
    if (!listing.ok()) return listing.status();
    roots.push_back(std::move(*listing));
    return Status::OK();
  };
  if (IsCheckpointJobRoot(path)) {
    SW_RETURN_IF_ERROR(add(path, ""));
    return roots;
  }
  // Flink's state.checkpoints.dir: one directory per job id.
  std::vector<fs::path> jobs;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    std::error_code entry_ec;
    if (entry.is_directory(entry_ec) && IsCheckpointJobRoot(entry.path().string())) {
      jobs.push_back(entry.path());
    }
  }
  if (ec) return Status::IOError("cannot list checkpoint root " + path + ": " + ec.message());
  std::sort(jobs.begin(), jobs.end());
  if (jobs.empty()) {
    SW_RETURN_IF_ERROR(add(path, ""));  // nothing yet: retained 0
    return roots;
  }
  for (const fs::path& job : jobs) SW_RETURN_IF_ERROR(add(job, job.filename().string()));
  return roots;
}

CheckpointDirCollector::CheckpointDirCollector(std::string job, std::string source,
                                               std::string path)
    : job_(std::move(job)), source_(std::move(source)), path_(std::move(path)) {}

Status CheckpointDirCollector::Collect(int64_t now_millis, std::vector<rules::Sample>* out) {
  Result<std::vector<CheckpointRootListing>> roots = ListCheckpointRoots(path_);
  if (!roots.ok()) return roots.status();
  for (const CheckpointRootListing& root : *roots) EmitRoot(root, now_millis, out);
  internal::AppendFilesystemSamples(path_, {{"job", job_}, {"source", source_}}, now_millis, out);
  return Status::OK();
}

void CheckpointDirCollector::EmitRoot(const CheckpointRootListing& root, int64_t now_millis,
                                      std::vector<rules::Sample>* out) const {
  rules::Labels labels{{"job", job_}, {"source", source_}};
  if (!root.job_id.empty()) labels.emplace_back("job_id", root.job_id);
  const auto emit = [&](const char* series, double value) {
    out->push_back(MakeSample(series, labels, now_millis, value));
  };
  emit("statewatch_checkpoint_shared_bytes", static_cast<double>(root.shared_bytes));
  emit("statewatch_checkpoint_retained", static_cast<double>(root.complete.size()));
  emit("statewatch_checkpoint_incomplete", static_cast<double>(root.incomplete.size()));
  if (root.complete.empty()) return;

  const CompletedCheckpoint& latest = root.complete.back();
  emit("statewatch_checkpoint_latest_id", static_cast<double>(latest.id));
  if (latest.completed_seconds) {
    emit("statewatch_checkpoint_last_completed_timestamp_seconds", *latest.completed_seconds);
  }
  emit("statewatch_checkpoint_full_size_bytes", static_cast<double>(latest.full_size_bytes));
  emit("statewatch_checkpoint_delta_size_bytes", static_cast<double>(latest.delta_size_bytes));
  if (latest.completed_seconds && latest.triggered_seconds) {
    emit("statewatch_checkpoint_duration_seconds",
         std::max(0.0, *latest.completed_seconds - *latest.triggered_seconds));
  }
}

namespace {

Result<std::unique_ptr<Collector>> NewCheckpointDirCollector(const CollectorParams& params) {
  OptionReader reader(params.source, "checkpoint_dir", params.options);
  Result<std::string> path = reader.Required("path");
  if (!path.ok()) return path.status();
  SW_RETURN_IF_ERROR(reader.Finish());
  return std::unique_ptr<Collector>(
      std::make_unique<CheckpointDirCollector>(params.job, params.source, *path));
}

}  // namespace

Status RegisterCheckpointDirCollector(CollectorRegistry& registry) {
  return registry.Register(
      "checkpoint_dir",
      "a checkpoint root (statewatch or Flink: chk-N/, shared/, taskowned/), measured by a "
      "directory walk (option: path)",
      NewCheckpointDirCollector);
}

}  // namespace statewatch::collectors
