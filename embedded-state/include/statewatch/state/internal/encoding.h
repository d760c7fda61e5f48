// Internal: byte layouts shared by the heap and RocksDB backends and by savepoints.
//
//   composite   = varint32(len key) key varint32(len ns) ns        — prefix-free, so
//                 no (key, ns) encoding is a prefix of another's
//   rocksdb key = key group (2 bytes, big-endian) composite [map user key]
//   TTL value   = timestamp (8 bytes, big-endian, ms) payload
//   list value  = { varint32(len element) element }*, element = [timestamp] payload
//
// The key group leads so a key-group range is one contiguous RocksDB key range.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "statewatch/state/key_group.h"

namespace statewatch::internal {

inline constexpr size_t kKeyGroupPrefixBytes = 2;
inline constexpr size_t kTimestampBytes = 8;

inline void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a varint from the front of *in and advances it. False on truncation or overflow.
inline bool GetVarint32(std::string_view* in, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && !in->empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 28 && byte > 0x0f) return false;
    result |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

// Reads a varint-length-prefixed slice from the front of *in.
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* out) {
  uint32_t len = 0;
  if (!GetVarint32(in, &len) || in->size() < len) return false;
  *out = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

inline void PutFixed64BE(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(buf, 8);
}
inline uint64_t GetFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline void PutKeyGroup(std::string* out, int key_group) {
  out->push_back(static_cast<char>((key_group >> 8) & 0xff));
  out->push_back(static_cast<char>(key_group & 0xff));
}
inline int GetKeyGroup(std::string_view in) {
  return (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
}

inline void AppendComposite(std::string* out, std::string_view key, std::string_view ns) {
  PutVarint32(out, static_cast<uint32_t>(key.size()));
  out->append(key);
  PutVarint32(out, static_cast<uint32_t>(ns.size()));
  out->append(ns);
}

// Splits a composite from the front of *in into key and namespace; the rest stays in *in.
inline bool DecodeComposite(std::string_view* in, std::string_view* key, std::string_view* ns) {
  return GetLengthPrefixed(in, key) && GetLengthPrefixed(in, ns);
}

// Hash of a (key, ns) pair: the key's Murmur3 hash (which also picks its key group), chained
// through the namespace when there is one. Heap maps use it with the precomputed key hash.
inline uint32_t HashKeyNs(uint32_t key_hash, std::string_view ns) {
  return ns.empty() ? key_hash : Murmur3Hash32(ns, key_hash);
}
inline uint32_t HashComposite(std::string_view composite) {
  std::string_view key, ns;
  if (!DecodeComposite(&composite, &key, &ns)) return Murmur3Hash32(composite);
  return HashKeyNs(Murmur3Hash32(key), ns);
}

// Smallest string greater than every string with `prefix` as prefix; empty if none exists.
inline std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto last = static_cast<uint8_t>(s.back());
    if (last != 0xff) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

}  // namespace statewatch::internal
