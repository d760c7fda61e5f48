// Internal: keyed state stored in RocksDB, one column family per state (the "rocksdb" backend).
//
// Typed handles serialize keys and values and talk to RocksDB only through RawColumn, so no
// RocksDB header reaches a public include. Layouts are in encoding.h: a List is one RocksDB
// value appended to through the merge operator (no read-modify-write per Add); each Map entry is
// its own RocksDB key under the (key group, key, namespace) prefix, so a Map is read and written
// entry by entry and never rewritten whole.
//
// TTL matches the heap backend (heap_state.h); in addition the column family of a state with
// cleanup_compaction_filter carries statewatch.TtlCompactionFilterFactory, which drops expired
// values, elements and entries during compactions.
//
// Thread-safety: task thread only, like every state handle; Stats()/Scan() may run on any
// thread (they only read through their own iterators).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "statewatch/state/internal/encoding.h"
#include "statewatch/state/internal/key_context.h"
#include "statewatch/state/internal/kv_state.h"
#include "statewatch/state/internal/raw_column.h"
#include "statewatch/state/serializer.h"
#include "statewatch/state/state.h"
#include "statewatch/state/state_descriptor.h"

namespace statewatch::internal {

Status NoCurrentKeyError(const StateMeta& meta);
Status UndecodableError(const StateMeta& meta, std::string_view what, std::string_view rocks_key);
Status KeyTooLargeError(const StateMeta& meta, size_t size, size_t limit);

// One element of a list value: [timestamp] payload, framed by a varint length.
struct ListElement {
  int64_t ts;
  std::string_view payload;
};

// Parses a list value into elements; false when malformed.
bool ParseListValue(std::string_view value, bool has_ts, std::vector<ListElement>* out);
void AppendListElement(std::string* out, bool has_ts, int64_t ts, std::string_view payload);

// The stored layout of a RocksDB state is the canonical one plus framing (encoding.h), so these
// two need no serializer: they serve typed states, restores into columns not registered yet,
// and reads of native RocksDB checkpoints alike.

// Stores one canonical entry: [key group][composite][map key] → [timestamp] value; a list
// element is appended through the merge operator, anything else replaces what is there.
Status WriteRestoredEntry(RawColumn& column, const StateMeta& meta, const StateEntry& e);

struct RawScanOptions {
  KeyGroupRange range;        // non-empty
  bool drop_expired = false;  // skip entries expired at `now` (full-snapshot cleanup)
  int64_t now = 0;
};
// Visits a column's entries in `options.range` in canonical form, in key-group order; the
// entries skipped as expired are added to *dropped. Corruption naming the state and key group
// for undecodable bytes.
Status ScanRawColumn(RawColumn& column, const StateMeta& meta, const RawScanOptions& options,
                     const StateEntryVisitor& visitor, uint64_t* dropped);

template <typename Iface>
class RocksStateBase : public Iface, public KvStateImpl {
 public:
  RocksStateBase(const BackendEnv& env, RawColumn* column, StateMeta meta)
      : env_(env), column_(column), meta_(std::move(meta)), ttl_(meta_.ttl) {}

  const StateMeta& meta() const override { return meta_; }
  State* AsState() override { return this; }

  void RunIncrementalCleanup() override {
    if (ttl_.enabled() && ttl_.cleanup_incremental)
      CleanupIncrementally(ttl_.incremental_cleanup_size);
  }

  Status RestoreEntry(const StateEntry& in) override {
    return WriteRestoredEntry(*column_, meta_, in);
  }

  Status Scan(const ScanOptions& options, const StateEntryVisitor& visitor) override {
    RawScanOptions scan;
    scan.range = options.range.empty() ? env_.range : options.range.Intersect(env_.range);
    scan.drop_expired = options.for_snapshot && ttl_.enabled() && ttl_.cleanup_full_snapshot;
    // A fresh reading: scans run outside any record (snapshots, other threads).
    scan.now = ttl_.enabled() ? env_.clock->NowMillis() : 0;
    uint64_t dropped = 0;
    Status s = ScanRawColumn(*column_, meta_, scan, visitor, &dropped);
    TtlCounters::Add(column_->counters().full_snapshot, dropped);
    return s;
  }

  Result<StateStats> Stats() override {
    StateStats s;
    s.name = meta_.name;
    s.kind = meta_.kind;
    s.ttl = ttl_;
    auto it = column_->NewIterator({}, {});
    std::string last_prefix;
    std::vector<ListElement> elements;
    for (it->Seek({}); it->Valid(); it->Next()) {
      std::string_view key = it->key();
      s.approx_bytes += key.size() + it->value().size();
      if (meta_.kind == StateKind::kMap) {
        // Keys of one (key, ns) are adjacent: count a key when its prefix changes.
        std::string_view prefix = MapPrefixOf(key);
        if (prefix != last_prefix) {
          ++s.keys;
          last_prefix.assign(prefix);
        }
        ++s.entries;
      } else if (meta_.kind == StateKind::kList) {
        ++s.keys;
        elements.clear();
        if (ParseListValue(it->value(), ttl_.enabled(), &elements)) s.entries += elements.size();
      } else {
        ++s.keys;
        ++s.entries;
      }
    }
    SW_RETURN_IF_ERROR(it->status());
    TtlCounters& c = column_->counters();
    s.expired_removed.on_read = c.on_read.load(std::memory_order_relaxed);
    s.expired_removed.full_snapshot = c.full_snapshot.load(std::memory_order_relaxed);
    s.expired_removed.incremental = c.incremental.load(std::memory_order_relaxed);
    s.expired_removed.compaction_filter = c.compaction_filter.load(std::memory_order_relaxed);
    return s;
  }

 protected:
  bool HasKey() const { return env_.key->key_group >= 0; }
  int64_t Now() const { return env_.Now(); }
  bool UpdateOnRead() const { return ttl_.update_type == TtlUpdateType::kOnReadAndWrite; }
  bool ReturnExpired() const {
    return ttl_.visibility == TtlVisibility::kReturnExpiredIfNotCleanedUp;
  }

  // key_buf_ = [key group][composite(current key, namespace)].
  const std::string& CurrentKey() {
    key_buf_.clear();
    PutKeyGroup(&key_buf_, env_.key->key_group);
    if (this->namespace_.empty()) {
      key_buf_.append(env_.key->composite);
    } else {
      AppendComposite(&key_buf_, env_.key->key, this->namespace_);
    }
    return key_buf_;
  }

  // Starts a stored value: the TTL timestamp when TTL is on.
  void BeginValue(std::string* out, int64_t ts) const {
    out->clear();
    if (ttl_.enabled()) PutFixed64BE(out, static_cast<uint64_t>(ts));
  }
  // Splits a stored single value into timestamp and payload; false when too short.
  bool SplitValue(std::string_view stored, int64_t* ts, std::string_view* payload) const {
    if (!ttl_.enabled()) {
      *ts = 0;
      *payload = stored;
      return true;
    }
    if (stored.size() < kTimestampBytes) return false;
    *ts = static_cast<int64_t>(GetFixed64BE(stored.data()));
    *payload = stored.substr(kTimestampBytes);
    return true;
  }

  // TTL for a value just read from `key` (timestamp ts, payload bytes): an expired value is
  // deleted and counted, and stays *visible only if visibility allows (`visible_if_expired`);
  // with OnReadAndWrite a live value's timestamp is rewritten (payload bytes reused).
  Status ApplyTtlOnRead(std::string_view key, int64_t ts, std::string_view payload,
                        bool visible_if_expired, bool* visible) {
    *visible = true;
    if (!ttl_.enabled()) return Status::OK();
    const int64_t now = Now();
    if (ttl_.IsExpired(ts, now)) {
      column_->counters().on_read.fetch_add(1, std::memory_order_relaxed);
      *visible = visible_if_expired && ReturnExpired();
      return column_->Delete(key);
    }
    if (!UpdateOnRead()) return Status::OK();
    std::string refreshed;
    PutFixed64BE(&refreshed, static_cast<uint64_t>(now));
    refreshed.append(payload);
    return column_->Put(key, refreshed);
  }

  // The [key group][composite] part of a map entry's RocksDB key.
  static std::string_view MapPrefixOf(std::string_view rocks_key) {
    std::string_view rest = rocks_key.substr(std::min(rocks_key.size(), kKeyGroupPrefixBytes));
    std::string_view k, ns;
    if (!DecodeComposite(&rest, &k, &ns)) return rocks_key;
    return rocks_key.substr(0, rocks_key.size() - rest.size());
  }

  void AfterAccess() {
    if (ttl_.cleanup_incremental && ttl_.enabled())
      CleanupIncrementally(ttl_.incremental_cleanup_size);
  }

  // Examines up to n stored keys from a cursor that sweeps the column round and round, deleting
  // expired values and entries and rewriting lists without their expired elements.
  void CleanupIncrementally(int n) {
    if (n <= 0) return;
    const int64_t now = Now();
    uint64_t removed = 0;
    auto it = column_->NewIterator({}, {});
    it->Seek(cleanup_cursor_);
    std::vector<ListElement> elements;
    std::string rewritten;
    for (int i = 0; i < n; ++i) {
      if (!it->Valid()) {
        if (cleanup_cursor_.empty()) break;  // swept an empty tail from the start: stop
        cleanup_cursor_.clear();
        it->Seek(cleanup_cursor_);
        if (!it->Valid()) break;
      }
      std::string_view key = it->key(), value = it->value();
      if (meta_.kind == StateKind::kList) {
        elements.clear();
        if (ParseListValue(value, true, &elements)) {
          rewritten.clear();
          size_t kept = 0;
          for (const auto& e : elements) {
            if (ttl_.IsExpired(e.ts, now)) continue;
            AppendListElement(&rewritten, true, e.ts, e.payload);
            ++kept;
          }
          if (kept < elements.size()) {
            removed += elements.size() - kept;
            Status s = kept == 0 ? column_->Delete(key) : column_->Put(key, rewritten);
            (void)s;  // best effort: a failed cleanup write leaves the data to a later sweep
          }
        }
      } else {
        int64_t ts = 0;
        std::string_view payload;
        if (SplitValue(value, &ts, &payload) && ttl_.IsExpired(ts, now)) {
          Status s = column_->Delete(key);
          if (s.ok()) ++removed;
        }
      }
      it->Next();
      if (it->Valid()) {
        cleanup_cursor_.assign(it->key());
      } else {
        cleanup_cursor_.clear();
      }
    }
    TtlCounters::Add(column_->counters().incremental, removed);
  }

  BackendEnv env_;
  RawColumn* column_;
  StateMeta meta_;
  const TtlConfig ttl_;
  std::string key_buf_;
  std::string value_buf_;

 private:
  std::string cleanup_cursor_;
};

// Value, Reducing and Aggregating states: one RocksDB value per (key, namespace).
template <typename T, typename Iface>
class RocksSingleValueState : public RocksStateBase<Iface> {
  using Base = RocksStateBase<Iface>;

 public:
  using Base::Base;

  Status Clear() override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    Status s = this->column_->Delete(this->CurrentKey());
    this->AfterAccess();
    return s;
  }

 protected:
  Result<T> ReadValue(bool visible_if_expired) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    const std::string& key = this->CurrentKey();
    Status s = this->column_->Get(key, &this->value_buf_);
    if (!s.ok()) {
      this->AfterAccess();
      return s;
    }
    int64_t ts = 0;
    std::string_view payload;
    if (!this->SplitValue(this->value_buf_, &ts, &payload)) {
      return UndecodableError(this->meta_, "value", key);
    }
    T out{};
    if (!Serializer<T>::Deserialize(payload, &out))
      return UndecodableError(this->meta_, "value", key);
    bool visible = true;
    SW_RETURN_IF_ERROR(this->ApplyTtlOnRead(key, ts, payload, visible_if_expired, &visible));
    this->AfterAccess();
    if (!visible) return Status::NotFound("");
    return out;
  }

  Status WriteValue(const T& value) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    this->BeginValue(&this->value_buf_, this->ttl_.enabled() ? this->Now() : 0);
    Serializer<T>::Serialize(value, &this->value_buf_);
    Status s = this->column_->Put(this->CurrentKey(), this->value_buf_);
    this->AfterAccess();
    return s;
  }
};

template <typename T>
class RocksValueState final : public RocksSingleValueState<T, ValueState<T>> {
 public:
  RocksValueState(const BackendEnv& env, RawColumn* column, const ValueStateDescriptor<T>& d)
      : RocksSingleValueState<T, ValueState<T>>(env, column, d.meta()) {}
  Result<T> Value() override { return this->ReadValue(true); }
  Status Update(const T& value) override { return this->WriteValue(value); }
};

template <typename T>
class RocksReducingState final : public RocksSingleValueState<T, ReducingState<T>> {
 public:
  RocksReducingState(const BackendEnv& env, RawColumn* column, const ReducingStateDescriptor<T>& d)
      : RocksSingleValueState<T, ReducingState<T>>(env, column, d.meta()),
        reduce_(d.reduce_function()) {}
  Result<T> Get() override { return this->ReadValue(true); }
  Status Add(const T& value) override {
    Result<T> current = this->ReadValue(false);
    if (current.ok()) return this->WriteValue(reduce_(*current, value));
    if (!current.status().IsNotFound()) return current.status();
    return this->WriteValue(value);
  }

 private:
  ReduceFunction<T> reduce_;
};

template <typename IN, typename ACC, typename OUT>
class RocksAggregatingState final : public RocksSingleValueState<ACC, AggregatingState<IN, OUT>> {
 public:
  RocksAggregatingState(const BackendEnv& env, RawColumn* column,
                        const AggregatingStateDescriptor<IN, ACC, OUT>& d)
      : RocksSingleValueState<ACC, AggregatingState<IN, OUT>>(env, column, d.meta()),
        fn_(d.aggregate_function()) {}
  Result<OUT> Get() override {
    Result<ACC> acc = this->ReadValue(true);
    if (!acc.ok()) return acc.status();
    return fn_->GetResult(*acc);
  }
  Status Add(const IN& value) override {
    Result<ACC> acc = this->ReadValue(false);
    if (!acc.ok() && !acc.status().IsNotFound()) return acc.status();
    return this->WriteValue(fn_->Add(value, acc.ok() ? std::move(*acc) : fn_->CreateAccumulator()));
  }

 private:
  std::shared_ptr<const AggregateFunction<IN, ACC, OUT>> fn_;
};

template <typename T>
class RocksListState final : public RocksStateBase<ListState<T>> {
  using Base = RocksStateBase<ListState<T>>;

 public:
  RocksListState(const BackendEnv& env, RawColumn* column, const ListStateDescriptor<T>& d)
      : Base(env, column, d.meta()) {}

  Status Clear() override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    Status s = this->column_->Delete(this->CurrentKey());
    this->AfterAccess();
    return s;
  }

  Result<std::vector<T>> Get() override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    std::vector<T> out;
    const std::string& key = this->CurrentKey();
    Status s = this->column_->Get(key, &this->value_buf_);
    if (s.IsNotFound()) {
      this->AfterAccess();
      return out;
    }
    SW_RETURN_IF_ERROR(s);
    const bool has_ts = this->ttl_.enabled();
    elements_.clear();
    if (!ParseListValue(this->value_buf_, has_ts, &elements_)) {
      return UndecodableError(this->meta_, "list", key);
    }
    out.reserve(elements_.size());
    const int64_t now = has_ts ? this->Now() : 0;
    size_t expired = 0;
    rewritten_.clear();
    for (const auto& e : elements_) {
      T v{};
      if (!Serializer<T>::Deserialize(e.payload, &v))
        return UndecodableError(this->meta_, "element", key);
      if (has_ts && this->ttl_.IsExpired(e.ts, now)) {
        ++expired;
        if (this->ReturnExpired()) out.push_back(std::move(v));
        continue;
      }
      AppendListElement(&rewritten_, has_ts, has_ts && this->UpdateOnRead() ? now : e.ts,
                        e.payload);
      out.push_back(std::move(v));
    }
    if (expired > 0 || (has_ts && this->UpdateOnRead())) {
      TtlCounters::Add(this->column_->counters().on_read, expired);
      SW_RETURN_IF_ERROR(rewritten_.empty() ? this->column_->Delete(key)
                                            : this->column_->Put(key, rewritten_));
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
    const std::string& key = this->CurrentKey();
    Status s = values.empty() ? this->column_->Delete(key)
                              : this->column_->Put(key, Encode(values.data(), values.size()));
    this->AfterAccess();
    return s;
  }

 private:
  const std::string& Encode(const T* values, size_t n) {
    const bool has_ts = this->ttl_.enabled();
    const int64_t ts = has_ts ? this->Now() : 0;
    this->value_buf_.clear();
    for (size_t i = 0; i < n; ++i) {
      payload_.clear();
      Serializer<T>::Serialize(values[i], &payload_);
      AppendListElement(&this->value_buf_, has_ts, ts, payload_);
    }
    return this->value_buf_;
  }

  Status Append(const T* values, size_t n) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    if (n == 0) return Status::OK();
    const std::string& key = this->CurrentKey();
    Status s = this->column_->Merge(key, Encode(values, n));
    this->AfterAccess();
    return s;
  }

  std::vector<ListElement> elements_;
  std::string rewritten_;
  std::string payload_;
};

template <typename K, typename V>
class RocksMapState final : public RocksStateBase<MapState<K, V>> {
  using Base = RocksStateBase<MapState<K, V>>;

 public:
  RocksMapState(const BackendEnv& env, RawColumn* column, const MapStateDescriptor<K, V>& d)
      : Base(env, column, d.meta()) {}

  Result<V> Get(const K& user_key) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    SW_RETURN_IF_ERROR(EntryKey(user_key));
    Status s = this->column_->Get(entry_key_, &this->value_buf_);
    if (!s.ok()) {
      this->AfterAccess();
      return s;
    }
    Result<V> v = DecodeLive(entry_key_, this->value_buf_, /*visible_if_expired=*/true);
    this->AfterAccess();
    return v;
  }

  Status Put(const K& user_key, const V& value) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    SW_RETURN_IF_ERROR(EntryKey(user_key));
    this->BeginValue(&this->value_buf_, this->ttl_.enabled() ? this->Now() : 0);
    Serializer<V>::Serialize(value, &this->value_buf_);
    Status s = this->column_->Put(entry_key_, this->value_buf_);
    this->AfterAccess();
    return s;
  }

  Status PutAll(const std::vector<std::pair<K, V>>& entries) override {
    for (const auto& [k, v] : entries) SW_RETURN_IF_ERROR(Put(k, v));
    return Status::OK();
  }

  Status Remove(const K& user_key) override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    SW_RETURN_IF_ERROR(EntryKey(user_key));
    Status s = this->column_->Delete(entry_key_);
    this->AfterAccess();
    return s;
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

  Status Clear() override {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    const std::string prefix = this->CurrentKey();
    auto it = this->column_->NewIterator(prefix, PrefixSuccessor(prefix));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      SW_RETURN_IF_ERROR(this->column_->Delete(it->key()));
    }
    SW_RETURN_IF_ERROR(it->status());
    this->AfterAccess();
    return Status::OK();
  }

 private:
  Status EntryKey(const K& user_key) {
    entry_key_ = this->CurrentKey();
    const size_t prefix = entry_key_.size();
    Serializer<K>::Serialize(user_key, &entry_key_);
    if (entry_key_.size() - prefix > this->env_.max_key_bytes) {
      return KeyTooLargeError(this->meta_, entry_key_.size() - prefix, this->env_.max_key_bytes);
    }
    return Status::OK();
  }

  // Applies TTL to a stored entry: NotFound (after deleting it) when expired and not visible.
  Result<V> DecodeLive(std::string_view key, std::string_view stored, bool visible_if_expired) {
    int64_t ts = 0;
    std::string_view payload;
    V out{};
    if (!this->SplitValue(stored, &ts, &payload) || !Serializer<V>::Deserialize(payload, &out)) {
      return UndecodableError(this->meta_, "map value", key);
    }
    bool visible = true;
    SW_RETURN_IF_ERROR(this->ApplyTtlOnRead(key, ts, payload, visible_if_expired, &visible));
    if (!visible) return Status::NotFound("");
    return out;
  }

  Status Visit(const std::function<bool(const K&, const V&)>& visitor,
               bool include_expired_visible) {
    if (!this->HasKey()) return NoCurrentKeyError(this->meta_);
    const std::string prefix = this->CurrentKey();
    auto it = this->column_->NewIterator(prefix, PrefixSuccessor(prefix));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      std::string_view key = it->key();
      K user_key{};
      if (!Serializer<K>::Deserialize(key.substr(prefix.size()), &user_key)) {
        return UndecodableError(this->meta_, "map key", key);
      }
      Result<V> v = DecodeLive(key, it->value(), include_expired_visible);
      if (v.status().IsNotFound()) continue;
      if (!v.ok()) return v.status();
      if (!visitor(user_key, *v)) break;
    }
    SW_RETURN_IF_ERROR(it->status());
    this->AfterAccess();
    return Status::OK();
  }

  std::string entry_key_;
};

}  // namespace statewatch::internal
