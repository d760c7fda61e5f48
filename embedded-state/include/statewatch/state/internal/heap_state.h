// Internal: keyed state kept as C++ objects in per-key-group hash maps (the "hashmap" backend).
//
// Values are stored as objects, never serialized on access; only the key is serialized (once
// per SetCurrentKey, for key-group hashing). Each state owns one open-addressing hash map
// (composite_map.h) keyed by the composite (key, namespace) bytes, with the key's Murmur3 hash
// reused as the map hash (no string built per access) and each entry's key group recorded.
//
// TTL follows Flink's TtlStateFactory decorators: a value carries its timestamp; reading an
// expired value clears it (and returns it once with kReturnExpiredIfNotCleanedUp); List TTL is
// per element and Map TTL per entry.
//
// Thread-safety: task thread only (see state.h); Stats()/Scan() too.
#pragma once

#include <algorithm>
#include <atomic>
#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "statewatch/state/internal/composite_map.h"
#include "statewatch/state/internal/encoding.h"
#include "statewatch/state/internal/key_context.h"
#include "statewatch/state/internal/kv_state.h"
#include "statewatch/state/serializer.h"
#include "statewatch/state/state.h"
#include "statewatch/state/state_descriptor.h"

namespace statewatch::internal {

Status NoCurrentKeyError(const StateMeta& meta);

template <typename T>
struct TtlSlot {
  T value;
  int64_t ts;  // last write (or access) in ms; 0 when TTL is disabled
};

// Map keys hash with std::hash when the type has one, else by their serialized bytes.
template <typename K>
struct MapKeyHash {
  size_t operator()(const K& k) const {
    if constexpr (requires { std::hash<K>{}(k); }) {
      return std::hash<K>{}(k);
    } else {
      return Murmur3Hash32(SerializeToString(k));
    }
  }
};
template <typename K>
struct MapKeyEq {
  bool operator()(const K& a, const K& b) const {
    if constexpr (requires { a == b; }) {
      return a == b;
    } else {
      return SerializeToString(a) == SerializeToString(b);
    }
  }
};

// What every heap state shares: the state's table, current-key lookup, TTL clock reads,
// incremental cleanup and the scan/stats scaffolding. E is the stored entry type.
template <typename E, typename Iface>
class HeapStateBase : public Iface, public KvStateImpl {
 public:
  using Map = CompositeMap<E>;
  static constexpr size_t npos = Map::npos;

  HeapStateBase(const BackendEnv& env, StateMeta meta)
      : env_(env), meta_(std::move(meta)), ttl_(meta_.ttl) {}

  const StateMeta& meta() const override { return meta_; }
  State* AsState() override { return this; }

  Status Clear() override {
    if (!HasKey()) return NoCurrentKeyError(meta_);
    auto& m = CurrentMap();
    const size_t i = FindCurrent(m);
    if (i != npos) Erase(m, i);
    AfterAccess();
    return Status::OK();
  }

  void RunIncrementalCleanup() override {
    if (ttl_.enabled() && ttl_.cleanup_incremental)
      CleanupIncrementally(ttl_.incremental_cleanup_size);
  }

  Status Scan(const ScanOptions& options, const StateEntryVisitor& visitor) override {
    KeyGroupRange r = options.range.empty() ? env_.range : options.range.Intersect(env_.range);
    const bool drop_expired = options.for_snapshot && ttl_.enabled() && ttl_.cleanup_full_snapshot;
    // A fresh reading: scans run outside any record (snapshots, other threads).
    const int64_t now = ttl_.enabled() ? env_.clock->NowMillis() : 0;
    uint64_t dropped = 0;
    std::string scratch_key, scratch_value;
    // Slots of the range, in key-group order (a counting sort by key group).
    std::vector<std::vector<size_t>> by_group(static_cast<size_t>(r.size()));
    for (size_t i = 0; i < map_.capacity(); ++i) {
      if (map_.used(i) && r.Contains(map_.key_group(i))) {
        by_group[static_cast<size_t>(map_.key_group(i) - r.start)].push_back(i);
      }
    }
    Map& m = map_;
    for (int kg = r.start; kg <= r.end; ++kg) {
      for (size_t i : by_group[static_cast<size_t>(kg - r.start)]) {
        std::string_view rest = m.key(i);
        StateEntry out;
        out.key_group = kg;
        if (!DecodeComposite(&rest, &out.key, &out.ns)) {
          return Status::Corruption("heap state '" + meta_.name + "': bad composite key");
        }
        bool go_on = true;
        auto emit = [&](int64_t ts) -> bool {
          if (drop_expired && ttl_.IsExpired(ts, now)) {
            ++dropped;
            return false;
          }
          out.timestamp = ttl_.enabled() ? ts : StateEntry::kNoTimestamp;
          return true;
        };
        go_on = EmitEntries(m.value(i), out, emit, scratch_key, scratch_value, visitor);
        if (!go_on) {
          TtlCounters::Add(counters_.full_snapshot, dropped);
          return Status::OK();
        }
      }
    }
    TtlCounters::Add(counters_.full_snapshot, dropped);
    return Status::OK();
  }

  Status RestoreEntry(const StateEntry& in) override {
    std::string composite;
    AppendComposite(&composite, in.key, in.ns);
    uint32_t hash = Murmur3Hash32(in.key);
    if (!in.ns.empty()) hash = HashKeyNs(hash, in.ns);
    const CompositeLookup k{composite, hash};
    Map& m = map_;
    size_t i = m.Find(k);
    if (i == npos) {
      cached_epoch_ = 0;
      i = m.Insert(k, in.key_group, E{});
      keys_.store(keys_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    const int64_t ts =
        ttl_.enabled() && in.timestamp != StateEntry::kNoTimestamp ? in.timestamp : 0;
    if (!RestoreInto(m.value(i), in, ts)) {
      return Status::Corruption("restoring state '" + meta_.name + "': an entry does not decode");
    }
    return Status::OK();
  }

  Result<StateStats> Stats() override {
    StateStats s;
    s.name = meta_.name;
    s.kind = meta_.kind;
    s.ttl = ttl_;
    s.keys = keys_.load(std::memory_order_relaxed);
    std::string scratch;
    for (size_t i = 0; i < map_.capacity(); ++i) {
      if (!map_.used(i)) continue;
      s.entries += CountEntries(map_.value(i));
      s.approx_bytes += map_.key(i).size() + EntryBytes(map_.value(i), scratch);
    }
    s.expired_removed.on_read = counters_.on_read.load(std::memory_order_relaxed);
    s.expired_removed.full_snapshot = counters_.full_snapshot.load(std::memory_order_relaxed);
    s.expired_removed.incremental = counters_.incremental.load(std::memory_order_relaxed);
    return s;
  }

 protected:
  // Entry-type hooks for cleanup, scan and stats.
  // Removes expired parts of `e`; returns how many values/elements/entries were removed.
  virtual uint64_t PruneExpired(E& e, int64_t now) = 0;
  virtual bool EntryEmpty(const E& e) const = 0;
  virtual uint64_t CountEntries(const E& e) const = 0;
  virtual uint64_t EntryBytes(const E& e, std::string& scratch) const = 0;
  // Calls visitor for each canonical entry in `e`; `keep(ts)` decides snapshot filtering and
  // fills out.timestamp. Returns false when the visitor asked to stop.
  virtual bool EmitEntries(E& e, StateEntry& out, const std::function<bool(int64_t)>& keep,
                           std::string& scratch_key, std::string& scratch_value,
                           const StateEntryVisitor& visitor) = 0;
  // Adds a snapshot entry's value (and map key) to `e`; false when they do not decode.
  virtual bool RestoreInto(E& e, const StateEntry& in, int64_t ts) = 0;

  bool HasKey() const { return env_.key->key_group >= 0; }
  int64_t Now() const { return env_.Now(); }
  int64_t WriteTimestamp() const { return ttl_.enabled() ? Now() : 0; }
  bool UpdateOnRead() const { return ttl_.update_type == TtlUpdateType::kOnReadAndWrite; }
  bool ReturnExpired() const {
    return ttl_.visibility == TtlVisibility::kReturnExpiredIfNotCleanedUp;
  }

  CompositeLookup Lookup() {
    if (this->namespace_.empty()) return {env_.key->composite, env_.key->hash};
    scratch_.clear();
    AppendComposite(&scratch_, env_.key->key, this->namespace_);
    return {scratch_, HashKeyNs(env_.key->hash, this->namespace_)};
  }
  Map& CurrentMap() { return map_; }

  // The current (key, namespace)'s index in `m` (the state's table), or npos.
  // Remembers the answer for the void namespace until the key changes or an entry moves, so a
  // read-modify-write (Value() then Update()) probes the map once.
  size_t FindCurrent(const Map& m) {
    if (this->namespace_.empty()) {
      if (cached_epoch_ == env_.key->epoch) return cached_index_;
      cached_index_ = m.Find({env_.key->composite, env_.key->hash});
      cached_epoch_ = env_.key->epoch;
      return cached_index_;
    }
    return m.Find(Lookup());
  }

  // REQUIRES: k absent from m.
  E& Insert(Map& m, const CompositeLookup& k, E&& e) {
    cached_epoch_ = 0;  // growth may move every entry
    const size_t i = m.Insert(k, env_.key->key_group, std::move(e));
    keys_.store(keys_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return m.value(i);
  }
  void Erase(Map& m, size_t i) {
    cached_epoch_ = 0;  // erasure shifts entries
    m.EraseAt(i);
    keys_.store(keys_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }

  // Called at the end of every access: Flink's incremental cleanup checks a few more entries.
  void AfterAccess() {
    if (ttl_.cleanup_incremental && ttl_.enabled())
      CleanupIncrementally(ttl_.incremental_cleanup_size);
  }

  // Walks slots from a cursor that survives growth and erasure, so successive calls sweep the
  // whole state. Bounded: at most `n` entries and 16·n slots.
  void CleanupIncrementally(int n) {
    if (map_.empty() || n <= 0) return;
    const int64_t now = Now();
    uint64_t removed = 0;
    int entries = 0;
    const size_t max_slots = 16 * static_cast<size_t>(n);
    doomed_.clear();
    for (size_t slots = 0; entries < n && slots < max_slots; ++slots) {
      if (cursor_slot_ >= map_.capacity()) cursor_slot_ = 0;
      if (map_.used(cursor_slot_)) {
        ++entries;
        E& e = map_.value(cursor_slot_);
        removed += PruneExpired(e, now);
        if (EntryEmpty(e)) doomed_.emplace_back(map_.key(cursor_slot_), map_.hash(cursor_slot_));
      }
      ++cursor_slot_;
    }
    // Erasing shifts entries, so emptied entries are collected first and erased by key.
    for (const auto& [key, hash] : doomed_) {
      const size_t i = map_.Find({key, hash});
      if (i != npos) Erase(map_, i);
    }
    TtlCounters::Add(counters_.incremental, removed);
  }

  BackendEnv env_;
  StateMeta meta_;
  const TtlConfig ttl_;
  TtlCounters counters_;

 private:
  Map map_;  // every key group of the backend's range
  std::atomic<uint64_t> keys_{0};
  std::string scratch_;
  uint64_t cached_epoch_ = 0;  // KeyContext::epoch of cached_index_; 0 = nothing cached
  size_t cached_index_ = 0;
  size_t cursor_slot_ = 0;
  std::vector<std::pair<std::string, uint32_t>> doomed_;
};

// Value, Reducing and Aggregating states: one TtlSlot<T> per (key, namespace).
template <typename T, typename Iface>
class HeapSingleSlotState : public HeapStateBase<TtlSlot<T>, Iface> {
  using Base = HeapStateBase<TtlSlot<T>, Iface>;

 public:
  using Base::Base;

 protected:
  // The current value after TTL rules; `visible_if_expired` applies kReturnExpiredIfNotCleanedUp
  // (reads yes; read-modify-write paths such as Add() never build on an expired value).
  Result<T> ReadSlot(bool visible_if_expired) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    auto& m = this->CurrentMap();
    const size_t i = this->FindCurrent(m);
    if (i == Base::npos) {
      this->AfterAccess();
      return Status::NotFound("");
    }
    TtlSlot<T>& slot = m.value(i);
    if (this->ttl_.enabled()) {
      const int64_t now = this->Now();
      if (this->ttl_.IsExpired(slot.ts, now)) {
        this->counters_.on_read.fetch_add(1, std::memory_order_relaxed);
        T expired = std::move(slot.value);
        this->Erase(m, i);
        this->AfterAccess();
        if (visible_if_expired && this->ReturnExpired()) return expired;
        return Status::NotFound("");
      }
      if (this->UpdateOnRead()) slot.ts = now;
    }
    T out = slot.value;
    this->AfterAccess();
    return out;
  }

  Status WriteSlot(T value) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    auto& m = this->CurrentMap();
    const auto k = this->Lookup();
    const size_t i = this->FindCurrent(m);
    if (i != Base::npos) {
      TtlSlot<T>& slot = m.value(i);
      slot.value = std::move(value);
      slot.ts = this->WriteTimestamp();
    } else {
      this->Insert(m, k, TtlSlot<T>{std::move(value), this->WriteTimestamp()});
    }
    this->AfterAccess();
    return Status::OK();
  }

  uint64_t PruneExpired(TtlSlot<T>& e, int64_t now) override {
    if (!this->ttl_.IsExpired(e.ts, now)) return 0;
    e.ts = kPruned;
    return 1;
  }
  bool EntryEmpty(const TtlSlot<T>& e) const override { return e.ts == kPruned; }
  uint64_t CountEntries(const TtlSlot<T>&) const override { return 1; }
  uint64_t EntryBytes(const TtlSlot<T>& e, std::string& scratch) const override {
    scratch.clear();
    Serializer<T>::Serialize(e.value, &scratch);
    return scratch.size() + (this->ttl_.enabled() ? kTimestampBytes : 0);
  }
  bool EmitEntries(TtlSlot<T>& e, StateEntry& out, const std::function<bool(int64_t)>& keep,
                   std::string&, std::string& scratch_value,
                   const StateEntryVisitor& visitor) override {
    if (!keep(e.ts)) return true;
    scratch_value.clear();
    Serializer<T>::Serialize(e.value, &scratch_value);
    out.value = scratch_value;
    return visitor(out);
  }
  bool RestoreInto(TtlSlot<T>& e, const StateEntry& in, int64_t ts) override {
    if (!Serializer<T>::Deserialize(in.value, &e.value)) return false;
    e.ts = ts;
    return true;
  }

 private:
  // Marks a slot for removal by incremental cleanup (ts values are ≥ 0 otherwise).
  static constexpr int64_t kPruned = INT64_MIN;
};

template <typename T>
class HeapValueState final : public HeapSingleSlotState<T, ValueState<T>> {
 public:
  HeapValueState(const BackendEnv& env, const ValueStateDescriptor<T>& d)
      : HeapSingleSlotState<T, ValueState<T>>(env, d.meta()) {}
  Result<T> Value() override { return this->ReadSlot(true); }
  Status Update(const T& value) override { return this->WriteSlot(value); }
};

template <typename T>
class HeapReducingState final : public HeapSingleSlotState<T, ReducingState<T>> {
 public:
  HeapReducingState(const BackendEnv& env, const ReducingStateDescriptor<T>& d)
      : HeapSingleSlotState<T, ReducingState<T>>(env, d.meta()), reduce_(d.reduce_function()) {}
  Result<T> Get() override { return this->ReadSlot(true); }
  Status Add(const T& value) override {
    Result<T> current = this->ReadSlot(false);
    if (current.ok()) return this->WriteSlot(reduce_(*current, value));
    if (!current.status().IsNotFound()) return current.status();
    return this->WriteSlot(value);
  }

 private:
  ReduceFunction<T> reduce_;
};

template <typename IN, typename ACC, typename OUT>
class HeapAggregatingState final : public HeapSingleSlotState<ACC, AggregatingState<IN, OUT>> {
 public:
  HeapAggregatingState(const BackendEnv& env, const AggregatingStateDescriptor<IN, ACC, OUT>& d)
      : HeapSingleSlotState<ACC, AggregatingState<IN, OUT>>(env, d.meta()),
        fn_(d.aggregate_function()) {}
  Result<OUT> Get() override {
    Result<ACC> acc = this->ReadSlot(true);
    if (!acc.ok()) return acc.status();
    return fn_->GetResult(*acc);
  }
  Status Add(const IN& value) override {
    Result<ACC> acc = this->ReadSlot(false);
    if (!acc.ok() && !acc.status().IsNotFound()) return acc.status();
    return this->WriteSlot(fn_->Add(value, acc.ok() ? std::move(*acc) : fn_->CreateAccumulator()));
  }

 private:
  std::shared_ptr<const AggregateFunction<IN, ACC, OUT>> fn_;
};

template <typename T>
class HeapListState final : public HeapStateBase<std::vector<TtlSlot<T>>, ListState<T>> {
  using Elements = std::vector<TtlSlot<T>>;
  using Base = HeapStateBase<Elements, ListState<T>>;

 public:
  HeapListState(const BackendEnv& env, const ListStateDescriptor<T>& d) : Base(env, d.meta()) {}

  Result<std::vector<T>> Get() override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    std::vector<T> out;
    auto& m = this->CurrentMap();
    const size_t i = this->FindCurrent(m);
    if (i == Base::npos) {
      this->AfterAccess();
      return out;
    }
    Elements& elements = m.value(i);
    out.reserve(elements.size());
    if (!this->ttl_.enabled()) {
      for (const auto& e : elements) out.push_back(e.value);
    } else {
      const int64_t now = this->Now();
      size_t kept = 0;
      for (auto& e : elements) {
        if (this->ttl_.IsExpired(e.ts, now)) {
          if (this->ReturnExpired()) out.push_back(std::move(e.value));
          continue;
        }
        if (this->UpdateOnRead()) e.ts = now;
        out.push_back(e.value);
        if (&elements[kept] != &e) elements[kept] = std::move(e);
        ++kept;
      }
      TtlCounters::Add(this->counters_.on_read, elements.size() - kept);
      elements.resize(kept);
      if (elements.empty()) this->Erase(m, i);
    }
    this->AfterAccess();
    return out;
  }

  Status Add(const T& value) override { return Append(&value, 1); }
  Status AddAll(const std::vector<T>& values) override {
    return Append(values.data(), values.size());
  }
  Status Update(const std::vector<T>& values) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    auto& m = this->CurrentMap();
    auto k = this->Lookup();
    const size_t i = this->FindCurrent(m);
    if (values.empty()) {
      if (i != Base::npos) this->Erase(m, i);
      this->AfterAccess();
      return Status::OK();
    }
    Elements fresh;
    fresh.reserve(values.size());
    const int64_t ts = this->WriteTimestamp();
    for (const auto& v : values) fresh.push_back(TtlSlot<T>{v, ts});
    if (i != Base::npos) {
      m.value(i) = std::move(fresh);
    } else {
      this->Insert(m, k, std::move(fresh));
    }
    this->AfterAccess();
    return Status::OK();
  }

 protected:
  Status Append(const T* values, size_t n) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    if (n == 0) return Status::OK();
    auto& m = this->CurrentMap();
    auto k = this->Lookup();
    const size_t i = this->FindCurrent(m);
    Elements& elements = i != Base::npos ? m.value(i) : this->Insert(m, k, Elements{});
    const int64_t ts = this->WriteTimestamp();
    for (size_t v = 0; v < n; ++v) elements.push_back(TtlSlot<T>{values[v], ts});
    this->AfterAccess();
    return Status::OK();
  }

  uint64_t PruneExpired(Elements& e, int64_t now) override {
    const size_t before = e.size();
    std::erase_if(e, [&](const TtlSlot<T>& s) { return this->ttl_.IsExpired(s.ts, now); });
    return before - e.size();
  }
  bool EntryEmpty(const Elements& e) const override { return e.empty(); }
  uint64_t CountEntries(const Elements& e) const override { return e.size(); }
  uint64_t EntryBytes(const Elements& e, std::string& scratch) const override {
    uint64_t bytes = 0;
    for (const auto& s : e) {
      scratch.clear();
      Serializer<T>::Serialize(s.value, &scratch);
      bytes += scratch.size() + (this->ttl_.enabled() ? kTimestampBytes : 0);
    }
    return bytes;
  }
  bool EmitEntries(Elements& e, StateEntry& out, const std::function<bool(int64_t)>& keep,
                   std::string&, std::string& scratch_value,
                   const StateEntryVisitor& visitor) override {
    for (const auto& s : e) {
      if (!keep(s.ts)) continue;
      scratch_value.clear();
      Serializer<T>::Serialize(s.value, &scratch_value);
      out.value = scratch_value;
      if (!visitor(out)) return false;
    }
    return true;
  }
  bool RestoreInto(Elements& e, const StateEntry& in, int64_t ts) override {
    TtlSlot<T> slot{T(), ts};
    if (!Serializer<T>::Deserialize(in.value, &slot.value)) return false;
    e.push_back(std::move(slot));
    return true;
  }
};

template <typename K, typename V>
class HeapMapState final
    : public HeapStateBase<std::unordered_map<K, TtlSlot<V>, MapKeyHash<K>, MapKeyEq<K>>,
                           MapState<K, V>> {
  using Inner = std::unordered_map<K, TtlSlot<V>, MapKeyHash<K>, MapKeyEq<K>>;
  using Base = HeapStateBase<Inner, MapState<K, V>>;

 public:
  HeapMapState(const BackendEnv& env, const MapStateDescriptor<K, V>& d) : Base(env, d.meta()) {}

  Result<V> Get(const K& user_key) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    auto& m = this->CurrentMap();
    const size_t i = this->FindCurrent(m);
    if (i == Base::npos) {
      this->AfterAccess();
      return Status::NotFound("");
    }
    Inner& inner = m.value(i);
    auto e = inner.find(user_key);
    if (e == inner.end()) {
      this->AfterAccess();
      return Status::NotFound("");
    }
    if (this->ttl_.enabled()) {
      const int64_t now = this->Now();
      if (this->ttl_.IsExpired(e->second.ts, now)) {
        this->counters_.on_read.fetch_add(1, std::memory_order_relaxed);
        V expired = std::move(e->second.value);
        inner.erase(e);
        if (inner.empty()) this->Erase(m, i);
        this->AfterAccess();
        if (this->ReturnExpired()) return expired;
        return Status::NotFound("");
      }
      if (this->UpdateOnRead()) e->second.ts = now;
    }
    V out = e->second.value;
    this->AfterAccess();
    return out;
  }

  Status Put(const K& user_key, const V& value) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    auto& m = this->CurrentMap();
    auto k = this->Lookup();
    const size_t i = this->FindCurrent(m);
    Inner& inner = i != Base::npos ? m.value(i) : this->Insert(m, k, Inner{});
    inner.insert_or_assign(user_key, TtlSlot<V>{value, this->WriteTimestamp()});
    this->AfterAccess();
    return Status::OK();
  }

  Status PutAll(const std::vector<std::pair<K, V>>& entries) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    if (entries.empty()) return Status::OK();
    auto& m = this->CurrentMap();
    auto k = this->Lookup();
    const size_t i = this->FindCurrent(m);
    Inner& inner = i != Base::npos ? m.value(i) : this->Insert(m, k, Inner{});
    const int64_t ts = this->WriteTimestamp();
    for (const auto& [uk, v] : entries) inner.insert_or_assign(uk, TtlSlot<V>{v, ts});
    this->AfterAccess();
    return Status::OK();
  }

  Status Remove(const K& user_key) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    auto& m = this->CurrentMap();
    const size_t i = this->FindCurrent(m);
    if (i != Base::npos) {
      m.value(i).erase(user_key);
      if (m.value(i).empty()) this->Erase(m, i);
    }
    this->AfterAccess();
    return Status::OK();
  }

  Result<bool> IsEmpty() override {
    bool empty = true;
    Status s = Visit(
        [&](const K&, const V&) {
          empty = false;
          return false;
        },
        /*include_expired_visible=*/false);
    if (!s.ok()) return s;
    return empty;
  }

  Status ForEach(const std::function<bool(const K&, const V&)>& visitor) override {
    return Visit(visitor, /*include_expired_visible=*/true);
  }

 protected:
  // Visits live entries; removes expired ones afterwards (visiting them first if visibility
  // allows and `include_expired_visible`).
  Status Visit(const std::function<bool(const K&, const V&)>& visitor,
               bool include_expired_visible) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    auto& m = this->CurrentMap();
    const size_t i = this->FindCurrent(m);
    if (i == Base::npos) {
      this->AfterAccess();
      return Status::OK();
    }
    Inner& inner = m.value(i);
    const bool ttl = this->ttl_.enabled();
    const int64_t now = ttl ? this->Now() : 0;
    uint64_t expired = 0;
    for (auto e = inner.begin(); e != inner.end();) {
      if (ttl && this->ttl_.IsExpired(e->second.ts, now)) {
        const bool show = include_expired_visible && this->ReturnExpired();
        bool go_on = true;
        if (show) go_on = visitor(e->first, e->second.value);
        e = inner.erase(e);
        ++expired;
        if (!go_on) break;
        continue;
      }
      if (ttl && this->UpdateOnRead()) e->second.ts = now;
      if (!visitor(e->first, e->second.value)) break;
      ++e;
    }
    TtlCounters::Add(this->counters_.on_read, expired);
    if (inner.empty()) this->Erase(m, i);
    this->AfterAccess();
    return Status::OK();
  }

  uint64_t PruneExpired(Inner& e, int64_t now) override {
    return std::erase_if(e,
                         [&](const auto& kv) { return this->ttl_.IsExpired(kv.second.ts, now); });
  }
  bool EntryEmpty(const Inner& e) const override { return e.empty(); }
  uint64_t CountEntries(const Inner& e) const override { return e.size(); }
  uint64_t EntryBytes(const Inner& e, std::string& scratch) const override {
    uint64_t bytes = 0;
    for (const auto& [uk, s] : e) {
      scratch.clear();
      Serializer<K>::Serialize(uk, &scratch);
      Serializer<V>::Serialize(s.value, &scratch);
      bytes += scratch.size() + (this->ttl_.enabled() ? kTimestampBytes : 0);
    }
    return bytes;
  }
  bool EmitEntries(Inner& e, StateEntry& out, const std::function<bool(int64_t)>& keep,
                   std::string& scratch_key, std::string& scratch_value,
                   const StateEntryVisitor& visitor) override {
    for (const auto& [uk, s] : e) {
      if (!keep(s.ts)) continue;
      scratch_key.clear();
      Serializer<K>::Serialize(uk, &scratch_key);
      scratch_value.clear();
      Serializer<V>::Serialize(s.value, &scratch_value);
      out.user_key = scratch_key;
      out.value = scratch_value;
      if (!visitor(out)) return false;
    }
    return true;
  }
  bool RestoreInto(Inner& e, const StateEntry& in, int64_t ts) override {
    K user_key;
    TtlSlot<V> slot{V(), ts};
    if (!Serializer<K>::Deserialize(in.user_key, &user_key) ||
        !Serializer<V>::Deserialize(in.value, &slot.value)) {
      return false;
    }
    e.insert_or_assign(std::move(user_key), std::move(slot));
    return true;
  }
};

}  // namespace statewatch::internal
