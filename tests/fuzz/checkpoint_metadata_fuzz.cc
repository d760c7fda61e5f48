// Fuzzes what a restore reads from a checkpoint or savepoint directory: the `_metadata` file
// (internal::DecodeCheckpointMetadata, checkpoint_metadata.h) and the canonical keyed snapshot
// `keyed-state` (ReadKeyedSnapshot, then RestoreFromSnapshots into a heap backend and the
// registration of the restored states, which decodes their entries).
//
// Input: the bytes of one file. Starting with "SWKEYSNP" it is a keyed snapshot, otherwise
// checkpoint metadata. Each input is tried as it is and again with its CRC-32Cs made right
// (the metadata's trailing one, each snapshot record's), so mutations get past the checksums
// to the decoders. A keyed snapshot is read from a file: one temporary directory per process
// (mkdtemp, removed at exit), the file rewritten for every input.
//
// Invariants beyond "does not crash":
//   - decoding is deterministic; errors are Corruption naming the file (NotSupported for an
//     unknown version);
//   - metadata that decodes has plain file names and valid state descriptors, and encodes to
//     bytes that decode to the same metadata (and encode to the same bytes again);
//   - a snapshot that reads visits exactly `entries` entries, all inside its key-group range
//     and of listed states; restored into a backend of another max parallelism it is refused;
//     restored, the backend knows exactly its states, writes a snapshot that reads back with
//     the same states and no more entries than were in range, and registering a state and
//     reading its keys answers a value, NotFound or an error — never crashes.
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "checkpoint_metadata.h"
#include "fuzz_check.h"
#include "statewatch/state/checkpoint.h"
#include "statewatch/state/clock.h"
#include "statewatch/state/crc32c.h"
#include "statewatch/state/keyed_snapshot.h"
#include "statewatch/state/keyed_state_backend.h"

namespace {

namespace fs = std::filesystem;
using statewatch::CheckpointMetadata;
using statewatch::KeyedSnapshotInfo;
using statewatch::Result;
using statewatch::StateEntry;
using statewatch::StateKind;
using statewatch::StateMeta;
using statewatch::Status;

constexpr std::string_view kSnapshotMagic = "SWKEYSNP";
constexpr char kMetadataPath[] = "fuzz/chk-1/_metadata";

// The process's temporary directory, created on first use and removed at exit.
const std::string& TempDir() {
  static const std::string dir = [] {
    std::string pattern = (fs::temp_directory_path() / "statewatch-fuzz-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "mkdtemp " + pattern);
    static const std::string removed_at_exit = pattern;
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(removed_at_exit, ignored);
    });
    return pattern;
  }();
  return dir;
}

void PutFixed32(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetFixed32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

// The metadata with its trailing CRC-32C recomputed.
std::string FixMetadataCrc(std::string bytes) {
  if (bytes.size() < 4) return bytes;
  PutFixed32(&bytes, bytes.size() - 4,
             statewatch::Crc32c(std::string_view(bytes).substr(0, bytes.size() - 4)));
  return bytes;
}

// The snapshot with every whole record's CRC-32C recomputed (keyed_snapshot.h layout).
std::string FixSnapshotCrcs(std::string bytes) {
  size_t at = kSnapshotMagic.size();
  while (at + 5 <= bytes.size()) {
    const uint64_t length = GetFixed32(bytes, at);
    if (at + 9 + length > bytes.size()) break;
    uint32_t crc = statewatch::Crc32c(std::string_view(bytes).substr(at + 4, 1));
    crc = statewatch::Crc32c(std::string_view(bytes).substr(at + 5, length), crc);
    PutFixed32(&bytes, at + 5 + length, crc);
    at += 9 + length;
  }
  return bytes;
}

std::string Describe(const CheckpointMetadata& m) {
  std::string out = std::to_string(m.id) + "|" + std::to_string(m.timestamp_millis) + "|" +
                    m.backend + "|" + std::to_string(static_cast<int>(m.format)) + "|" +
                    std::to_string(m.max_parallelism) + "|" + m.key_group_range.ToString();
  for (const StateMeta& s : m.states)
    out += "|state " + s.ToString() + " " + s.value_serializer + " " + s.user_key_serializer;
  for (const auto& f : m.files) {
    out += "|file " + f.name + " " + std::to_string(f.size) + " " + std::to_string(f.crc32c) +
           (f.shared ? " shared" : "");
  }
  return out;
}

void CheckStateMeta(const StateMeta& s) {
  FUZZ_CHECK(!s.name.empty());
  FUZZ_CHECK(static_cast<int>(s.kind) >= 1 && static_cast<int>(s.kind) <= 5);
  FUZZ_CHECK(s.ttl.ttl.count() >= 0);
  (void)s.ToString();
}

void CheckMetadata(const std::string& bytes) {
  const Result<CheckpointMetadata> m =
      statewatch::internal::DecodeCheckpointMetadata(kMetadataPath, bytes);
  const Result<CheckpointMetadata> again =
      statewatch::internal::DecodeCheckpointMetadata(kMetadataPath, bytes);
  FUZZ_CHECK(m.ok() == again.ok());
  if (!m.ok()) {
    FUZZ_CHECK(m.status().ToString() == again.status().ToString());
    FUZZ_CHECK(m.status().IsCorruption() || m.status().IsNotSupported(), m.status().ToString());
    FUZZ_CHECK(m.status().message().find(kMetadataPath) != std::string::npos);
    return;
  }
  const std::string described = Describe(*m);
  FUZZ_CHECK(described == Describe(*again));
  FUZZ_CHECK(m->directory.empty());
  for (const StateMeta& s : m->states) CheckStateMeta(s);
  for (const auto& f : m->files) {
    FUZZ_CHECK(!f.name.empty() && f.name.find('/') == std::string::npos && f.name != "..", f.name);
  }
  CheckpointMetadata located = *m;
  located.directory = "/checkpoints/chk-1";
  for (const auto& f : located.files) {
    FUZZ_CHECK(located.PathOf(f).rfind("/checkpoints/", 0) == 0, located.PathOf(f));
  }
  (void)located.full_size_bytes();

  const std::string encoded = statewatch::internal::EncodeCheckpointMetadata(*m);
  const Result<CheckpointMetadata> back =
      statewatch::internal::DecodeCheckpointMetadata(kMetadataPath, encoded);
  FUZZ_CHECK(back.ok(), back.status().ToString());
  FUZZ_CHECK(Describe(*back) == described, Describe(*back) + "\n  vs\n" + described);
  FUZZ_CHECK(statewatch::internal::EncodeCheckpointMetadata(*back) == encoded);
}

struct OwnedEntry {
  std::string state;
  int key_group;
  std::string key, ns, user_key, value;
  int64_t timestamp;
  bool operator==(const OwnedEntry&) const = default;
};

Result<KeyedSnapshotInfo> Read(const std::string& path, std::vector<OwnedEntry>* entries) {
  return statewatch::ReadKeyedSnapshot(path, [&](const StateMeta& meta, const StateEntry& e) {
    entries->push_back({meta.name, e.key_group, std::string(e.key), std::string(e.ns),
                        std::string(e.user_key), std::string(e.value), e.timestamp});
    return Status::OK();
  });
}

template <typename S>
void ExpectAnswer(const Result<S>& r) {
  FUZZ_CHECK(r.ok() || r.status().IsNotFound() || r.status().IsCorruption() ||
                 r.status().IsInvalidArgument(),
             r.status().ToString());
}

// Registers a restored state the way a job would (when its serializers are ones we can name)
// and reads the keys the snapshot had for it.
template <typename V>
void RegisterAndRead(statewatch::KeyedStateBackend& backend, const StateMeta& meta,
                     const std::vector<OwnedEntry>& entries) {
  const auto for_each_key = [&](auto&& read) {
    for (const OwnedEntry& e : entries) {
      if (e.state != meta.name) continue;
      if (!backend.SetCurrentKeyBytes(e.key).ok()) continue;
      read(e);
    }
  };
  switch (meta.kind) {
    case StateKind::kValue: {
      statewatch::ValueStateDescriptor<V> d(meta.name);
      d.EnableTimeToLive(meta.ttl);
      auto state = backend.GetValueState(d);
      ExpectAnswer(state);
      if (state.ok()) for_each_key([&](const OwnedEntry&) { ExpectAnswer((*state)->Value()); });
      break;
    }
    case StateKind::kList: {
      statewatch::ListStateDescriptor<V> d(meta.name);
      d.EnableTimeToLive(meta.ttl);
      auto state = backend.GetListState(d);
      ExpectAnswer(state);
      if (state.ok()) for_each_key([&](const OwnedEntry&) { ExpectAnswer((*state)->Get()); });
      break;
    }
    case StateKind::kReducing: {
      statewatch::ReducingStateDescriptor<V> d(meta.name, [](const V& a, const V&) { return a; });
      d.EnableTimeToLive(meta.ttl);
      auto state = backend.GetReducingState(d);
      ExpectAnswer(state);
      if (state.ok()) for_each_key([&](const OwnedEntry&) { ExpectAnswer((*state)->Get()); });
      break;
    }
    case StateKind::kMap: {
      if (meta.user_key_serializer != statewatch::Serializer<std::string>::kId) break;
      statewatch::MapStateDescriptor<std::string, V> d(meta.name);
      d.EnableTimeToLive(meta.ttl);
      auto state = backend.GetMapState(d);
      ExpectAnswer(state);
      if (!state.ok()) break;
      for_each_key([&](const OwnedEntry& e) {
        ExpectAnswer((*state)->Get(e.user_key));
        const Status s = (*state)->ForEach([](const std::string&, const V&) { return true; });
        FUZZ_CHECK(s.ok() || s.IsCorruption(), s.ToString());
      });
      break;
    }
    default:
      break;
  }
}

void CheckSnapshot(const std::string& bytes) {
  const std::string path = TempDir() + "/keyed-state";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    FUZZ_CHECK(out.good(), "cannot write " + path);
  }
  std::vector<OwnedEntry> entries, entries2;
  const Result<KeyedSnapshotInfo> info = Read(path, &entries);
  const Result<KeyedSnapshotInfo> info2 = Read(path, &entries2);
  FUZZ_CHECK(info.ok() == info2.ok());
  FUZZ_CHECK(entries == entries2);

  statewatch::ManualClock clock(1'700'000'000'000);
  statewatch::BackendOptions options;  // heap, max parallelism 128, all key groups
  options.clock = &clock;
  Result<std::unique_ptr<statewatch::KeyedStateBackend>> backend =
      statewatch::NewKeyedStateBackend(options);
  FUZZ_CHECK(backend.ok(), backend.status().ToString());
  const Status restored = (*backend)->RestoreFromSnapshots({path});

  if (!info.ok()) {
    FUZZ_CHECK(info.status().ToString() == info2.status().ToString());
    FUZZ_CHECK(info.status().IsCorruption() || info.status().IsNotSupported(),
               info.status().ToString());
    FUZZ_CHECK(info.status().message().find(path) != std::string::npos);
    FUZZ_CHECK(!restored.ok(), "a snapshot that does not read restored");
    return;
  }
  FUZZ_CHECK(info->entries == entries.size());
  FUZZ_CHECK(info->file_bytes == bytes.size());
  std::set<std::string> names;
  for (const StateMeta& s : info->states) {
    CheckStateMeta(s);
    names.insert(s.name);
  }
  size_t in_range = 0;
  for (const OwnedEntry& e : entries) {
    FUZZ_CHECK(info->key_group_range.Contains(e.key_group));
    FUZZ_CHECK(names.count(e.state) == 1, e.state);
    if ((*backend)->key_group_range().Contains(e.key_group)) ++in_range;
  }
  if (info->max_parallelism != options.max_parallelism) {
    FUZZ_CHECK(restored.IsInvalidArgument(), restored.ToString());
    return;
  }
  if (!restored.ok()) {
    // Only a state described two ways in one file is refused once the file reads.
    FUZZ_CHECK(restored.IsInvalidArgument(), restored.ToString());
    return;
  }
  const std::vector<std::string> pending = (*backend)->PendingRestoredStates();
  FUZZ_CHECK(std::set<std::string>(pending.begin(), pending.end()) == names);
  const std::vector<std::string> snapshot_names = (*backend)->SnapshotStateNames();
  FUZZ_CHECK(std::set<std::string>(snapshot_names.begin(), snapshot_names.end()) == names);

  // Written again: a snapshot that reads, with the same states and at most the entries that
  // were in this backend's range (expired ones with full-snapshot cleanup are left out).
  const std::string rewritten = TempDir() + "/rewritten";
  const Result<KeyedSnapshotInfo> written = statewatch::WriteKeyedSnapshot(**backend, rewritten);
  FUZZ_CHECK(written.ok(), written.status().ToString());
  std::vector<OwnedEntry> reread_entries;
  const Result<KeyedSnapshotInfo> reread = Read(rewritten, &reread_entries);
  FUZZ_CHECK(reread.ok(), reread.status().ToString());
  std::set<std::string> reread_names;
  for (const StateMeta& s : reread->states) reread_names.insert(s.name);
  FUZZ_CHECK(reread_names == names);
  FUZZ_CHECK(reread->entries <= in_range,
             std::to_string(reread->entries) + " > " + std::to_string(in_range));

  // Registered as a job would, and read.
  for (const StateMeta& meta : reread->states) {
    if (meta.value_serializer == statewatch::Serializer<int64_t>::kId) {
      RegisterAndRead<int64_t>(**backend, meta, entries);
    } else if (meta.value_serializer == statewatch::Serializer<std::string>::kId) {
      RegisterAndRead<std::string>(**backend, meta, entries);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = statewatch::fuzz::AsString(data, size);
  if (bytes.rfind(kSnapshotMagic, 0) == 0) {
    CheckSnapshot(bytes);
    const std::string fixed = FixSnapshotCrcs(bytes);
    if (fixed != bytes) CheckSnapshot(fixed);
  } else {
    CheckMetadata(bytes);
    const std::string fixed = FixMetadataCrc(bytes);
    if (fixed != bytes) CheckMetadata(fixed);
  }
  return 0;
}
