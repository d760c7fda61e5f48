#include "statewatch/state/keyed_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "durable_file.h"
#include "snapshot_codec.h"
#include "statewatch/state/crc32c.h"
#include "statewatch/state/internal/encoding.h"

namespace statewatch {
namespace {

using internal::DecodeStateMeta;
using internal::EncodeStateMeta;
using internal::ErrnoMessage;
using internal::GetByte;
using internal::GetFixed32;
using internal::GetFixed64;
using internal::GetLengthPrefixed;
using internal::GetVarint32;
using internal::PutFixed32;
using internal::PutFixed64;
using internal::PutString;
using internal::PutVarint32;

constexpr std::string_view kMagic = "SWKEYSNP";
constexpr size_t kRecordHeaderBytes = 5;  // fixed32 length + type
constexpr size_t kEntryBlockBytes = 64 << 10;
constexpr size_t kWriteBufferBytes = 1 << 20;
// No record we write comes near this; a larger length is a corrupt file, not an allocation.
constexpr uint32_t kMaxRecordBytes = 256u << 20;

enum RecordType : uint8_t { kHeader = 1, kState = 2, kEntries = 3, kEnd = 4 };

// Appends through a buffer to a file descriptor; the first failure sticks.
class FileWriter {
 public:
  explicit FileWriter(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd_ < 0) status_ = Status::IOError(ErrnoMessage("cannot create", path_));
  }
  ~FileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  void Append(std::string_view data) {
    buffer_.append(data);
    bytes_ += data.size();
    crc_ = Crc32c(data, crc_);
    if (buffer_.size() >= kWriteBufferBytes) Flush();
  }
  void Record(RecordType type, std::string_view payload) {
    std::string head;
    PutFixed32(&head, static_cast<uint32_t>(payload.size()));
    head.push_back(static_cast<char>(type));
    uint32_t crc = Crc32c(std::string_view(&head[4], 1));
    crc = Crc32c(payload, crc);
    Append(head);
    Append(payload);
    std::string tail;
    PutFixed32(&tail, crc);
    Append(tail);
  }
  // Flushes, fsyncs and closes.
  Status Finish() {
    Flush();
    if (status_.ok() && ::fsync(fd_) != 0)
      status_ = Status::IOError(ErrnoMessage("cannot sync", path_));
    if (fd_ >= 0 && ::close(fd_) != 0 && status_.ok()) {
      status_ = Status::IOError(ErrnoMessage("cannot close", path_));
    }
    fd_ = -1;
    return status_;
  }
  uint64_t bytes() const { return bytes_; }
  uint32_t crc32c() const { return crc_; }  // of every byte appended
  const Status& status() const { return status_; }

 private:
  void Flush() {
    if (!status_.ok()) {
      buffer_.clear();
      return;
    }
    std::string_view rest = buffer_;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status_ = Status::IOError(ErrnoMessage("cannot write", path_));
        break;
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
    buffer_.clear();
  }

  std::string path_;
  int fd_ = -1;
  std::string buffer_;
  uint64_t bytes_ = 0;
  uint32_t crc_ = 0;
  Status status_;
};

void AppendEntry(std::string* out, const StateEntry& e) {
  PutVarint32(out, static_cast<uint32_t>(e.key_group));
  PutString(out, e.key);
  PutString(out, e.ns);
  PutString(out, e.user_key);
  PutString(out, e.value);
  if (e.timestamp == StateEntry::kNoTimestamp) {
    out->push_back(0);
  } else {
    out->push_back(1);
    PutFixed64(out, static_cast<uint64_t>(e.timestamp));
  }
}

bool NextEntry(std::string_view* in, StateEntry* e) {
  uint32_t key_group = 0;
  uint8_t has_ts = 0;
  if (!GetVarint32(in, &key_group) || !GetLengthPrefixed(in, &e->key) ||
      !GetLengthPrefixed(in, &e->ns) || !GetLengthPrefixed(in, &e->user_key) ||
      !GetLengthPrefixed(in, &e->value) || !GetByte(in, &has_ts) || has_ts > 1) {
    return false;
  }
  e->key_group = static_cast<int>(key_group);
  e->timestamp = StateEntry::kNoTimestamp;
  if (has_ts == 1) {
    uint64_t ts = 0;
    if (!GetFixed64(in, &ts)) return false;
    e->timestamp = static_cast<int64_t>(ts);
  }
  return true;
}

// Reads whole records from a file descriptor, tracking the offset for messages.
class RecordReader {
 public:
  explicit RecordReader(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  }
  ~RecordReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool opened() const { return fd_ >= 0; }
  uint64_t offset() const { return offset_; }

  Status Corrupt(uint64_t at, const std::string& what) const {
    return Status::Corruption("snapshot " + path_ + " at byte " + std::to_string(at) + ": " + what);
  }

  // Reads exactly n bytes; false at end of file (`*eof` when none at all could be read).
  Status ReadExactly(size_t n, std::string* out, bool* eof) {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::read(fd_, out->data() + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IOError(ErrnoMessage("cannot read", path_));
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    *eof = got == 0;
    if (got < n) {
      return *eof ? Status::OK() : Corrupt(offset_ + got, "truncated in the middle of a record");
    }
    offset_ += n;
    return Status::OK();
  }

  // The next record; *eof at a clean end of file.
  Status Next(RecordType* type, std::string* payload, bool* eof) {
    const uint64_t start = offset_;
    std::string head;
    SW_RETURN_IF_ERROR(ReadExactly(kRecordHeaderBytes, &head, eof));
    if (*eof) return Status::OK();
    const uint32_t length = GetFixed32(head.data());
    if (length > kMaxRecordBytes) {
      return Corrupt(start, "record length " + std::to_string(length) + " is implausible");
    }
    // Checked against the file's size before allocating: a damaged length must not make us
    // allocate (up to kMaxRecordBytes) for bytes that are not there.
    const uint64_t left = size_ - std::min(size_, offset_);
    if (uint64_t{length} + 4 > left) {
      return Corrupt(start, "truncated in the middle of a record (its length says " +
                                std::to_string(length + 4) + " more bytes, the file has " +
                                std::to_string(left) + ")");
    }
    bool short_read = false;
    SW_RETURN_IF_ERROR(ReadExactly(length + 4, payload, &short_read));
    if (short_read) return Corrupt(offset_, "truncated in the middle of a record");
    const uint32_t stored = GetFixed32(payload->data() + length);
    payload->resize(length);
    uint32_t crc = Crc32c(std::string_view(&head[4], 1));
    crc = Crc32c(*payload, crc);
    if (crc != stored) return Corrupt(start, "checksum mismatch");
    *type = static_cast<RecordType>(static_cast<uint8_t>(head[4]));
    return Status::OK();
  }

 private:
  std::string path_;
  uint64_t size_ = 0;  // the file's size when opened
  int fd_ = -1;
  uint64_t offset_ = 0;
};

}  // namespace

Result<KeyedSnapshotInfo> WriteKeyedSnapshot(KeyedStateBackend& backend, const std::string& path) {
  const std::string temp = path + ".inprogress";
  KeyedSnapshotInfo info;
  info.backend = std::string(backend.backend_name());
  info.max_parallelism = backend.max_parallelism();
  info.key_group_range = backend.key_group_range();
  Status status;
  {
    FileWriter out(temp);
    SW_RETURN_IF_ERROR(out.status());
    out.Append(kMagic);
    std::string header;
    PutVarint32(&header, kKeyedSnapshotFormatVersion);
    PutString(&header, info.backend);
    PutVarint32(&header, static_cast<uint32_t>(info.max_parallelism));
    PutVarint32(&header, static_cast<uint32_t>(info.key_group_range.start));
    PutVarint32(&header, static_cast<uint32_t>(info.key_group_range.end + 1));
    out.Record(kHeader, header);

    std::string block;
    for (const std::string& name : backend.SnapshotStateNames()) {
      Result<StateMeta> meta = backend.GetStateMeta(name);
      if (!meta.ok()) {
        status = meta.status();
        break;
      }
      out.Record(kState, EncodeStateMeta(*meta));
      info.states.push_back(*meta);
      ScanOptions options;
      options.for_snapshot = true;
      status = backend.ScanState(name, options, [&](const StateEntry& e) {
        AppendEntry(&block, e);
        ++info.entries;
        if (block.size() >= kEntryBlockBytes) {
          out.Record(kEntries, block);
          block.clear();
        }
        return out.status().ok();
      });
      if (!block.empty()) out.Record(kEntries, block);
      block.clear();
      if (!status.ok()) break;
    }
    std::string end;
    PutVarint32(&end, static_cast<uint32_t>(info.states.size()));
    PutFixed64(&end, info.entries);
    out.Record(kEnd, end);
    info.file_bytes = out.bytes();
    info.file_crc32c = out.crc32c();
    Status finished = out.Finish();
    if (status.ok()) status = finished;
  }
  if (status.ok()) status = internal::RenameDurably(temp, path);
  if (!status.ok()) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    return status;
  }
  return info;
}

Result<KeyedSnapshotInfo> ReadKeyedSnapshot(const std::string& path,
                                            const KeyedSnapshotVisitor& visit) {
  RecordReader in(path);
  if (!in.opened()) return Status::IOError(ErrnoMessage("cannot open snapshot", path));
  std::string magic;
  bool eof = false;
  SW_RETURN_IF_ERROR(in.ReadExactly(kMagic.size(), &magic, &eof));
  if (eof || magic != kMagic) {
    return in.Corrupt(0, "not a statewatch keyed snapshot (bad magic)");
  }

  KeyedSnapshotInfo info;
  bool have_header = false, have_end = false;
  const StateMeta* current = nullptr;
  std::string payload;
  while (true) {
    const uint64_t at = in.offset();
    RecordType type{};
    SW_RETURN_IF_ERROR(in.Next(&type, &payload, &eof));
    if (eof) break;
    if (have_end) return in.Corrupt(at, "data after the end record");
    std::string_view p = payload;
    if (!have_header && type != kHeader) return in.Corrupt(at, "first record is not the header");
    switch (type) {
      case kHeader: {
        if (have_header) return in.Corrupt(at, "a second header");
        uint32_t version = 0, max_parallelism = 0, start = 0, end = 0;
        std::string_view backend;
        if (!GetVarint32(&p, &version)) return in.Corrupt(at, "malformed header");
        if (version != kKeyedSnapshotFormatVersion) {
          return Status::NotSupported("snapshot " + path + ": format version " +
                                      std::to_string(version) + ", this build reads version " +
                                      std::to_string(kKeyedSnapshotFormatVersion));
        }
        if (!GetLengthPrefixed(&p, &backend) || !GetVarint32(&p, &max_parallelism) ||
            !GetVarint32(&p, &start) || !GetVarint32(&p, &end) || !p.empty()) {
          return in.Corrupt(at, "malformed header");
        }
        // Key groups lie below 2^15 (key_group.h); larger values are damage (and end - 1 of
        // one past INT_MAX overflows).
        constexpr auto kKeyGroupBound = static_cast<uint32_t>(kUpperBoundMaxParallelism);
        if (max_parallelism > kKeyGroupBound || start > kKeyGroupBound || end > kKeyGroupBound) {
          return in.Corrupt(at, "max parallelism " + std::to_string(max_parallelism) +
                                    " or key groups [" + std::to_string(start) + ", " +
                                    std::to_string(end) + ") beyond " +
                                    std::to_string(kKeyGroupBound));
        }
        info.format_version = version;
        info.backend = backend;
        info.max_parallelism = static_cast<int>(max_parallelism);
        info.key_group_range = {static_cast<int>(start), static_cast<int>(end) - 1};
        have_header = true;
        break;
      }
      case kState: {
        StateMeta meta;
        if (!DecodeStateMeta(p, &meta)) return in.Corrupt(at, "malformed state record");
        info.states.push_back(std::move(meta));
        current = &info.states.back();
        break;
      }
      case kEntries: {
        if (current == nullptr) return in.Corrupt(at, "entries before any state record");
        StateEntry e;
        while (!p.empty()) {
          if (!NextEntry(&p, &e)) {
            return in.Corrupt(at, "malformed entry of state '" + current->name + "'");
          }
          if (!info.key_group_range.Contains(e.key_group)) {
            return in.Corrupt(at, "entry of state '" + current->name + "' in key group " +
                                      std::to_string(e.key_group) + ", outside " +
                                      info.key_group_range.ToString());
          }
          ++info.entries;
          if (visit) SW_RETURN_IF_ERROR(visit(*current, e));
        }
        break;
      }
      case kEnd: {
        uint32_t states = 0;
        uint64_t entries = 0;
        if (!GetVarint32(&p, &states) || !GetFixed64(&p, &entries) || !p.empty()) {
          return in.Corrupt(at, "malformed end record");
        }
        if (states != info.states.size() || entries != info.entries) {
          return in.Corrupt(at, "end record counts " + std::to_string(states) + " states and " +
                                    std::to_string(entries) + " entries, the file holds " +
                                    std::to_string(info.states.size()) + " and " +
                                    std::to_string(info.entries));
        }
        have_end = true;
        break;
      }
      default:
        return in.Corrupt(at, "unknown record type " + std::to_string(static_cast<int>(type)));
    }
  }
  if (!have_end) return in.Corrupt(in.offset(), "truncated: no end record");
  info.file_bytes = in.offset();
  return info;
}

KeyedStateBackend::RestoreSource KeyedSnapshotRestoreSource(const std::string& path) {
  return {path,
          [path](const KeyedStateBackend::RestoreVisitor& visit)
              -> Result<KeyedStateBackend::RestoreSourceInfo> {
            Result<KeyedSnapshotInfo> info = ReadKeyedSnapshot(path, visit);
            if (!info.ok()) return info.status();
            return KeyedStateBackend::RestoreSourceInfo{info->max_parallelism, info->states};
          }};
}

}  // namespace statewatch
