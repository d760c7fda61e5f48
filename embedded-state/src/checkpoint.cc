#include "statewatch/state/checkpoint.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "checkpoint_metadata.h"
#include "durable_file.h"
#include "native_checkpoint_reader.h"
#include "snapshot_codec.h"
#include "statewatch/state/crc32c.h"
#include "statewatch/state/keyed_snapshot.h"

namespace statewatch {
namespace {

namespace fs = std::filesystem;
using internal::DecodeStateMeta;
using internal::EncodeStateMeta;
using internal::GetFixed32;
using internal::GetFixed64;
using internal::GetLengthPrefixed;
using internal::GetVarint32;
using internal::PutFixed32;
using internal::PutFixed64;
using internal::PutString;
using internal::PutVarint32;

constexpr std::string_view kMagic = "SWCHKMD1";
constexpr const char* kMetadataFile = "_metadata";
constexpr const char* kKeyedStateFile = "keyed-state";
constexpr const char* kOperatorStateFile = "operator-state";
constexpr const char* kSharedDir = "shared";
constexpr uint8_t kFileShared = 1;  // file flag: in ROOT/shared/

std::string DirName(uint64_t id) {
  return "chk-" + std::to_string(id);
}

bool GetByte(std::string_view* in, uint8_t* out) {
  if (in->empty()) return false;
  *out = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  return true;
}

// The whole of a (small) file.
Result<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("error reading " + path.string());
  return bytes;
}

// Size and CRC-32C of a file, streamed.
Result<CheckpointFile> Describe(const fs::path& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path.string());
  CheckpointFile f;
  f.name = name;
  std::string buf(1 << 16, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    f.crc32c = Crc32c(std::string_view(buf.data(), n), f.crc32c);
    f.size += n;
  }
  if (in.bad()) return Status::IOError("error reading " + path.string());
  return f;
}

std::string EncodeMetadata(const CheckpointMetadata& m) {
  std::string out(kMagic);
  PutFixed32(&out, kCheckpointMetadataVersion);
  PutFixed64(&out, m.id);
  PutFixed64(&out, static_cast<uint64_t>(m.timestamp_millis));
  PutString(&out, m.backend);
  PutVarint32(&out, static_cast<uint32_t>(m.max_parallelism));
  PutVarint32(&out, static_cast<uint32_t>(m.key_group_range.start));
  PutVarint32(&out, static_cast<uint32_t>(m.key_group_range.end + 1));
  out.push_back(static_cast<char>(m.format));
  PutVarint32(&out, static_cast<uint32_t>(m.states.size()));
  for (const StateMeta& s : m.states) PutString(&out, EncodeStateMeta(s));
  PutVarint32(&out, static_cast<uint32_t>(m.files.size()));
  for (const CheckpointFile& f : m.files) {
    PutString(&out, f.name);
    out.push_back(static_cast<char>(f.shared ? kFileShared : 0));
    PutFixed64(&out, f.size);
    PutFixed32(&out, f.crc32c);
  }
  PutFixed32(&out, Crc32c(out));
  return out;
}

Result<CheckpointMetadata> DecodeMetadata(const std::string& path, std::string_view in) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("checkpoint metadata " + path + ": " + why);
  };
  if (in.size() < kMagic.size() + 8 || in.substr(0, kMagic.size()) != kMagic) {
    return corrupt("not a statewatch checkpoint metadata file (bad magic or too short)");
  }
  const uint32_t stored = GetFixed32(in.data() + in.size() - 4);
  if (Crc32c(in.substr(0, in.size() - 4)) != stored) return corrupt("checksum mismatch");
  in.remove_prefix(kMagic.size());
  const uint32_t version = GetFixed32(in.data());
  in.remove_prefix(4);
  in.remove_suffix(4);
  if (version != kCheckpointMetadataVersion && version != 1) {
    return Status::NotSupported("checkpoint metadata " + path + ": version " +
                                std::to_string(version) + ", this build reads version " +
                                std::to_string(kCheckpointMetadataVersion));
  }
  CheckpointMetadata m;
  uint64_t ts = 0;
  std::string_view backend;
  uint32_t max_parallelism = 0, start = 0, end = 0, states = 0, files = 0;
  uint8_t format = 0;
  if (!GetFixed64(&in, &m.id) || !GetFixed64(&in, &ts) || !GetLengthPrefixed(&in, &backend) ||
      !GetVarint32(&in, &max_parallelism) || !GetVarint32(&in, &start) || !GetVarint32(&in, &end) ||
      (version >= 2 && !GetByte(&in, &format)) || !GetVarint32(&in, &states)) {
    return corrupt("malformed header");
  }
  if (format > static_cast<uint8_t>(CheckpointFormat::kRocksDbNative)) {
    return corrupt("unknown checkpoint format " + std::to_string(format));
  }
  // Key groups lie below 2^15 (key_group.h); larger values are damage (and end - 1 of one past
  // INT_MAX overflows).
  constexpr auto kKeyGroupBound = static_cast<uint32_t>(kUpperBoundMaxParallelism);
  if (max_parallelism > kKeyGroupBound || start > kKeyGroupBound || end > kKeyGroupBound) {
    return corrupt("max parallelism " + std::to_string(max_parallelism) + " or key groups [" +
                   std::to_string(start) + ", " + std::to_string(end) + ") beyond " +
                   std::to_string(kKeyGroupBound));
  }
  m.format = static_cast<CheckpointFormat>(format);
  m.timestamp_millis = static_cast<int64_t>(ts);
  m.backend = backend;
  m.max_parallelism = static_cast<int>(max_parallelism);
  m.key_group_range = {static_cast<int>(start), static_cast<int>(end) - 1};
  for (uint32_t i = 0; i < states; ++i) {
    std::string_view record;
    StateMeta meta;
    if (!GetLengthPrefixed(&in, &record) || !DecodeStateMeta(record, &meta)) {
      return corrupt("malformed state descriptor " + std::to_string(i));
    }
    m.states.push_back(std::move(meta));
  }
  if (!GetVarint32(&in, &files)) return corrupt("malformed file list");
  for (uint32_t i = 0; i < files; ++i) {
    std::string_view name;
    CheckpointFile f;
    uint64_t size = 0;
    uint8_t flags = 0;
    if (!GetLengthPrefixed(&in, &name) || (version >= 2 && !GetByte(&in, &flags)) ||
        !GetFixed64(&in, &size) || in.size() < 4) {
      return corrupt("malformed file entry " + std::to_string(i));
    }
    f.crc32c = GetFixed32(in.data());
    in.remove_prefix(4);
    f.name = name;
    f.size = size;
    f.shared = (flags & kFileShared) != 0;
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.name == "..") {
      return corrupt("file name '" + f.name + "' is not a plain name");
    }
    m.files.push_back(std::move(f));
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return m;
}

void RemoveQuietly(const fs::path& p) {
  std::error_code ignored;
  fs::remove_all(p, ignored);
}

}  // namespace

namespace internal {

std::string EncodeCheckpointMetadata(const CheckpointMetadata& m) {
  return EncodeMetadata(m);
}

Result<CheckpointMetadata> DecodeCheckpointMetadata(const std::string& path,
                                                    std::string_view bytes) {
  return DecodeMetadata(path, bytes);
}

}  // namespace internal

std::optional<uint64_t> CheckpointIdOf(std::string_view name) {
  if (name.size() < 5 || name.substr(0, 4) != "chk-") return std::nullopt;
  uint64_t id = 0;
  for (size_t i = 4; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || id > UINT64_MAX / 10) return std::nullopt;
    id = id * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return id;
}

uint64_t CheckpointMetadata::full_size_bytes() const {
  uint64_t total = 0;
  for (const CheckpointFile& f : files) total += f.size;
  return total;
}

std::string CheckpointMetadata::PathOf(const CheckpointFile& file) const {
  const fs::path dir(directory);
  return (file.shared ? dir.parent_path() / kSharedDir / file.name : dir / file.name).string();
}

Result<CheckpointMetadata> ReadCheckpoint(const std::string& checkpoint_dir,
                                          CheckpointVerify verify) {
  const fs::path dir(checkpoint_dir);
  const fs::path meta_path = dir / kMetadataFile;
  std::error_code ec;
  if (!fs::exists(meta_path, ec)) {
    return Status::NotFound("checkpoint " + checkpoint_dir + " has no " + kMetadataFile +
                            " (incomplete)");
  }
  Result<std::string> bytes = ReadWholeFile(meta_path);
  if (!bytes.ok()) return bytes.status();
  Result<CheckpointMetadata> m = DecodeMetadata(meta_path.string(), *bytes);
  if (!m.ok()) return m.status();
  m->directory = checkpoint_dir;
  if (verify == CheckpointVerify::kNone) return m;
  for (const CheckpointFile& f : m->files) {
    const std::string p = m->PathOf(f);
    const uint64_t size = fs::file_size(p, ec);
    if (ec) {
      return Status::Corruption("checkpoint " + checkpoint_dir + ": file " + p + " is " +
                                (fs::exists(p) ? "unreadable: " + ec.message() : "missing"));
    }
    if (size != f.size) {
      return Status::Corruption("checkpoint " + checkpoint_dir + ": file " + p + " has " +
                                std::to_string(size) + " bytes, the metadata says " +
                                std::to_string(f.size) + " (truncated?)");
    }
    if (verify != CheckpointVerify::kChecksums) continue;
    Result<CheckpointFile> actual = Describe(p, f.name);
    if (!actual.ok()) return actual.status();
    if (actual->crc32c != f.crc32c || actual->size != f.size) {
      return Status::Corruption("checkpoint " + checkpoint_dir + ": file " + p +
                                " does not match its checksum");
    }
  }
  return m;
}

Result<CheckpointMetadata> FindLatestCheckpoint(const std::string& root,
                                                std::vector<std::string>* skipped,
                                                CheckpointVerify verify) {
  std::error_code ec;
  std::vector<std::pair<uint64_t, fs::path>> dirs;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    if (auto id = CheckpointIdOf(entry.path().filename().string()))
      dirs.emplace_back(*id, entry.path());
  }
  if (ec) return Status::IOError("cannot list checkpoint root " + root + ": " + ec.message());
  std::sort(dirs.begin(), dirs.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [id, path] : dirs) {
    Result<CheckpointMetadata> m = ReadCheckpoint(path.string(), verify);
    if (m.ok() && m->id == id) return m;
    if (skipped != nullptr) {
      skipped->push_back(m.ok() ? path.string() + ": metadata names checkpoint " +
                                      std::to_string(m->id)
                                : m.status().ToString());
    }
  }
  return Status::NotFound("no complete checkpoint under " + root);
}

namespace {

// A private directory under the system's temporary directory, removed on destruction.
class TemporaryDirectory {
 public:
  static Result<std::unique_ptr<TemporaryDirectory>> Create(const std::string& prefix) {
    std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IOError(
          internal::ErrnoMessage("cannot create a temporary directory", pattern));
    }
    return std::unique_ptr<TemporaryDirectory>(new TemporaryDirectory(pattern));
  }
  ~TemporaryDirectory() { RemoveQuietly(path_); }
  const std::string& path() const { return path_; }

 private:
  explicit TemporaryDirectory(std::string path) : path_(std::move(path)) {}
  const std::string path_;
};

// The local (RocksDB) name of a checkpoint file: a shared SST's name less its identity prefix.
std::string LocalName(const CheckpointFile& f) {
  if (!f.shared) return f.name;
  const size_t dash = f.name.rfind('-');
  return dash == std::string::npos ? f.name : f.name.substr(dash + 1);
}

// Gathers a native checkpoint's files into `dir` under their RocksDB names: hard links, or
// copies where the checkpoint is on another filesystem. The checkpoint itself is only read.
Status GatherNativeFiles(const CheckpointMetadata& checkpoint, const std::string& dir) {
  for (const CheckpointFile& f : checkpoint.files) {
    if (f.name == kOperatorStateFile) continue;
    const std::string from = checkpoint.PathOf(f);
    const fs::path to = fs::path(dir) / LocalName(f);
    std::error_code ec;
    fs::create_hard_link(from, to, ec);
    if (ec) fs::copy_file(from, to, ec);
    if (ec)
      return Status::IOError("cannot read " + from + " into " + to.string() + ": " + ec.message());
  }
  return Status::OK();
}

}  // namespace

Status RestoreFromCheckpoint(KeyedStateBackend& backend, const CheckpointMetadata& checkpoint) {
  return RestoreFromCheckpoints(backend, {checkpoint});
}

Status RestoreFromCheckpoints(KeyedStateBackend& backend,
                              const std::vector<CheckpointMetadata>& checkpoints) {
  std::vector<KeyedStateBackend::RestoreSource> sources;
  // Native checkpoints are read from temporary directories gathered first, removed at the end.
  std::vector<std::unique_ptr<TemporaryDirectory>> temps;
  for (const CheckpointMetadata& checkpoint : checkpoints) {
    if (checkpoint.format == CheckpointFormat::kKeyedSnapshot) {
      for (const CheckpointFile& f : checkpoint.files) {
        if (f.name != kKeyedStateFile) continue;
        sources.push_back(KeyedSnapshotRestoreSource(checkpoint.PathOf(f)));
      }
      continue;
    }
    Result<std::unique_ptr<TemporaryDirectory>> temp =
        TemporaryDirectory::Create("statewatch-restore-");
    if (!temp.ok()) return temp.status();
    SW_RETURN_IF_ERROR(GatherNativeFiles(checkpoint, (*temp)->path()));
    const std::string db_dir = (*temp)->path();
    temps.push_back(std::move(*temp));
    const KeyGroupRange range = backend.key_group_range();
    sources.push_back(
        {checkpoint.directory,
         [db_dir, checkpoint, range](const KeyedStateBackend::RestoreVisitor& visit)
             -> Result<KeyedStateBackend::RestoreSourceInfo> {
           Status s = internal::ReadNativeCheckpoint(db_dir, checkpoint.states, range, visit);
           // A column family the metadata names but the files lack: damaged.
           if (s.IsNotFound() || s.IsInvalidArgument()) {
             return Status::Corruption("checkpoint " + checkpoint.directory + ": " + s.message());
           }
           if (!s.ok()) return s;
           return KeyedStateBackend::RestoreSourceInfo{checkpoint.max_parallelism,
                                                       checkpoint.states};
         }});
  }
  return backend.RestoreFrom(sources);
}

Result<OperatorStateSnapshot> ReadOperatorStateSnapshot(const CheckpointMetadata& checkpoint) {
  for (const CheckpointFile& f : checkpoint.files) {
    if (f.name != kOperatorStateFile) continue;
    const fs::path path = checkpoint.PathOf(f);
    Result<std::string> bytes = ReadWholeFile(path);
    if (!bytes.ok()) return bytes.status();
    Result<OperatorStateSnapshot> snapshot = DecodeOperatorStateSnapshot(*bytes);
    if (!snapshot.ok()) {
      const std::string message = path.string() + ": " + snapshot.status().message();
      return snapshot.status().IsNotSupported() ? Status::NotSupported(message)
                                                : Status::Corruption(message);
    }
    return snapshot;
  }
  return OperatorStateSnapshot{};
}

CheckpointCoordinator::CheckpointCoordinator(KeyedStateBackend* backend, CheckpointOptions options,
                                             OperatorStateBackend* operator_state)
    : backend_(backend), options_(std::move(options)), operator_state_(operator_state) {}

Result<std::unique_ptr<CheckpointCoordinator>> CheckpointCoordinator::Open(
    KeyedStateBackend* backend, CheckpointOptions options, OperatorStateBackend* operator_state) {
  if (options.root.empty()) return Status::InvalidArgument("checkpoint root must be set");
  if (options.retained < 1) return Status::InvalidArgument("checkpoints retained must be >= 1");
  std::error_code ec;
  internal::CreatePrivateDirectory(options.root, ec);
  if (ec) {
    return Status::IOError("cannot create checkpoint root " + options.root + ": " + ec.message());
  }
  std::unique_ptr<CheckpointCoordinator> c(
      new CheckpointCoordinator(backend, std::move(options), operator_state));
  // Ids continue after the highest directory present, complete or not, so a new checkpoint
  // never reuses the name of a half-written one.
  for (const auto& entry : fs::directory_iterator(c->options_.root, ec)) {
    if (auto id = CheckpointIdOf(entry.path().filename().string())) {
      c->next_id_ = std::max(c->next_id_, *id + 1);
    }
  }
  if (ec) return Status::IOError("cannot list checkpoint root " + c->options_.root);
  // Sizes only: start-up should not read gigabytes; a restore verifies checksums itself.
  Result<CheckpointMetadata> latest =
      FindLatestCheckpoint(c->options_.root, nullptr, CheckpointVerify::kSizes);
  if (latest.ok()) c->latest_ = *latest;
  c->CollectSharedFiles();
  return c;
}

Result<CheckpointMetadata> CheckpointCoordinator::Write(const fs::path& dir, uint64_t id,
                                                        int64_t trigger_millis, bool savepoint,
                                                        uint64_t* delta_bytes) {
  *delta_bytes = 0;
  std::error_code ec;
  if (!internal::CreatePrivateDirectory(dir, ec)) {
    if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
    return Status::AlreadyExists(dir.string() + " exists already; not overwriting it");
  }
  CheckpointMetadata m;
  m.id = id;
  m.timestamp_millis = trigger_millis;
  m.backend = std::string(backend_->backend_name());
  m.max_parallelism = backend_->max_parallelism();
  m.key_group_range = backend_->key_group_range();
  m.directory = dir.string();
  Status native = Status::NotSupported("");
  if (!savepoint && options_.incremental) native = WriteNative(dir, id, &m, delta_bytes);
  if (native.IsNotSupported()) {  // full: the heap backend, or incremental off
    Result<KeyedSnapshotInfo> keyed =
        WriteKeyedSnapshot(*backend_, (dir / kKeyedStateFile).string());
    if (!keyed.ok()) return keyed.status();
    m.format = CheckpointFormat::kKeyedSnapshot;
    m.states = keyed->states;
    // Size and checksum come from the writer: no second pass over the file just written.
    m.files.push_back({kKeyedStateFile, keyed->file_bytes, keyed->file_crc32c, false});
    *delta_bytes += keyed->file_bytes;
  } else if (!native.ok()) {
    return native;
  }
  if (operator_state_ != nullptr) {
    Result<OperatorStateSnapshot> ops = operator_state_->Snapshot();
    if (!ops.ok()) return ops.status();
    const std::string bytes = EncodeOperatorStateSnapshot(*ops);
    SW_RETURN_IF_ERROR(internal::WriteFileDurably((dir / kOperatorStateFile).string(), bytes));
    m.files.push_back({kOperatorStateFile, bytes.size(), Crc32c(bytes), false});
    *delta_bytes += bytes.size();
  }
  // Last: the metadata makes the checkpoint exist.
  SW_RETURN_IF_ERROR(internal::WriteFileDurably((dir / kMetadataFile).string(), EncodeMetadata(m)));
  return m;
}

Status CheckpointCoordinator::WriteNative(const fs::path& dir, uint64_t id, CheckpointMetadata* m,
                                          uint64_t* delta_bytes) {
  Result<KeyedStateBackend::NativeCheckpoint> native =
      backend_->CreateNativeCheckpoint(".checkpoint-" + std::to_string(id));
  if (!native.ok()) return native.status();
  // The RocksDB checkpoint is hard links into the working directory: always removed.
  struct Cleanup {
    std::string path;
    ~Cleanup() { RemoveQuietly(path); }
  } cleanup{native->directory};

  const fs::path shared = fs::path(options_.root) / kSharedDir;
  std::error_code ec;
  internal::CreatePrivateDirectory(shared, ec);
  if (ec) return Status::IOError("cannot create " + shared.string() + ": " + ec.message());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(native->directory, ec)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  if (ec) return Status::IOError("cannot list " + native->directory + ": " + ec.message());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string from = (fs::path(native->directory) / name).string();
    CheckpointFile f;
    f.shared = name.size() > 4 && name.compare(name.size() - 4, 4, ".sst") == 0;
    // SST files never change and their numbers are never reused within a database, so the
    // identity and number name one content for good: one copy serves every checkpoint.
    f.name = f.shared ? native->db_identity + "-" + name : name;
    if (f.shared) {
      // Reused when a retained checkpoint lists it and it is still there whole (a stat, no
      // read); otherwise copied again over whatever is left.
      auto it = shared_files_.find(f.name);
      if (it != shared_files_.end() && fs::file_size(shared / f.name, ec) == it->second.size &&
          !ec) {
        m->files.push_back(it->second);
        continue;
      }
    }
    const std::string to = ((f.shared ? shared : dir) / f.name).string();
    SW_RETURN_IF_ERROR(internal::CopyFileDurably(from, to, &f.size, &f.crc32c));
    *delta_bytes += f.size;
    m->files.push_back(f);
  }
  m->format = CheckpointFormat::kRocksDbNative;
  for (const std::string& state : backend_->SnapshotStateNames()) {
    Result<StateMeta> meta = backend_->GetStateMeta(state);
    if (!meta.ok()) return meta.status();
    m->states.push_back(*meta);
  }
  return Status::OK();
}

Result<CheckpointMetadata> CheckpointCoordinator::Trigger() {
  const uint64_t id = next_id_++;
  const int64_t trigger = backend_->clock().NowMillis();
  last_trigger_millis_ = trigger;
  const auto start = std::chrono::steady_clock::now();
  uint64_t delta_bytes = 0;
  Result<CheckpointMetadata> m =
      Write(fs::path(options_.root) / DirName(id), id, trigger, /*savepoint=*/false, &delta_bytes);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  last_end_millis_ = backend_->clock().NowMillis();
  CheckpointRecord r;
  r.id = id;
  r.trigger_millis = trigger;
  r.duration_seconds = seconds;
  if (m.ok() && seconds * 1e3 > static_cast<double>(options_.timeout.count())) {
    m = Status::Unavailable("checkpoint " + std::to_string(id) + " took " +
                            std::to_string(seconds) + " s, over the timeout of " +
                            std::to_string(options_.timeout.count() / 1000.0) + " s");
  }
  if (!m.ok()) {
    // Shared files it copied stay until the next collection: nothing refers to them.
    RemoveQuietly(fs::path(options_.root) / DirName(id));
    r.failure = m.status().ToString();
    Record(r);
    return m.status();
  }
  r.completed = true;
  // Full size: every byte a restore reads; delta: what this checkpoint wrote (all of it for a
  // full checkpoint) — Flink's checkpointed size vs full state size.
  r.full_size_bytes = m->full_size_bytes();
  r.delta_size_bytes = delta_bytes;
  Record(r);
  latest_ = *m;
  ApplyRetention();
  CollectSharedFiles();
  return m;
}

Result<CheckpointMetadata> CheckpointCoordinator::TriggerSavepoint(const std::string& directory) {
  // Id 0: a savepoint is not in the checkpoint sequence.
  uint64_t bytes = 0;
  Result<CheckpointMetadata> m =
      Write(directory, 0, backend_->clock().NowMillis(), /*savepoint=*/true, &bytes);
  if (!m.ok() && !m.status().IsAlreadyExists()) RemoveQuietly(directory);
  return m;
}

Result<std::optional<CheckpointMetadata>> CheckpointCoordinator::MaybeTrigger() {
  if (options_.interval.count() <= 0) return std::optional<CheckpointMetadata>();
  const int64_t now = backend_->clock().NowMillis();
  const bool interval_passed =
      last_trigger_millis_ == INT64_MIN || now - last_trigger_millis_ >= options_.interval.count();
  const bool paused =
      last_end_millis_ == INT64_MIN || now - last_end_millis_ >= options_.min_pause.count();
  if (!interval_passed || !paused) return std::optional<CheckpointMetadata>();
  Result<CheckpointMetadata> m = Trigger();
  if (!m.ok()) return m.status();
  return std::optional<CheckpointMetadata>(std::move(*m));
}

void CheckpointCoordinator::Record(const CheckpointRecord& r) {
  CheckpointStats copy;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    (r.completed ? stats_.completed : stats_.failed)++;
    if (r.completed) stats_.last_completed = r;
    stats_.history.push_back(r);
    if (stats_.history.size() > CheckpointStats::kHistory) {
      stats_.history.erase(stats_.history.begin());
    }
    copy = stats_;
  }
  backend_->PublishCheckpointStats(copy);
}

CheckpointStats CheckpointCoordinator::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void CheckpointCoordinator::ApplyRetention() {
  // Keep the newest `retained` complete checkpoints; remove older ones and every incomplete
  // directory older than the latest (a crash's leftovers). Never touches anything newer.
  std::error_code ec;
  std::vector<std::pair<uint64_t, fs::path>> complete, incomplete;
  for (const auto& entry : fs::directory_iterator(options_.root, ec)) {
    auto id = CheckpointIdOf(entry.path().filename().string());
    if (!id || !entry.is_directory() || *id >= latest_->id) continue;
    (fs::exists(entry.path() / kMetadataFile) ? complete : incomplete)
        .emplace_back(*id, entry.path());
  }
  std::sort(complete.begin(), complete.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = static_cast<size_t>(options_.retained - 1); i < complete.size(); ++i) {
    RemoveQuietly(complete[i].second);
  }
  for (const auto& [id, path] : incomplete) RemoveQuietly(path);
}

void CheckpointCoordinator::CollectSharedFiles() {
  // The references are what the metadata of every complete checkpoint present lists (after
  // retention, the retained ones). Counting them anew each time, rather than keeping counts,
  // means a restart, a crash or a hand-deleted checkpoint can never leave a count wrong.
  std::error_code ec;
  std::map<std::string, CheckpointFile, std::less<>> referenced;
  bool all_known = true;
  for (const auto& entry : fs::directory_iterator(options_.root, ec)) {
    if (!entry.is_directory() || !CheckpointIdOf(entry.path().filename().string())) continue;
    if (!fs::exists(entry.path() / kMetadataFile)) {
      // Incomplete: a crash's leftovers (removed by retention) or, newer than the latest, a
      // checkpoint being written by someone else — keep everything to be safe.
      if (!latest_ || CheckpointIdOf(entry.path().filename().string()) > latest_->id)
        all_known = false;
      continue;
    }
    Result<CheckpointMetadata> m = ReadCheckpoint(entry.path().string(), CheckpointVerify::kNone);
    if (!m.ok()) {
      all_known = false;  // its references are unknown: delete nothing
      continue;
    }
    for (const CheckpointFile& f : m->files) {
      if (f.shared) referenced.emplace(f.name, f);
    }
  }
  if (ec) return;  // cannot list the root: keep everything
  shared_files_ = std::move(referenced);
  if (!all_known) return;
  const fs::path shared = fs::path(options_.root) / kSharedDir;
  for (const auto& entry : fs::directory_iterator(shared, ec)) {
    const std::string name = entry.path().filename().string();
    if (shared_files_.find(name) == shared_files_.end()) RemoveQuietly(entry.path());
  }
}

}  // namespace statewatch
