// Internal: little-endian fixed-width integers, strings and the StateMeta record shared by the
// keyed snapshot and checkpoint metadata formats (keyed_snapshot.h, checkpoint.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "statewatch/state/internal/encoding.h"
#include "statewatch/state/state_descriptor.h"

namespace statewatch::internal {

enum SnapshotCleanupFlags : uint8_t {
  kFullSnapshot = 1,
  kIncremental = 2,
  kEveryRecord = 4,
  kCompactionFilter = 8,
};

inline void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 7; i >= 0; --i) *v = (*v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  return true;
}
inline bool GetByte(std::string_view* in, uint8_t* v) {
  if (in->empty()) return false;
  *v = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  return true;
}
inline void PutString(std::string* out, std::string_view s) {
  PutVarint32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

inline std::string EncodeStateMeta(const StateMeta& m) {
  std::string out;
  PutString(&out, m.name);
  out.push_back(static_cast<char>(m.kind));
  PutString(&out, m.value_serializer);
  PutString(&out, m.user_key_serializer);
  const TtlConfig& t = m.ttl;
  PutFixed64(&out, static_cast<uint64_t>(t.ttl.count()));
  out.push_back(static_cast<char>(t.update_type));
  out.push_back(static_cast<char>(t.visibility));
  uint8_t flags = 0;
  if (t.cleanup_full_snapshot) flags |= kFullSnapshot;
  if (t.cleanup_incremental) flags |= kIncremental;
  if (t.incremental_cleanup_every_record) flags |= kEveryRecord;
  if (t.cleanup_compaction_filter) flags |= kCompactionFilter;
  out.push_back(static_cast<char>(flags));
  PutVarint32(&out, static_cast<uint32_t>(t.incremental_cleanup_size));
  PutVarint32(&out, static_cast<uint32_t>(t.compaction_query_time_after));
  return out;
}

inline bool DecodeStateMeta(std::string_view in, StateMeta* m) {
  std::string_view name, value_ser, key_ser;
  uint8_t kind = 0, update = 0, visibility = 0, flags = 0;
  uint64_t ttl = 0;
  uint32_t incremental = 0, query = 0;
  if (!GetLengthPrefixed(&in, &name) || !GetByte(&in, &kind) ||
      !GetLengthPrefixed(&in, &value_ser) || !GetLengthPrefixed(&in, &key_ser) ||
      !GetFixed64(&in, &ttl) || !GetByte(&in, &update) || !GetByte(&in, &visibility) ||
      !GetByte(&in, &flags) || !GetVarint32(&in, &incremental) || !GetVarint32(&in, &query) ||
      !in.empty()) {
    return false;
  }
  if (kind < static_cast<uint8_t>(StateKind::kValue) ||
      kind > static_cast<uint8_t>(StateKind::kAggregating) || update < 1 || update > 2 ||
      visibility < 1 || visibility > 2 || static_cast<int64_t>(ttl) < 0 || name.empty()) {
    return false;
  }
  m->name = name;
  m->kind = static_cast<StateKind>(kind);
  m->value_serializer = value_ser;
  m->user_key_serializer = key_ser;
  m->ttl.ttl = std::chrono::milliseconds(static_cast<int64_t>(ttl));
  m->ttl.update_type = static_cast<TtlUpdateType>(update);
  m->ttl.visibility = static_cast<TtlVisibility>(visibility);
  m->ttl.cleanup_full_snapshot = (flags & kFullSnapshot) != 0;
  m->ttl.cleanup_incremental = (flags & kIncremental) != 0;
  m->ttl.incremental_cleanup_every_record = (flags & kEveryRecord) != 0;
  m->ttl.cleanup_compaction_filter = (flags & kCompactionFilter) != 0;
  m->ttl.incremental_cleanup_size = static_cast<int>(incremental);
  m->ttl.compaction_query_time_after = static_cast<int>(query);
  return true;
}

}  // namespace statewatch::internal
