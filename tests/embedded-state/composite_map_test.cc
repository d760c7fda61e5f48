// CompositeMap (the heap backend's open-addressing table) against std::unordered_map as oracle:
// random inserts, lookups and backward-shift erasures, including keys that share a key group.
#include "statewatch/state/internal/composite_map.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

#include "statewatch/state/internal/encoding.h"
#include "statewatch/state/serializer.h"

namespace statewatch::internal {
namespace {

std::string Composite(int64_t key) {
  std::string out;
  AppendComposite(&out, SerializeToString(key), {});
  return out;
}

TEST(CompositeMapTest, MatchesUnorderedMapUnderRandomOperations) {
  CompositeMap<int64_t> map;
  std::unordered_map<std::string, int64_t> oracle;
  std::mt19937_64 rng(3);
  for (int op = 0; op < 200'000; ++op) {
    const int64_t k = static_cast<int64_t>(rng() % 5000);
    const std::string c = Composite(k);
    const CompositeLookup lookup{c, HashComposite(c)};
    const size_t i = map.Find(lookup);
    auto it = oracle.find(c);
    ASSERT_EQ(i != CompositeMap<int64_t>::npos, it != oracle.end()) << "op " << op;
    switch (rng() % 3) {
      case 0:
      case 1:  // insert or update
        if (i == CompositeMap<int64_t>::npos) {
          map.value(map.Insert(lookup, 0, int64_t{k})) += 1;
          oracle[c] = k + 1;
        } else {
          map.value(i) += 1;
          it->second += 1;
        }
        break;
      case 2:  // erase
        if (i != CompositeMap<int64_t>::npos) {
          map.EraseAt(i);
          oracle.erase(it);
        }
        break;
    }
    ASSERT_EQ(map.size(), oracle.size());
  }
  size_t seen = 0;
  for (size_t i = 0; i < map.capacity(); ++i) {
    if (!map.used(i)) continue;
    ++seen;
    auto it = oracle.find(map.key(i));
    ASSERT_NE(it, oracle.end());
    EXPECT_EQ(map.value(i), it->second);
    EXPECT_EQ(map.Find({map.key(i), HashComposite(map.key(i))}), i);
  }
  EXPECT_EQ(seen, oracle.size());
}

TEST(CompositeMapTest, KeysOfOneKeyGroupDoNotCluster) {
  // All keys here hash to the same value modulo 128 (one key group). Probe runs must stay short.
  CompositeMap<int> map;
  int inserted = 0;
  for (int64_t k = 0; inserted < 4096; ++k) {
    const std::string c = Composite(k);
    const uint32_t h = HashComposite(c);
    if (h % 128 != 5) continue;
    map.Insert({c, h}, 5, 1);
    ++inserted;
  }
  // Longest run of consecutive used slots: linear probing with a good spread keeps it small.
  size_t longest = 0, run = 0;
  for (size_t i = 0; i < map.capacity(); ++i) {
    run = map.used(i) ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  EXPECT_LT(longest, 200u) << "capacity " << map.capacity();
}

}  // namespace
}  // namespace statewatch::internal
