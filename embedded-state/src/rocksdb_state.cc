// The non-template parts of the RocksDB states (rocksdb_state.h): error messages, list framing,
// and the canonical read and write of stored entries.
#include "statewatch/state/internal/rocksdb_state.h"

#include <string>

namespace statewatch::internal {

Status NoCurrentKeyError(const StateMeta& meta) {
  return Status::FailedPrecondition("state '" + meta.name +
                                    "' accessed before SetCurrentKey: no current key");
}

Status UndecodableError(const StateMeta& meta, std::string_view what, std::string_view rocks_key) {
  std::string msg = "state '" + meta.name + "': cannot decode stored " + std::string(what);
  if (rocks_key.size() >= kKeyGroupPrefixBytes) {
    msg += " in key group " + std::to_string(GetKeyGroup(rocks_key));
  }
  msg += " (" + std::to_string(rocks_key.size()) + "-byte key); serializer " +
         meta.value_serializer + " does not match the stored bytes";
  return Status::Corruption(msg);
}

Status KeyTooLargeError(const StateMeta& meta, size_t size, size_t limit) {
  return Status::InvalidArgument("state '" + meta.name + "': map key of " + std::to_string(size) +
                                 " bytes exceeds max_key_bytes (" + std::to_string(limit) + ")");
}

bool ParseListValue(std::string_view value, bool has_ts, std::vector<ListElement>* out) {
  while (!value.empty()) {
    std::string_view element;
    if (!GetLengthPrefixed(&value, &element)) return false;
    ListElement e{0, element};
    if (has_ts) {
      if (element.size() < kTimestampBytes) return false;
      e.ts = static_cast<int64_t>(GetFixed64BE(element.data()));
      e.payload = element.substr(kTimestampBytes);
    }
    out->push_back(e);
  }
  return true;
}

void AppendListElement(std::string* out, bool has_ts, int64_t ts, std::string_view payload) {
  PutVarint32(out, static_cast<uint32_t>(payload.size() + (has_ts ? kTimestampBytes : 0)));
  if (has_ts) PutFixed64BE(out, static_cast<uint64_t>(ts));
  out->append(payload);
}

Status WriteRestoredEntry(RawColumn& column, const StateMeta& meta, const StateEntry& e) {
  std::string key;
  PutKeyGroup(&key, e.key_group);
  AppendComposite(&key, e.key, e.ns);
  key.append(e.user_key);
  const bool has_ts = meta.ttl.enabled();
  const int64_t ts = e.timestamp == StateEntry::kNoTimestamp ? 0 : e.timestamp;
  std::string value;
  if (meta.kind == StateKind::kList) {
    AppendListElement(&value, has_ts, ts, e.value);
    return column.Merge(key, value);
  }
  if (has_ts) PutFixed64BE(&value, static_cast<uint64_t>(ts));
  value.append(e.value);
  return column.Put(key, value);
}

Status ScanRawColumn(RawColumn& column, const StateMeta& meta, const RawScanOptions& options,
                     const StateEntryVisitor& visitor, uint64_t* dropped) {
  const KeyGroupRange& r = options.range;
  if (r.empty()) return Status::OK();
  const bool has_ts = meta.ttl.enabled();
  std::string lower, upper;
  PutKeyGroup(&lower, r.start);
  // Bounded after the last key group too (2^15 - 1 fits): a damaged store's key group beyond
  // every max parallelism is outside the range like any other, not visited as if inside it.
  if (r.end + 1 <= 0xffff) PutKeyGroup(&upper, r.end + 1);
  auto it = column.NewIterator(lower, upper);
  std::vector<ListElement> elements;
  // Returns false to stop; counts what full-snapshot cleanup leaves out.
  StateEntry out;
  const auto emit = [&](int64_t ts, std::string_view payload) {
    if (options.drop_expired && meta.ttl.IsExpired(ts, options.now)) {
      ++*dropped;
      return true;
    }
    out.timestamp = has_ts ? ts : StateEntry::kNoTimestamp;
    out.value = payload;
    return visitor(out);
  };
  for (it->Seek(lower); it->Valid(); it->Next()) {
    std::string_view rest = it->key();
    if (rest.size() < kKeyGroupPrefixBytes) return UndecodableError(meta, "key", it->key());
    out.key_group = GetKeyGroup(rest);
    rest.remove_prefix(kKeyGroupPrefixBytes);
    if (!DecodeComposite(&rest, &out.key, &out.ns)) return UndecodableError(meta, "key", it->key());
    out.user_key = rest;
    const std::string_view stored = it->value();
    if (meta.kind == StateKind::kList) {
      elements.clear();
      if (!ParseListValue(stored, has_ts, &elements)) {
        return UndecodableError(meta, "value", it->key());
      }
      for (const ListElement& e : elements) {
        if (!emit(e.ts, e.payload)) return Status::OK();
      }
      continue;
    }
    int64_t ts = 0;
    std::string_view payload = stored;
    if (has_ts) {
      if (stored.size() < kTimestampBytes) return UndecodableError(meta, "value", it->key());
      ts = static_cast<int64_t>(GetFixed64BE(stored.data()));
      payload.remove_prefix(kTimestampBytes);
    }
    if (!emit(ts, payload)) return Status::OK();
  }
  return it->status();
}

}  // namespace statewatch::internal
