// Fuzzes the decoding of what the RocksDB backend stores (encoding.h): keys made of the key
// group (2 bytes), the varint-length-prefixed key and namespace and the map key; values with
// their TTL timestamp; list values and merge operands (length-prefixed elements). Every reader
// of those bytes gets arbitrary ones: ScanRawColumn (snapshots, native checkpoint restores),
// ParseListValue, the list merge operator, the TTL compaction filter (FilterV2, which must
// keep what it cannot parse), and the typed RocksDB states reading, cleaning up and counting
// through an in-memory column.
//
// Input (little-endian; missing bytes read as zero):
//   u8 kind (StateKind 1–5) | u8 flags | fixed64 ttl ms | fixed64 now ms |
//   u16 range start | u16 range end (big-endian, masked to 15 bits) |
//   { varint32-prefixed RocksDB key | varint32-prefixed RocksDB value }*
// flags: 1 TTL on, 2 full-snapshot cleanup (scan drops expired), 4 incremental cleanup,
//        8 OnReadAndWrite, 16 ReturnExpiredIfNotCleanedUp, 32 string values (else i64),
//        64 merge operands onto an existing value, 128 compaction filter clock re-read each entry
//
// Invariants beyond "does not crash":
//   - ScanRawColumn: OK or Corruption naming the state; entries lie in the range; written back
//     with WriteRestoredEntry and scanned again they are the same (when the keys were in
//     canonical form); with full-snapshot cleanup, kept + dropped = all, kept = the live ones;
//   - ParseListValue: elements written back with AppendListElement parse to the same;
//   - merge operator: the result is the concatenation; lists that parse concatenate to a list
//     that parses to the concatenated elements;
//   - TTL filter: values it cannot parse are kept; kRemove only for an expired value or a list
//     whose every element expired; kChangeValue leaves exactly the live elements, in order;
//     the removed counter counts what it dropped;
//   - typed states: reads answer a value, NotFound or Corruption — never crash.
#include <rocksdb/compaction_filter.h>
#include <rocksdb/merge_operator.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "list_merge_operator.h"
#include "statewatch/state/clock.h"
#include "statewatch/state/internal/encoding.h"
#include "statewatch/state/internal/raw_column.h"
#include "statewatch/state/internal/rocksdb_state.h"
#include "statewatch/state/state_descriptor.h"
#include "ttl_compaction_filter.h"

namespace {

using statewatch::KeyGroupRange;
using statewatch::ManualClock;
using statewatch::Result;
using statewatch::StateEntry;
using statewatch::StateKind;
using statewatch::StateMeta;
using statewatch::Status;
using statewatch::TtlConfig;
using statewatch::internal::ListElement;
using statewatch::internal::RawColumn;
using statewatch::internal::RawIterator;
using Decision = rocksdb::CompactionFilter::Decision;
using ValueType = rocksdb::CompactionFilter::ValueType;

// The list merge operator applied to an existing value and one operand, as RocksDB would.
std::string MergeList(const std::string* existing, const std::string& operand) {
  static const std::shared_ptr<rocksdb::MergeOperator> op =
      statewatch::internal::NewListAppendOperator();
  const rocksdb::Slice key;
  rocksdb::Slice existing_slice;
  if (existing != nullptr) existing_slice = rocksdb::Slice(*existing);
  const std::vector<rocksdb::Slice> operands{rocksdb::Slice(operand)};
  std::string merged;
  rocksdb::Slice existing_operand(nullptr, 0);
  rocksdb::MergeOperator::MergeOperationOutput out(merged, existing_operand);
  FUZZ_CHECK(
      op->FullMergeV2(rocksdb::MergeOperator::MergeOperationInput(
                          key, existing != nullptr ? &existing_slice : nullptr, operands, nullptr),
                      &out));
  if (existing_operand.data() != nullptr) return existing_operand.ToString();
  return merged;
}

// One column family in memory. Iterators see a copy, as RocksDB iterators see a snapshot, so a
// state may delete the key it is positioned on (TTL cleanup does).
class MemoryColumn final : public RawColumn {
 public:
  std::map<std::string, std::string> data;

  Status Get(std::string_view key, std::string* value) override {
    auto it = data.find(std::string(key));
    if (it == data.end()) return Status::NotFound("");
    *value = it->second;
    return Status::OK();
  }
  Status Put(std::string_view key, std::string_view value) override {
    data[std::string(key)] = std::string(value);
    return Status::OK();
  }
  Status Merge(std::string_view key, std::string_view operand) override {
    auto it = data.find(std::string(key));
    const std::string merged =
        MergeList(it == data.end() ? nullptr : &it->second, std::string(operand));
    data[std::string(key)] = merged;
    return Status::OK();
  }
  Status Delete(std::string_view key) override {
    data.erase(std::string(key));
    return Status::OK();
  }
  std::unique_ptr<RawIterator> NewIterator(std::string_view lower,
                                           std::string_view upper) override {
    return std::make_unique<Iterator>(data, std::string(lower), std::string(upper));
  }
  statewatch::internal::TtlCounters& counters() override { return counters_; }

 private:
  class Iterator final : public RawIterator {
   public:
    Iterator(std::map<std::string, std::string> snapshot, std::string lower, std::string upper)
        : data_(std::move(snapshot)), lower_(std::move(lower)), upper_(std::move(upper)) {
      it_ = data_.end();
    }
    void Seek(std::string_view target) override {
      it_ = data_.lower_bound(std::max(std::string(target), lower_));
    }
    bool Valid() const override {
      return it_ != data_.end() && (upper_.empty() || it_->first < upper_);
    }
    void Next() override { ++it_; }
    std::string_view key() const override { return it_->first; }
    std::string_view value() const override { return it_->second; }
    Status status() const override { return Status::OK(); }

   private:
    std::map<std::string, std::string> data_;
    std::map<std::string, std::string>::const_iterator it_;
    const std::string lower_, upper_;
  };
  statewatch::internal::TtlCounters counters_;
};

struct Input {
  StateMeta meta;
  uint8_t flags = 0;
  int64_t now = 0;
  KeyGroupRange range;
  std::vector<std::pair<std::string, std::string>> records;
};

uint64_t Fixed64(std::string_view in, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | (at + i < in.size() ? static_cast<uint8_t>(in[at + i]) : 0);
  }
  return v;
}
int Fixed16BE(std::string_view in, size_t at) {
  const int hi = at < in.size() ? static_cast<uint8_t>(in[at]) : 0;
  const int lo = at + 1 < in.size() ? static_cast<uint8_t>(in[at + 1]) : 0;
  return ((hi << 8) | lo) & 0x7fff;
}

Input Parse(std::string_view in) {
  constexpr size_t kHeader = 22;
  Input input;
  const uint8_t kind = in.empty() ? 1 : static_cast<uint8_t>(in[0]);
  input.flags = in.size() > 1 ? static_cast<uint8_t>(in[1]) : 0;
  input.meta.name = "fuzz";
  input.meta.kind = static_cast<StateKind>(1 + kind % 5);
  input.meta.value_serializer = (input.flags & 32) ? "str" : "i64";
  if (input.meta.kind == StateKind::kMap) input.meta.user_key_serializer = "str";
  TtlConfig& ttl = input.meta.ttl;
  if (input.flags & 1) {
    // 1 ms to ~35 years, and "now" within 2^50 ms: real clocks, no overflow in now - ttl.
    ttl.ttl = std::chrono::milliseconds(1 + static_cast<int64_t>(Fixed64(in, 2) % (1LL << 40)));
    ttl.cleanup_full_snapshot = (input.flags & 2) != 0;
    ttl.cleanup_incremental = (input.flags & 4) != 0;
    ttl.incremental_cleanup_size = 3;
    ttl.update_type = (input.flags & 8) ? statewatch::TtlUpdateType::kOnReadAndWrite
                                        : statewatch::TtlUpdateType::kOnCreateAndWrite;
    ttl.visibility = (input.flags & 16) ? statewatch::TtlVisibility::kReturnExpiredIfNotCleanedUp
                                        : statewatch::TtlVisibility::kNeverReturnExpired;
    ttl.cleanup_compaction_filter = true;
    ttl.compaction_query_time_after = (input.flags & 128) ? 1 : 1000;
  }
  input.now = static_cast<int64_t>(Fixed64(in, 10) % (1LL << 50));
  int start = Fixed16BE(in, 18), end = Fixed16BE(in, 20);
  if (start > end) std::swap(start, end);
  input.range = {start, end};
  std::string_view rest = in.size() > kHeader ? in.substr(kHeader) : std::string_view();
  std::string_view key, value;
  while (statewatch::internal::GetLengthPrefixed(&rest, &key) &&
         statewatch::internal::GetLengthPrefixed(&rest, &value)) {
    input.records.emplace_back(std::string(key), std::string(value));
  }
  return input;
}

struct OwnedEntry {
  int key_group;
  std::string key, ns, user_key, value;
  int64_t timestamp;
  bool operator==(const OwnedEntry&) const = default;
};

Status Scan(RawColumn& column, const StateMeta& meta, const statewatch::internal::RawScanOptions& o,
            std::vector<OwnedEntry>* out, uint64_t* dropped) {
  return statewatch::internal::ScanRawColumn(
      column, meta, o,
      [&](const StateEntry& e) {
        out->push_back({e.key_group, std::string(e.key), std::string(e.ns), std::string(e.user_key),
                        std::string(e.value), e.timestamp});
        return true;
      },
      dropped);
}

// A stored timestamp of INT64_MIN reads as "no timestamp" (kNoTimestamp) and is written back
// as 0; both mean "expired long ago" to any real clock. Written-back entries compare with that.
std::vector<OwnedEntry> AsWrittenBack(std::vector<OwnedEntry> entries, const StateMeta& meta) {
  for (OwnedEntry& e : entries) {
    if (meta.ttl.enabled() && e.timestamp == StateEntry::kNoTimestamp) e.timestamp = 0;
  }
  return entries;
}

void CheckScan(const Input& input, MemoryColumn& column) {
  statewatch::internal::RawScanOptions o;
  o.range = input.range;
  o.now = input.now;
  std::vector<OwnedEntry> all;
  uint64_t dropped = 0;
  const Status s = Scan(column, input.meta, o, &all, &dropped);
  FUZZ_CHECK(dropped == 0);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption(), s.ToString());
    FUZZ_CHECK(s.message().find("state 'fuzz'") != std::string::npos, s.ToString());
    return;
  }
  for (const OwnedEntry& e : all) FUZZ_CHECK(input.range.Contains(e.key_group));

  // Written back through the restore path and scanned again: the same entries, provided the
  // keys came in canonical form (non-minimal varints would re-encode differently).
  MemoryColumn rewritten;
  for (const OwnedEntry& e : all) {
    StateEntry view{e.key_group, e.key, e.ns, e.user_key, e.value, e.timestamp};
    FUZZ_CHECK(statewatch::internal::WriteRestoredEntry(rewritten, input.meta, view).ok());
  }
  std::vector<std::string> raw_keys, new_keys;
  std::string lower, upper;
  statewatch::internal::PutKeyGroup(&lower, input.range.start);
  statewatch::internal::PutKeyGroup(&upper, input.range.end + 1);
  for (const auto& [k, v] : column.data) {
    if (k >= lower && k < upper) raw_keys.push_back(k);
  }
  for (const auto& [k, v] : rewritten.data) new_keys.push_back(k);
  if (raw_keys == new_keys) {
    std::vector<OwnedEntry> again;
    const Status s2 = Scan(rewritten, input.meta, o, &again, &dropped);
    FUZZ_CHECK(s2.ok(), s2.ToString());
    FUZZ_CHECK(AsWrittenBack(again, input.meta) == AsWrittenBack(all, input.meta),
               "entries changed when written back and read again");
  }

  // Full-snapshot cleanup: the live entries, in order, plus a count of the others.
  if (input.meta.ttl.enabled()) {
    o.drop_expired = true;
    std::vector<OwnedEntry> live;
    const Status s3 = Scan(column, input.meta, o, &live, &dropped);
    FUZZ_CHECK(s3.ok(), s3.ToString());
    FUZZ_CHECK(live.size() + dropped == all.size());
    std::vector<OwnedEntry> expected;
    for (const OwnedEntry& e : all) {
      if (!input.meta.ttl.IsExpired(e.timestamp, input.now)) expected.push_back(e);
    }
    FUZZ_CHECK(live == expected);
  }
}

void CheckListValue(const std::string& value) {
  for (const bool has_ts : {false, true}) {
    std::vector<ListElement> elements;
    if (!statewatch::internal::ParseListValue(value, has_ts, &elements)) continue;
    std::string written;
    for (const ListElement& e : elements) {
      statewatch::internal::AppendListElement(&written, has_ts, e.ts, e.payload);
    }
    std::vector<ListElement> again;
    FUZZ_CHECK(statewatch::internal::ParseListValue(written, has_ts, &again));
    FUZZ_CHECK(again.size() == elements.size());
    for (size_t i = 0; i < again.size(); ++i) {
      FUZZ_CHECK(again[i].payload == elements[i].payload);
      FUZZ_CHECK(!has_ts || again[i].ts == elements[i].ts);
    }
  }
}

void CheckMerge(const Input& input) {
  if (input.records.empty()) return;
  static const std::shared_ptr<rocksdb::MergeOperator> op =
      statewatch::internal::NewListAppendOperator();
  const bool with_existing = (input.flags & 64) != 0;
  const rocksdb::Slice existing(input.records[0].second);
  std::vector<rocksdb::Slice> operands;
  std::string concatenated = with_existing ? input.records[0].second : "";
  for (size_t i = with_existing ? 1 : 0; i < input.records.size(); ++i) {
    operands.emplace_back(input.records[i].second);
    concatenated += input.records[i].second;
  }
  if (operands.empty()) return;
  std::string merged;
  rocksdb::Slice existing_operand(nullptr, 0);
  rocksdb::MergeOperator::MergeOperationOutput out(merged, existing_operand);
  const rocksdb::Slice key(input.records[0].first);
  FUZZ_CHECK(op->FullMergeV2(rocksdb::MergeOperator::MergeOperationInput(
                                 key, with_existing ? &existing : nullptr, operands, nullptr),
                             &out));
  const std::string result =
      existing_operand.data() != nullptr ? existing_operand.ToString() : merged;
  FUZZ_CHECK(result == concatenated, "FullMergeV2 is not concatenation");

  std::string partial;
  const std::deque<rocksdb::Slice> operand_list(operands.begin(), operands.end());
  FUZZ_CHECK(op->PartialMergeMulti(key, operand_list, &partial, nullptr));
  FUZZ_CHECK(partial == concatenated.substr(with_existing ? existing.size() : 0));

  // Well-formed lists concatenate to a well-formed list of all their elements.
  const bool has_ts = input.meta.ttl.enabled();
  std::vector<ListElement> parts;
  bool all_parse = true;
  if (with_existing)
    all_parse = statewatch::internal::ParseListValue(existing.ToStringView(), has_ts, &parts);
  for (const rocksdb::Slice& o : operands) {
    all_parse = all_parse && statewatch::internal::ParseListValue(o.ToStringView(), has_ts, &parts);
  }
  if (all_parse) {
    std::vector<ListElement> whole;
    FUZZ_CHECK(statewatch::internal::ParseListValue(result, has_ts, &whole));
    FUZZ_CHECK(whole.size() == parts.size());
  }
}

void CheckCompactionFilter(const Input& input) {
  if (!input.meta.ttl.enabled()) return;
  ManualClock clock(input.now);
  std::atomic<uint64_t> removed{0};
  statewatch::internal::TtlCompactionFilterConfig config;
  config.kind = input.meta.kind;
  config.ttl = input.meta.ttl.ttl;
  config.query_time_after = input.meta.ttl.compaction_query_time_after;
  config.clock = &clock;
  config.removed = &removed;
  statewatch::internal::TtlCompactionFilterFactory factory(config);
  const std::unique_ptr<rocksdb::CompactionFilter> filter =
      factory.CreateCompactionFilter(rocksdb::CompactionFilter::Context());
  FUZZ_CHECK(filter != nullptr);
  const TtlConfig& ttl = input.meta.ttl;
  const bool list = input.meta.kind == StateKind::kList;
  for (const auto& [key, value] : input.records) {
    for (const ValueType type :
         {ValueType::kValue, ValueType::kMergeOperand, ValueType::kBlobIndex}) {
      const uint64_t removed_before = removed.load();
      std::string new_value, skip_until;
      const Decision d = filter->FilterV2(0, key, type, value, &new_value, &skip_until);
      FUZZ_CHECK(d == Decision::kKeep || d == Decision::kRemove || d == Decision::kChangeValue);
      // The legacy entry points keep everything (only FilterV2 is ours).
      bool changed = false;
      std::string legacy;
      FUZZ_CHECK(!filter->Filter(0, key, value, &legacy, &changed));
      const uint64_t counted = removed.load() - removed_before;
      const bool filtered = list ? (type != ValueType::kBlobIndex) : (type == ValueType::kValue);
      if (!filtered) {
        FUZZ_CHECK(d == Decision::kKeep && counted == 0);
        continue;
      }
      if (!list) {
        const bool expired =
            value.size() >= statewatch::internal::kTimestampBytes &&
            ttl.IsExpired(static_cast<int64_t>(statewatch::internal::GetFixed64BE(value.data())),
                          input.now);
        FUZZ_CHECK(d == (expired ? Decision::kRemove : Decision::kKeep));
        FUZZ_CHECK(counted == (expired ? 1u : 0u));
        continue;
      }
      std::vector<ListElement> elements;
      const bool parses = statewatch::internal::ParseListValue(value, true, &elements);
      size_t expired = 0;
      std::vector<ListElement> live;
      for (const ListElement& e : elements) {
        if (ttl.IsExpired(e.ts, input.now)) {
          ++expired;
        } else {
          live.push_back(e);
        }
      }
      if (!parses || expired == 0) {
        FUZZ_CHECK(d == Decision::kKeep && counted == 0, "kept list changed or counted");
        continue;
      }
      FUZZ_CHECK(counted == expired);
      if (live.empty()) {
        FUZZ_CHECK(d == Decision::kRemove);
        continue;
      }
      FUZZ_CHECK(d == Decision::kChangeValue);
      std::vector<ListElement> kept;
      FUZZ_CHECK(statewatch::internal::ParseListValue(new_value, true, &kept));
      FUZZ_CHECK(kept.size() == live.size());
      for (size_t i = 0; i < kept.size(); ++i) {
        FUZZ_CHECK(kept[i].ts == live[i].ts && kept[i].payload == live[i].payload);
      }
    }
  }
  factory.Reconfigure(config.ttl, 1, /*enabled=*/false);
  FUZZ_CHECK(factory.CreateCompactionFilter(rocksdb::CompactionFilter::Context()) == nullptr);
}

template <typename S>
void ExpectReadable(const Result<S>& r) {
  FUZZ_CHECK(r.ok() || r.status().IsNotFound() || r.status().IsCorruption(), r.status().ToString());
}

template <typename V>
void CheckTypedStates(const Input& input, MemoryColumn& column) {
  ManualClock clock(input.now);
  statewatch::internal::KeyContext key;
  // The current key: the one of the first record that decodes, so reads find stored bytes.
  for (const auto& [raw, value] : input.records) {
    std::string_view rest = raw;
    std::string_view k, ns;
    if (rest.size() < 2) continue;
    key.key_group = statewatch::internal::GetKeyGroup(rest);
    rest.remove_prefix(2);
    if (statewatch::internal::DecodeComposite(&rest, &k, &ns)) {
      key.key = std::string(k);
      break;
    }
  }
  if (key.key_group < 0) key.key_group = input.range.start;
  statewatch::internal::AppendComposite(&key.composite, key.key, "");
  key.hash = statewatch::Murmur3Hash32(key.key);
  key.epoch = 1;
  statewatch::internal::BackendEnv env;
  env.key = &key;
  env.clock = &clock;
  env.range = input.range;
  env.max_key_bytes = 64 << 10;

  const auto check_stats = [](auto& state) {
    Result<statewatch::StateStats> stats = state.Stats();
    FUZZ_CHECK(stats.ok(), stats.status().ToString());
    state.RunIncrementalCleanup();
    statewatch::ScanOptions scan;
    scan.for_snapshot = true;
    const Status s = state.Scan(scan, [](const StateEntry&) { return true; });
    FUZZ_CHECK(s.ok() || s.IsCorruption(), s.ToString());
  };
  switch (input.meta.kind) {
    case StateKind::kList: {
      statewatch::ListStateDescriptor<V> d("fuzz");
      d.EnableTimeToLive(input.meta.ttl);
      statewatch::internal::RocksListState<V> state(env, &column, d);
      ExpectReadable(state.Get());
      ExpectReadable(state.Get());
      check_stats(state);
      break;
    }
    case StateKind::kMap: {
      statewatch::MapStateDescriptor<std::string, V> d("fuzz");
      d.EnableTimeToLive(input.meta.ttl);
      statewatch::internal::RocksMapState<std::string, V> state(env, &column, d);
      const Status each = state.ForEach([](const std::string&, const V&) { return true; });
      FUZZ_CHECK(each.ok() || each.IsCorruption(), each.ToString());
      ExpectReadable(state.IsEmpty());
      for (const auto& [raw, value] : input.records) {
        // The map key of a stored entry of the current key, if it is one.
        const std::string prefix = [&] {
          std::string p;
          statewatch::internal::PutKeyGroup(&p, key.key_group);
          return p + key.composite;
        }();
        if (raw.rfind(prefix, 0) == 0) ExpectReadable(state.Get(raw.substr(prefix.size())));
      }
      check_stats(state);
      break;
    }
    default: {
      statewatch::ValueStateDescriptor<V> d("fuzz");
      d.EnableTimeToLive(input.meta.ttl);
      statewatch::internal::RocksValueState<V> state(env, &column, d);
      ExpectReadable(state.Value());
      ExpectReadable(state.Value());
      check_stats(state);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Input input = Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  MemoryColumn column;
  for (const auto& [key, value] : input.records) {
    column.data[key] = value;
    CheckListValue(value);
    // Keys of any length: the error message reads the key group only when there is one.
    (void)statewatch::internal::UndecodableError(input.meta, "key", key);
    (void)statewatch::internal::HashComposite(key);
    const std::string successor = statewatch::internal::PrefixSuccessor(key);
    FUZZ_CHECK(successor.empty() ||
               (successor > key && successor.rfind(key, 0) != 0 && successor.size() <= key.size()));
  }
  CheckScan(input, column);
  CheckMerge(input);
  CheckCompactionFilter(input);
  if (input.flags & 32) {
    CheckTypedStates<std::string>(input, column);
  } else {
    CheckTypedStates<int64_t>(input, column);
  }
  return 0;
}
