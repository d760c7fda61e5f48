// Keyed snapshots: every keyed state of a backend in statewatch's canonical, backend-neutral
// form (per state, per key group: serialized key, namespace, map key, value and TTL timestamp)
// — the format of savepoints and of the heap backend's full checkpoints (issue #4). A snapshot
// written from the heap backend reads the same as one from RocksDB with the same contents.
//
// File layout. Fixed-width integers are little-endian; `str` is a varint32 length then bytes.
//   magic "SWKEYSNP" (8 bytes)
//   record*:  fixed32 payload length | u8 type | payload | fixed32 CRC-32C of (type, payload)
//   record types (on-disk values: never renumber):
//     1 header   varint32 format version | str backend | varint32 max_parallelism |
//                varint32 key-group start | varint32 key-group end + 1
//     2 state    str name | u8 StateKind | str value serializer | str map-key serializer |
//                fixed64 ttl ms | u8 update type | u8 visibility | u8 cleanup flags |
//                varint32 incremental cleanup size | varint32 compaction query interval
//     3 entries  of the latest state record: { varint32 key group | str key | str namespace |
//                str map key | str value | u8 has timestamp | [fixed64 timestamp] }*
//     4 end      varint32 states | fixed64 entries
// The header comes first, the end record last; a file without an end record is truncated.
// Entries are written in blocks of about 64 KiB, so a state of any size streams through a
// bounded buffer on both sides.
//
// Thread-safety: as KeyedStateBackend::ScanState for the writer (heap backend: the task thread,
// or while it is paused); the reader touches nothing shared.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "statewatch/state/key_group.h"
#include "statewatch/state/keyed_state_backend.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/status.h"

namespace statewatch {

inline constexpr uint32_t kKeyedSnapshotFormatVersion = 1;

// What a snapshot holds, besides its entries.
struct KeyedSnapshotInfo {
  uint32_t format_version = kKeyedSnapshotFormatVersion;
  std::string backend;  // the backend it was written from ("hashmap", "rocksdb")
  int max_parallelism = 0;
  KeyGroupRange key_group_range;
  std::vector<StateMeta> states;  // in file order
  uint64_t entries = 0;
  uint64_t file_bytes = 0;
  uint32_t file_crc32c = 0;  // CRC-32C of the whole file; set by the writer only
};

// Writes every keyed state of `backend` to `path`: first to `path`.inprogress, fsync'd, then
// renamed over `path` and the directory fsync'd — a crash leaves the old file or the new one,
// never half of one. Expired entries of states with full-snapshot cleanup are left out (and
// counted in their stats). IOError naming the file and the reason (no such directory,
// permission, disk full); the temporary file is removed on error.
Result<KeyedSnapshotInfo> WriteKeyedSnapshot(KeyedStateBackend& backend, const std::string& path);

// Called for each entry, with the meta of the state it belongs to; the entry's views are valid
// only during the call. A non-OK status stops the read and is returned.
using KeyedSnapshotVisitor = std::function<Status(const StateMeta&, const StateEntry&)>;

// Reads and verifies a snapshot, handing each entry to `visit` (may be empty: verify only).
// IOError when the file cannot be read; NotSupported for another format version; Corruption
// naming the file and byte offset for a bad magic, a checksum mismatch, a malformed record or
// a truncated file. Entries before the error may already have been visited.
Result<KeyedSnapshotInfo> ReadKeyedSnapshot(const std::string& path,
                                            const KeyedSnapshotVisitor& visit);

// A keyed snapshot file as a source for KeyedStateBackend::RestoreFrom.
KeyedStateBackend::RestoreSource KeyedSnapshotRestoreSource(const std::string& path);

}  // namespace statewatch
