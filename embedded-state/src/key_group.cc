#include "statewatch/state/key_group.h"

#include <algorithm>
#include <cstring>

namespace statewatch {
namespace {
inline uint32_t Rotl32(uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}
}  // namespace

// MurmurHash3_x86_32 (Austin Appleby, public domain), little-endian block reads.
uint32_t Murmur3Hash32(std::string_view data, uint32_t seed) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const size_t len = data.size();
  const size_t nblocks = len / 4;
  uint32_t h1 = seed;
  constexpr uint32_t c1 = 0xcc9e2d51;
  constexpr uint32_t c2 = 0x1b873593;
  for (size_t i = 0; i < nblocks; ++i) {
    uint32_t k1;
    std::memcpy(&k1, bytes + i * 4, 4);
    k1 *= c1;
    k1 = Rotl32(k1, 15);
    k1 *= c2;
    h1 ^= k1;
    h1 = Rotl32(h1, 13);
    h1 = h1 * 5 + 0xe6546b64;
  }
  const uint8_t* tail = bytes + nblocks * 4;
  uint32_t k1 = 0;
  switch (len & 3) {
    case 3:
      k1 ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k1 ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k1 ^= tail[0];
      k1 *= c1;
      k1 = Rotl32(k1, 15);
      k1 *= c2;
      h1 ^= k1;
  }
  h1 ^= static_cast<uint32_t>(len);
  h1 ^= h1 >> 16;
  h1 *= 0x85ebca6b;
  h1 ^= h1 >> 13;
  h1 *= 0xc2b2ae35;
  h1 ^= h1 >> 16;
  return h1;
}

KeyGroupRange KeyGroupRange::Intersect(const KeyGroupRange& o) const {
  KeyGroupRange r{std::max(start, o.start), std::min(end, o.end)};
  return r.empty() ? Empty() : r;
}

std::string KeyGroupRange::ToString() const {
  return "[" + std::to_string(start) + ", " + std::to_string(end) + "]";
}

KeyGroupRange KeyGroupRangeForOperator(int max_parallelism, int parallelism, int index) {
  const int64_t mp = max_parallelism, p = parallelism, i = index;
  const int start = static_cast<int>((i * mp + p - 1) / p);
  const int end = static_cast<int>(((i + 1) * mp - 1) / p);
  return {start, end};
}

int OperatorIndexForKeyGroup(int max_parallelism, int parallelism, int key_group) {
  return static_cast<int>(static_cast<int64_t>(key_group) * parallelism / max_parallelism);
}

}  // namespace statewatch
