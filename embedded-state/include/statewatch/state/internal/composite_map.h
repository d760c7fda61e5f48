// Internal: the heap backend's hash map from composite (key, namespace) bytes to state entries.
//
// Open addressing with linear probing and backward-shift deletion: the key bytes, the cached
// hash and the entry live inline in one slot array, so a lookup usually costs a single cache
// miss (std::unordered_map costs two or three: bucket array, list node, often a neighbour).
// Keyed state is lookup-dominated — every record reads and writes its key's state. Arrays of
// 2 MiB and more ask the kernel for transparent huge pages: with 4 KiB pages a state of a few
// hundred thousand keys spans thousands of pages and nearly every lookup also misses the TLB.
//
// One map holds all key groups of a state; each slot records its key group, so a key-group
// range is found by one pass over the slots (snapshots and rescaling read whole ranges).
//
// The slot index comes from the high bits of hash·φ (Fibonacci hashing), not the low bits:
// every key of one key group has the same Murmur3 hash modulo max_parallelism, so low bits
// would cluster a key group's keys into a few runs.
//
// Thread-safety: none; owned by one heap state, used by the task thread.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statewatch::internal {

struct CompositeLookup {
  std::string_view bytes;
  uint32_t hash;
};

// Allocates large arrays 2 MiB-aligned and advises transparent huge pages for them.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = 2u << 20;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage)
      return static_cast<T*>(::operator new(bytes, std::align_val_t(alignof(T))));
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without THP it is plain memory
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete(p, std::align_val_t(alignof(T)));
    } else {
      std::free(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <typename E>
class CompositeMap {
 public:
  static constexpr size_t npos = static_cast<size_t>(-1);

  // Not padded to cache lines: measured, the smaller table (less memory, more of it in cache)
  // beats line-aligned 64-byte slots that never straddle two lines.
  struct Slot {
    uint32_t hash = 0;
    uint16_t key_group = 0;
    bool used = false;
    std::string key;
    E value{};
  };

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Slots, used or not; iterate 0..capacity() and skip !used() ones.
  size_t capacity() const { return slots_.size(); }
  bool used(size_t i) const { return slots_[i].used; }
  const std::string& key(size_t i) const { return slots_[i].key; }
  int key_group(size_t i) const { return slots_[i].key_group; }
  uint32_t hash(size_t i) const { return slots_[i].hash; }
  E& value(size_t i) { return slots_[i].value; }
  const E& value(size_t i) const { return slots_[i].value; }

  // Index of the entry for `k`, or npos.
  size_t Find(const CompositeLookup& k) const {
    if (size_ == 0) return npos;
    for (size_t i = Home(k.hash);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.used) return npos;
      if (s.hash == k.hash && s.key == k.bytes) return i;
    }
  }

  // Inserts `value` for `k`, which must be absent (REQUIRES: Find(k) == npos). Returns its index.
  // May move every entry (growth): earlier indices and references are invalid afterwards.
  size_t Insert(const CompositeLookup& k, int key_group, E&& value) {
    if ((size_ + 1) * 8 > slots_.size() * 7) Grow();
    size_t i = Home(k.hash);
    while (slots_[i].used) i = (i + 1) & mask_;
    Slot& s = slots_[i];
    s.key.assign(k.bytes);
    s.value = std::move(value);
    s.hash = k.hash;
    s.key_group = static_cast<uint16_t>(key_group);
    s.used = true;
    ++size_;
    return i;
  }

  // Removes the entry at `i`, shifting later entries of its probe run back so lookups never
  // need tombstones. Entries may move: indices other than `i` are invalid afterwards.
  void EraseAt(size_t i) {
    size_t hole = i;
    for (size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
      const size_t home = Home(slots_[j].hash);
      // Slot j may move into the hole unless its home lies cyclically in (hole, j].
      const bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!stays) {
        slots_[hole] = std::move(slots_[j]);
        hole = j;
      }
    }
    Slot& s = slots_[hole];
    s.used = false;
    s.key.clear();
    s.value = E{};
    --size_;
  }

 private:
  size_t Home(uint32_t hash) const {
    return static_cast<size_t>((static_cast<uint64_t>(hash) * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void Grow() {
    const size_t capacity = slots_.empty() ? 16 : slots_.size() * 2;
    std::vector<Slot, HugePageAllocator<Slot>> old;
    old.swap(slots_);
    slots_.resize(capacity);
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<int>(__builtin_ctzll(capacity));
    for (Slot& s : old) {
      if (!s.used) continue;
      size_t i = Home(s.hash);
      while (slots_[i].used) i = (i + 1) & mask_;
      slots_[i] = std::move(s);
    }
  }

  std::vector<Slot, HugePageAllocator<Slot>> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace statewatch::internal
