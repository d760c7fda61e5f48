#include "statewatch/collectors/checkpoint_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

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

bool IsJobRoot(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir / "shared", ec)) return true;
  return !CheckpointDirs(dir, &ec).empty();
}

}  // namespace

CheckpointDirCollector::CheckpointDirCollector(std::string job, std::string source,
                                               std::string path)
    : job_(std::move(job)), source_(std::move(source)), path_(std::move(path)) {}

Status CheckpointDirCollector::Collect(int64_t now_millis, std::vector<rules::Sample>* out) {
  std::error_code ec;
  const fs::file_status st = fs::status(path_, ec);
  if (st.type() == fs::file_type::not_found) {
    return Status::NotFound("checkpoint root " + path_ + " does not exist");
  }
  if (ec) return Status::IOError("cannot access checkpoint root " + path_ + ": " + ec.message());
  if (!fs::is_directory(st)) {
    return Status::IOError("checkpoint root " + path_ + " is not a directory");
  }
  if (IsJobRoot(path_)) return CollectRoot(path_, "", now_millis, out);
  // Flink's state.checkpoints.dir: one directory per job id.
  std::vector<fs::path> jobs;
  for (const auto& entry : fs::directory_iterator(path_, ec)) {
    std::error_code entry_ec;
    if (entry.is_directory(entry_ec) && IsJobRoot(entry.path())) jobs.push_back(entry.path());
  }
  if (ec) return Status::IOError("cannot list checkpoint root " + path_ + ": " + ec.message());
  std::sort(jobs.begin(), jobs.end());
  if (jobs.empty()) return CollectRoot(path_, "", now_millis, out);  // nothing yet: retained 0
  for (const fs::path& job : jobs) {
    SW_RETURN_IF_ERROR(CollectRoot(job.string(), job.filename().string(), now_millis, out));
  }
  return Status::OK();
}

Status CheckpointDirCollector::CollectRoot(const std::string& root, const std::string& job_id,
                                           int64_t now_millis,
                                           std::vector<rules::Sample>* out) const {
  std::error_code ec;
  const std::vector<ChkDir> dirs = CheckpointDirs(root, &ec);
  if (ec) return Status::IOError("cannot list checkpoint root " + root + ": " + ec.message());
  rules::Labels labels{{"job", job_}, {"source", source_}};
  if (!job_id.empty()) labels.emplace_back("job_id", job_id);
  const auto emit = [&](const char* series, double value) {
    out->push_back(MakeSample(series, labels, now_millis, value));
  };

  const auto shared = FilesUnder(fs::path(root) / "shared");
  const auto taskowned = FilesUnder(fs::path(root) / "taskowned");
  emit("statewatch_checkpoint_shared_bytes",
       static_cast<double>(TotalBytes(shared) + TotalBytes(taskowned)));
  std::vector<const ChkDir*> complete;
  double incomplete = 0;
  for (const ChkDir& d : dirs) {
    if (d.complete) {
      complete.push_back(&d);
    } else {
      ++incomplete;
    }
  }
  emit("statewatch_checkpoint_retained", static_cast<double>(complete.size()));
  emit("statewatch_checkpoint_incomplete", incomplete);
  if (complete.empty()) return Status::OK();

  const ChkDir& latest = *complete.back();
  const ChkDir* previous = complete.size() >= 2 ? complete[complete.size() - 2] : nullptr;
  const std::optional<double> completed = MtimeSeconds(latest.path / "_metadata");
  emit("statewatch_checkpoint_latest_id", static_cast<double>(latest.id));
  if (completed) emit("statewatch_checkpoint_last_completed_timestamp_seconds", *completed);

  // A statewatch checkpoint says exactly what it holds.
  Result<CheckpointMetadata> meta = ReadCheckpoint(latest.path.string(), CheckpointVerify::kNone);
  if (meta.ok()) {
    std::set<std::pair<std::string, bool>> before;
    if (previous != nullptr) {
      Result<CheckpointMetadata> p =
          ReadCheckpoint(previous->path.string(), CheckpointVerify::kNone);
      if (p.ok()) {
        for (const CheckpointFile& f : p->files) {
          if (f.shared) before.emplace(f.name, true);
        }
      }
    }
    uint64_t delta = 0;
    for (const CheckpointFile& f : meta->files) {
      if (!before.count({f.name, f.shared})) delta += f.size;
    }
    emit("statewatch_checkpoint_full_size_bytes", static_cast<double>(meta->full_size_bytes()));
    emit("statewatch_checkpoint_delta_size_bytes", static_cast<double>(delta));
    if (completed) {
      const double duration = *completed - static_cast<double>(meta->timestamp_millis) / 1e3;
      emit("statewatch_checkpoint_duration_seconds", std::max(0.0, duration));
    }
    return Status::OK();
  }

  // Flink (or anything else): sizes from the tree.
  const uint64_t own = TotalBytes(FilesUnder(latest.path));
  emit("statewatch_checkpoint_full_size_bytes",
       static_cast<double>(own + TotalBytes(shared) + TotalBytes(taskowned)));
  uint64_t delta = own;
  const std::optional<double> previous_done =
      previous != nullptr ? MtimeSeconds(previous->path / "_metadata") : std::nullopt;
  for (const auto* files : {&shared, &taskowned}) {
    for (const auto& [name, info] : *files) {
      if (!previous_done || info.mtime > *previous_done) delta += info.bytes;
    }
  }
  emit("statewatch_checkpoint_delta_size_bytes", static_cast<double>(delta));
  return Status::OK();
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
