// Operator state and broadcast state: per-operator-instance state that is not keyed (Flink's
// OperatorStateBackend, ListState via getListState/getUnionListState, and BroadcastState).
//
//   OperatorStateBackend backend;                              // one per operator instance
//   auto offsets = backend.GetListState<int64_t>("offsets");   // Result<OperatorListState<…>*>
//   (*offsets)->Add(4711);
//   auto rules = backend.GetBroadcastState<std::string, int64_t>("limits");
//   (*rules)->Put("orders", 1000);
//
//   // checkpoint: every instance snapshots; the bytes are backend-neutral
//   Result<OperatorStateSnapshot> snap = backend.Snapshot();
//   std::string bytes = EncodeOperatorStateSnapshot(*snap);
//
//   // restore at a new parallelism: redistribute all old instances' snapshots, then
//   // new instance i restores parts[i] (before or after it asks for its states)
//   auto parts = RedistributeOperatorState({snap0, snap1, snap2}, /*new_parallelism=*/2);
//   OperatorStateBackend restored;
//   restored.Restore((*parts)[i]);
//
// Each state is a list or a map kept on the heap as live C++ objects: reads and writes never
// serialize. Serializer<T> is used only when snapshotting and restoring. How a state is
// redistributed when the parallelism changes is its mode, fixed at registration:
//   - split-distribute (GetListState): the old instances' lists are concatenated in instance
//     order and cut into contiguous, even chunks, one per new instance. Each element lands on
//     exactly one new instance. Use it for things like source offsets.
//   - union (GetUnionListState): every new instance receives all elements of all old instances
//     and picks what it needs itself.
//   - broadcast (GetBroadcastState): a map that the operator keeps identical on every instance
//     (by applying the same broadcast input everywhere); every new instance receives it.
//     Redistribution checks that the old instances really agree and refuses if they don't.
//
// Re-requesting a name returns the same handle; requesting it with another mode, serializer id
// or C++ type is InvalidArgument naming both registrations. Handles live as long as their
// backend.
//
// Thread-safety: an OperatorStateBackend and every handle it returns belong to the operator
// instance's task thread (Flink runs operator-state snapshots synchronously on that thread too);
// none of them is safe to use from two threads at once. Snapshots, encoding, decoding and
// RedistributeOperatorState are plain values and functions, usable from any thread.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "statewatch/state/serializer.h"
#include "statewatch/state/status.h"

namespace statewatch {

// How an operator state is redistributed on rescale. Recorded in snapshots: do not renumber.
enum class OperatorStateMode : uint8_t {
  kSplitDistribute = 1,
  kUnion = 2,
  kBroadcast = 3,
};
// "split-distribute", "union", "broadcast" (or "unknown(N)" for an out-of-range value).
std::string OperatorStateModeName(OperatorStateMode mode);

// One operator state in a snapshot, with its contents serialized by the state's Serializer.
struct NamedOperatorState {
  std::string name;
  OperatorStateMode mode = OperatorStateMode::kSplitDistribute;
  // Serializer<T>::kId of the list elements, or of the broadcast map's values.
  std::string value_serializer;
  // Serializer<K>::kId of the broadcast map's keys; empty for list modes.
  std::string key_serializer;
  // List modes: the elements in list order. Empty for broadcast.
  std::vector<std::string> elements;
  // Broadcast: the entries, strictly increasing by key bytes, so that equal maps snapshot (and
  // encode) identically. Empty for list modes.
  std::vector<std::pair<std::string, std::string>> entries;

  bool operator==(const NamedOperatorState&) const = default;
};

// Everything one operator instance holds, independent of any backend. States are sorted by
// name and names are unique; Restore, RedistributeOperatorState and the decoder reject
// snapshots that break these rules (or the per-mode rules above) as Corruption.
struct OperatorStateSnapshot {
  std::vector<NamedOperatorState> states;

  bool operator==(const OperatorStateSnapshot&) const = default;
};

// Compact binary form of a snapshot (for checkpoint and savepoint files):
//   "SWOP" version(1 byte, = 1) varint(#states) state*
//   state = lp(name) mode(1 byte) lp(value serializer id)
//           list modes: varint(#elements) lp(element)*
//           broadcast:  lp(key serializer id) varint(#entries) (lp(key) lp(value))*
// where varint is LEB128 (up to 64 bits) and lp(x) = varint(size of x) x. There is no checksum:
// the checkpoint file that carries these bytes is expected to provide one.
// REQUIRES: `snapshot` is well formed (as produced by Snapshot or RedistributeOperatorState).
std::string EncodeOperatorStateSnapshot(const OperatorStateSnapshot& snapshot);

// Parses bytes written by EncodeOperatorStateSnapshot. Any input is safe: truncated or garbage
// bytes, trailing bytes, duplicate or unsorted names, unsorted broadcast keys and unknown modes
// give Corruption naming the byte offset where decoding failed; a newer format version gives
// NotSupported. Never crashes and never allocates more than the input size suggests.
Result<OperatorStateSnapshot> DecodeOperatorStateSnapshot(std::string_view bytes);

// Redistributes the snapshots of the old instances (index = old instance index) over
// `new_parallelism` new instances; result[i] is for new instance i and lists every state seen in
// any old instance (an instance without a state counts as having it empty), sorted by name.
//   - split-distribute: the old lists concatenated in instance order are cut into
//     `new_parallelism` contiguous chunks; with N elements, the first N % new_parallelism
//     instances get N / new_parallelism + 1 elements and the rest N / new_parallelism. This is
//     the element-level even split of Flink's RoundRobinOperatorStateRepartitioner, with two
//     differences: Flink leaves every instance's lists in place when the parallelism does not
//     change (we rebalance then too), and Flink rotates which instances take the extra element
//     from one state to the next (we always start at instance 0, so each state's split depends
//     on that state alone).
//   - union: every new instance gets the concatenation of all old lists.
//   - broadcast: every new instance gets old instance 0's map; FailedPrecondition naming the
//     state and the instances when the old maps are not identical (Flink copies old instance
//     i % old_parallelism to new instance i and trusts that they agree).
// InvalidArgument when new_parallelism <= 0; Corruption when an old snapshot is malformed or a
// state's mode or serializer ids differ between old instances.
Result<std::vector<OperatorStateSnapshot>> RedistributeOperatorState(
    const std::vector<OperatorStateSnapshot>& old_instances, int new_parallelism);

namespace internal {

template <typename T>
class OperatorListImpl;
template <typename K, typename V>
class BroadcastImpl;

// Corruption "operator state '<state>': <what> <index> of <count> is undecodable by serializer
// '<serializer>'". Out of line to keep the templates below small.
Status UndecodableOperatorState(std::string_view state, std::string_view what, size_t index,
                                size_t count, std::string_view serializer);

}  // namespace internal

// A list of elements held by one operator instance; GetListState/GetUnionListState decide how it
// is redistributed. Elements are live objects: Get copies them out, nothing is serialized.
// Thread-safety: the task thread only (see the top of this file).
template <typename T>
class OperatorListState {
 public:
  OperatorListState(const OperatorListState&) = delete;
  OperatorListState& operator=(const OperatorListState&) = delete;

  // All elements in insertion order (empty when none). Never fails on the heap; Result so that
  // callers are ready for backends that read from storage.
  Result<std::vector<T>> Get() const { return elements_; }
  Status Add(const T& value) {
    elements_.push_back(value);
    return Status::OK();
  }
  Status AddAll(const std::vector<T>& values) {
    elements_.insert(elements_.end(), values.begin(), values.end());
    return Status::OK();
  }
  // Replaces the whole list (an empty vector clears it).
  Status Update(const std::vector<T>& values) {
    elements_ = values;
    return Status::OK();
  }
  Status Clear() {
    elements_.clear();
    return Status::OK();
  }

 private:
  friend class internal::OperatorListImpl<T>;
  OperatorListState() = default;

  std::vector<T> elements_;
};

// A map that an operator keeps identical on all of its instances (Flink's BroadcastState).
// Entries are live objects in a std::map ordered by K's operator<, so ForEach and Entries visit
// keys in that order; snapshots order entries by serialized key bytes instead.
// Thread-safety: the task thread only (see the top of this file).
template <typename K, typename V>
class BroadcastState {
  static_assert(
      requires(const K& a, const K& b) {
        { a < b } -> std::convertible_to<bool>;
      },
      "BroadcastState<K, V> keeps live keys in a std::map: K needs operator<");

 public:
  BroadcastState(const BroadcastState&) = delete;
  BroadcastState& operator=(const BroadcastState&) = delete;

  // The value for `key`, or NotFound (no message) when absent.
  Result<V> Get(const K& key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) return Status::NotFound({});
    return it->second;
  }
  // Inserts or overwrites.
  Status Put(const K& key, const V& value) {
    entries_.insert_or_assign(key, value);
    return Status::OK();
  }
  Status PutAll(const std::vector<std::pair<K, V>>& entries) {
    for (const auto& [k, v] : entries) entries_.insert_or_assign(k, v);
    return Status::OK();
  }
  // OK whether or not the key was present.
  Status Remove(const K& key) {
    entries_.erase(key);
    return Status::OK();
  }
  Result<bool> Contains(const K& key) const { return entries_.contains(key); }
  Result<bool> IsEmpty() const { return entries_.empty(); }
  // Visits entries in K's order; the visitor returns false to stop early. The visitor must not
  // modify this state.
  Status ForEach(const std::function<bool(const K&, const V&)>& visitor) const {
    for (const auto& [k, v] : entries_) {
      if (!visitor(k, v)) break;
    }
    return Status::OK();
  }
  Result<std::vector<std::pair<K, V>>> Entries() const {
    return std::vector<std::pair<K, V>>(entries_.begin(), entries_.end());
  }
  Result<std::vector<K>> Keys() const {
    std::vector<K> keys;
    keys.reserve(entries_.size());
    for (const auto& entry : entries_) keys.push_back(entry.first);
    return keys;
  }
  Status Clear() {
    entries_.clear();
    return Status::OK();
  }

 private:
  friend class internal::BroadcastImpl<K, V>;
  BroadcastState() = default;

  std::map<K, V> entries_;
};

namespace internal {

// The type-erased face of one operator state: what the backend snapshots and restores without
// knowing T (Flink's PartitionableListState / HeapBroadcastState behind their meta info).
// A restore is staged first and committed only when every state of the snapshot decoded, so a
// snapshot with one bad state leaves the backend unchanged.
class OperatorStateImpl {
 public:
  OperatorStateImpl(std::string name, OperatorStateMode mode, std::string_view value_serializer,
                    std::string_view key_serializer)
      : name_(std::move(name)),
        mode_(mode),
        value_serializer_(value_serializer),
        key_serializer_(key_serializer) {}
  virtual ~OperatorStateImpl() = default;
  OperatorStateImpl(const OperatorStateImpl&) = delete;
  OperatorStateImpl& operator=(const OperatorStateImpl&) = delete;

  const std::string& name() const { return name_; }
  OperatorStateMode mode() const { return mode_; }
  const std::string& value_serializer() const { return value_serializer_; }
  const std::string& key_serializer() const { return key_serializer_; }

  // Fills out->elements or out->entries (sorted by key bytes) with the serialized contents; the
  // caller fills the name, mode and serializer ids.
  virtual void SnapshotContents(NamedOperatorState* out) const = 0;
  // Deserializes in's contents into a staging area; the live contents stay as they are.
  // Corruption naming the state and the index of the first undecodable element or entry.
  virtual Status StageRestore(const NamedOperatorState& in) = 0;
  // Replaces the live contents with the staged ones / drops the staged ones.
  virtual void CommitRestore() = 0;
  virtual void AbortRestore() = 0;
  // Empties the live contents.
  virtual void ClearContents() = 0;

 private:
  const std::string name_;
  const OperatorStateMode mode_;
  const std::string value_serializer_;
  const std::string key_serializer_;
};

template <typename T>
class OperatorListImpl final : public OperatorStateImpl {
 public:
  OperatorListImpl(std::string name, OperatorStateMode mode)
      : OperatorStateImpl(std::move(name), mode, Serializer<T>::kId, {}) {}

  OperatorListState<T>* state() { return &state_; }

  void SnapshotContents(NamedOperatorState* out) const override {
    out->elements.reserve(out->elements.size() + state_.elements_.size());
    for (const T& element : state_.elements_) {
      Serializer<T>::Serialize(element, &out->elements.emplace_back());
    }
  }
  Status StageRestore(const NamedOperatorState& in) override {
    std::vector<T> staged;
    staged.reserve(in.elements.size());
    for (size_t i = 0; i < in.elements.size(); ++i) {
      T element{};
      if (!Serializer<T>::Deserialize(in.elements[i], &element)) {
        return UndecodableOperatorState(name(), "element", i, in.elements.size(),
                                        value_serializer());
      }
      staged.push_back(std::move(element));
    }
    staged_ = std::move(staged);
    return Status::OK();
  }
  void CommitRestore() override { state_.elements_ = std::exchange(staged_, {}); }
  void AbortRestore() override { staged_ = {}; }
  void ClearContents() override { state_.elements_.clear(); }

 private:
  OperatorListState<T> state_;
  std::vector<T> staged_;
};

template <typename K, typename V>
class BroadcastImpl final : public OperatorStateImpl {
 public:
  explicit BroadcastImpl(std::string name)
      : OperatorStateImpl(std::move(name), OperatorStateMode::kBroadcast, Serializer<V>::kId,
                          Serializer<K>::kId) {}

  BroadcastState<K, V>* state() { return &state_; }

  void SnapshotContents(NamedOperatorState* out) const override {
    out->entries.reserve(out->entries.size() + state_.entries_.size());
    for (const auto& [k, v] : state_.entries_) {
      auto& entry = out->entries.emplace_back();
      Serializer<K>::Serialize(k, &entry.first);
      Serializer<V>::Serialize(v, &entry.second);
    }
    // K's operator< need not agree with byte order (e.g. a user type), so sort by bytes: equal
    // maps on different instances must produce identical snapshots for the redistribution check.
    std::sort(out->entries.begin(), out->entries.end());
  }
  Status StageRestore(const NamedOperatorState& in) override {
    std::map<K, V> staged;
    for (size_t i = 0; i < in.entries.size(); ++i) {
      K key{};
      V value{};
      if (!Serializer<K>::Deserialize(in.entries[i].first, &key)) {
        return UndecodableOperatorState(name(), "key of entry", i, in.entries.size(),
                                        key_serializer());
      }
      if (!Serializer<V>::Deserialize(in.entries[i].second, &value)) {
        return UndecodableOperatorState(name(), "value of entry", i, in.entries.size(),
                                        value_serializer());
      }
      staged.insert_or_assign(std::move(key), std::move(value));
    }
    staged_ = std::move(staged);
    return Status::OK();
  }
  void CommitRestore() override { state_.entries_ = std::exchange(staged_, {}); }
  void AbortRestore() override { staged_ = {}; }
  void ClearContents() override { state_.entries_.clear(); }

 private:
  BroadcastState<K, V> state_;
  std::map<K, V> staged_;
};

}  // namespace internal

// The operator state of one operator instance: named lists and broadcast maps on the heap.
// Thread-safety: the task thread only (see the top of this file).
class OperatorStateBackend {
 public:
  OperatorStateBackend();
  ~OperatorStateBackend();
  OperatorStateBackend(const OperatorStateBackend&) = delete;
  OperatorStateBackend& operator=(const OperatorStateBackend&) = delete;

  // Flink's getListState: a list redistributed by even split on rescale. InvalidArgument for an
  // empty name or when `name` is registered with another mode, serializer id or C++ type; with
  // pending restored contents for `name` (see Restore), InvalidArgument when their mode or
  // serializer id differ and Corruption when they do not deserialize — the state then stays
  // unregistered, so a corrected request can still pick the contents up.
  template <typename T>
  Result<OperatorListState<T>*> GetListState(const std::string& name) {
    return GetList<T>(name, OperatorStateMode::kSplitDistribute);
  }
  // Flink's getUnionListState: on restore every instance receives all elements. Errors as above.
  template <typename T>
  Result<OperatorListState<T>*> GetUnionListState(const std::string& name) {
    return GetList<T>(name, OperatorStateMode::kUnion);
  }
  // Flink's getBroadcastState: a map replicated to all instances. Errors as above.
  template <typename K, typename V>
  Result<BroadcastState<K, V>*> GetBroadcastState(const std::string& name) {
    using Impl = internal::BroadcastImpl<K, V>;
    Result<internal::OperatorStateImpl*> impl =
        FindOrRegister(name, OperatorStateMode::kBroadcast, Serializer<V>::kId, Serializer<K>::kId,
                       [&] { return std::make_unique<Impl>(name); });
    if (!impl.ok()) return impl.status();
    auto* typed = dynamic_cast<Impl*>(*impl);
    if (typed == nullptr) return TypeMismatch(**impl);
    return typed->state();
  }

  // Names of the states requested so far, sorted (restored-but-unrequested ones excluded).
  std::vector<std::string> StateNames() const;

  // Serializes every state: the requested ones, and restored ones not yet requested (their
  // bytes pass through unchanged, as in Flink). Sorted by name. Does not change any state.
  Result<OperatorStateSnapshot> Snapshot() const;

  // Replaces this instance's contents with `snapshot`. States already requested are decoded now;
  // the others wait as bytes and are decoded when first requested. Requested states missing from
  // the snapshot become empty. All or nothing: on error nothing changes.
  // Corruption when the snapshot is malformed or an element does not deserialize (naming the
  // state and element index); InvalidArgument when a requested state's mode or serializer ids
  // differ from the snapshot's (naming the state and both).
  Status Restore(const OperatorStateSnapshot& snapshot);

 private:
  template <typename T>
  Result<OperatorListState<T>*> GetList(const std::string& name, OperatorStateMode mode) {
    using Impl = internal::OperatorListImpl<T>;
    Result<internal::OperatorStateImpl*> impl = FindOrRegister(
        name, mode, Serializer<T>::kId, {}, [&] { return std::make_unique<Impl>(name, mode); });
    if (!impl.ok()) return impl.status();
    auto* typed = dynamic_cast<Impl*>(*impl);
    if (typed == nullptr) return TypeMismatch(**impl);
    return typed->state();
  }

  using Factory = std::function<std::unique_ptr<internal::OperatorStateImpl>()>;
  // Returns the registered state `name` after checking mode and serializer ids, or registers the
  // one `make` creates, filling it from pending restored contents first.
  Result<internal::OperatorStateImpl*> FindOrRegister(const std::string& name,
                                                      OperatorStateMode mode,
                                                      std::string_view value_serializer,
                                                      std::string_view key_serializer,
                                                      const Factory& make);
  // Same name, mode and serializer ids, but another C++ type (two types sharing a kId).
  static Status TypeMismatch(const internal::OperatorStateImpl& registered);

  std::map<std::string, std::unique_ptr<internal::OperatorStateImpl>, std::less<>> states_;
  // Restored contents of states not requested since the last Restore.
  std::map<std::string, NamedOperatorState, std::less<>> pending_;
};

}  // namespace statewatch
