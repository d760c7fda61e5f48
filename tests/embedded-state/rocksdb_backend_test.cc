// The RocksDB side of the engine below the typed states: the TTL compaction filter and the list
// merge operator on literal bytes, opening a working directory, raw columns, the OPTIONS file
// that statewatchd reads, and the RocksDB stats.
#include "rocksdb_backend.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "embedded-state/test_util.h"
#include "list_merge_operator.h"
#include "rocksdb_options.h"
#include "statewatch/state/internal/encoding.h"
#include "ttl_compaction_filter.h"

namespace statewatch {
namespace {

using internal::RawColumn;
using internal::RocksDbKeyedStateBackend;
using internal::TtlCompactionFilter;
using internal::TtlCompactionFilterConfig;
using internal::TtlCompactionFilterFactory;
using testing::TempDir;
using Decision = rocksdb::CompactionFilter::Decision;
using ValueType = rocksdb::CompactionFilter::ValueType;
using std::chrono::milliseconds;

// --- Literal encodings (encoding.h), built by hand so the tests pin the layout. ---

std::string TtlValue(int64_t ts, std::string_view payload) {
  std::string out;
  internal::PutFixed64BE(&out, static_cast<uint64_t>(ts));
  out.append(payload);
  return out;
}

// { varint32(len) ts(8) payload }*
std::string TtlList(const std::vector<std::pair<int64_t, std::string>>& elements) {
  std::string out;
  for (const auto& [ts, payload] : elements) {
    internal::PutVarint32(&out, static_cast<uint32_t>(8 + payload.size()));
    internal::PutFixed64BE(&out, static_cast<uint64_t>(ts));
    out.append(payload);
  }
  return out;
}

// --- TTL compaction filter on literal values ---

class TtlCompactionFilterTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 100'000;
  static constexpr int64_t kTtl = 1'000;

  std::unique_ptr<rocksdb::CompactionFilter> MakeFilter(StateKind kind, int query_time_after = 1) {
    TtlCompactionFilterConfig config;
    config.kind = kind;
    config.ttl = milliseconds(kTtl);
    config.query_time_after = query_time_after;
    config.clock = &clock_;
    config.removed = &removed_;
    TtlCompactionFilterFactory factory(config);
    rocksdb::CompactionFilter::Context context{};
    return factory.CreateCompactionFilter(context);
  }

  Decision Filter(const rocksdb::CompactionFilter& f, std::string_view value,
                  ValueType type = ValueType::kValue) {
    new_value_.clear();
    std::string skip_until;
    return f.FilterV2(1, "key", type, rocksdb::Slice(value.data(), value.size()), &new_value_,
                      &skip_until);
  }

  ManualClock clock_{kNow};
  std::atomic<uint64_t> removed_{0};
  std::string new_value_;
};

TEST_F(TtlCompactionFilterTest, NamesAreTheOnesStatewatchdLooksFor) {
  TtlCompactionFilterFactory factory(TtlCompactionFilterConfig{});
  EXPECT_STREQ(factory.Name(), "statewatch.TtlCompactionFilterFactory");
  EXPECT_STREQ(MakeFilter(StateKind::kValue)->Name(), "statewatch.TtlCompactionFilter");
}

TEST_F(TtlCompactionFilterTest, ExpiredValueIsRemovedAndCounted) {
  auto f = MakeFilter(StateKind::kValue);
  EXPECT_EQ(Filter(*f, TtlValue(kNow - kTtl - 5, "old")), Decision::kRemove);
  EXPECT_EQ(removed_.load(), 1u);
}

TEST_F(TtlCompactionFilterTest, ValueExpiresExactlyAtTsPlusTtl) {
  auto f = MakeFilter(StateKind::kValue);
  EXPECT_EQ(Filter(*f, TtlValue(kNow - kTtl, "x")), Decision::kRemove);  // ts + ttl == now
  EXPECT_EQ(Filter(*f, TtlValue(kNow - kTtl + 1, "x")), Decision::kKeep);
  EXPECT_EQ(removed_.load(), 1u);
}

TEST_F(TtlCompactionFilterTest, LiveValueIsKept) {
  for (StateKind kind :
       {StateKind::kValue, StateKind::kMap, StateKind::kReducing, StateKind::kAggregating}) {
    auto f = MakeFilter(kind);
    EXPECT_EQ(Filter(*f, TtlValue(kNow, "fresh")), Decision::kKeep);
    EXPECT_EQ(Filter(*f, TtlValue(kNow + 1'000'000, "")), Decision::kKeep);  // future ts
  }
  EXPECT_EQ(removed_.load(), 0u);
}

TEST_F(TtlCompactionFilterTest, MapEntryExpiresLikeAValue) {
  auto f = MakeFilter(StateKind::kMap);
  EXPECT_EQ(Filter(*f, TtlValue(1, "v")), Decision::kRemove);
  EXPECT_EQ(removed_.load(), 1u);
}

TEST_F(TtlCompactionFilterTest, ValueTooShortForATimestampIsKept) {
  auto f = MakeFilter(StateKind::kValue);
  EXPECT_EQ(Filter(*f, ""), Decision::kKeep);
  EXPECT_EQ(Filter(*f, std::string(7, '\0')), Decision::kKeep);
  EXPECT_EQ(removed_.load(), 0u);
}

TEST_F(TtlCompactionFilterTest, NonListMergeOperandsAndBlobsAreLeftAlone) {
  auto f = MakeFilter(StateKind::kValue);
  EXPECT_EQ(Filter(*f, TtlValue(1, "x"), ValueType::kMergeOperand), Decision::kKeep);
  EXPECT_EQ(Filter(*f, TtlValue(1, "x"), ValueType::kBlobIndex), Decision::kKeep);
  auto list = MakeFilter(StateKind::kList);
  EXPECT_EQ(Filter(*list, TtlList({{1, "x"}}), ValueType::kBlobIndex), Decision::kKeep);
  EXPECT_EQ(removed_.load(), 0u);
}

TEST_F(TtlCompactionFilterTest, ListDropsExpiredElementsAndKeepsTheRestInOrder) {
  auto f = MakeFilter(StateKind::kList);
  const std::string value = TtlList({{1, "a"}, {kNow - 10, "bb"}, {kNow - kTtl, "c"}, {kNow, ""}});
  ASSERT_EQ(Filter(*f, value), Decision::kChangeValue);
  EXPECT_EQ(new_value_, TtlList({{kNow - 10, "bb"}, {kNow, ""}}));
  EXPECT_EQ(removed_.load(), 2u);  // counted per element
}

TEST_F(TtlCompactionFilterTest, ListWithEveryElementExpiredIsRemoved) {
  auto f = MakeFilter(StateKind::kList);
  EXPECT_EQ(Filter(*f, TtlList({{1, "a"}, {2, "b"}, {3, "c"}})), Decision::kRemove);
  EXPECT_EQ(removed_.load(), 3u);
}

TEST_F(TtlCompactionFilterTest, ListWithNothingExpiredIsKeptUnchanged) {
  auto f = MakeFilter(StateKind::kList);
  EXPECT_EQ(Filter(*f, TtlList({{kNow, "a"}, {kNow - 1, "b"}})), Decision::kKeep);
  EXPECT_EQ(Filter(*f, ""), Decision::kKeep);
  EXPECT_EQ(removed_.load(), 0u);
}

TEST_F(TtlCompactionFilterTest, ListMergeOperandsAreFilteredLikeValues) {
  auto f = MakeFilter(StateKind::kList);
  ASSERT_EQ(Filter(*f, TtlList({{1, "old"}, {kNow, "new"}}), ValueType::kMergeOperand),
            Decision::kChangeValue);
  EXPECT_EQ(new_value_, TtlList({{kNow, "new"}}));
  EXPECT_EQ(Filter(*f, TtlList({{1, "old"}}), ValueType::kMergeOperand), Decision::kRemove);
  EXPECT_EQ(removed_.load(), 2u);
}

TEST_F(TtlCompactionFilterTest, MalformedListIsKeptWhole) {
  auto f = MakeFilter(StateKind::kList);
  const std::string good = TtlList({{1, "expired"}, {kNow, "live"}});
  // Truncated in the middle of the last element.
  EXPECT_EQ(Filter(*f, good.substr(0, good.size() - 1)), Decision::kKeep);
  // An element too short to hold its timestamp.
  std::string short_element = TtlList({{1, "expired"}});
  internal::PutVarint32(&short_element, 3);
  short_element.append("abc");
  EXPECT_EQ(Filter(*f, short_element), Decision::kKeep);
  // A varint that never ends, and one that overflows 32 bits.
  EXPECT_EQ(Filter(*f, TtlList({{1, "x"}}) + "\xff\xff"), Decision::kKeep);
  EXPECT_EQ(Filter(*f, std::string("\xff\xff\xff\xff\x7f", 5)), Decision::kKeep);
  EXPECT_EQ(removed_.load(), 0u);
}

TEST_F(TtlCompactionFilterTest, RandomBytesNeverCrashAndNeverGrow) {
  std::mt19937 rng(42);
  for (StateKind kind : {StateKind::kValue, StateKind::kList, StateKind::kMap}) {
    auto f = MakeFilter(kind);
    for (int i = 0; i < 20'000; ++i) {
      std::string bytes(rng() % 64, '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      for (ValueType type : {ValueType::kValue, ValueType::kMergeOperand}) {
        if (Filter(*f, bytes, type) == Decision::kChangeValue) {
          EXPECT_LT(new_value_.size(), bytes.size());
        }
      }
    }
  }
}

TEST_F(TtlCompactionFilterTest, ClockIsReadOncePerQueryTimeAfterEntries) {
  auto f = MakeFilter(StateKind::kValue, /*query_time_after=*/3);
  const std::string value = TtlValue(kNow, "v");  // live now, expired after the jump
  EXPECT_EQ(Filter(*f, value), Decision::kKeep);  // entry 1 reads the clock
  clock_.Advance(milliseconds(10 * kTtl));
  EXPECT_EQ(Filter(*f, value), Decision::kKeep);  // entries 2 and 3 use that reading
  EXPECT_EQ(Filter(*f, value), Decision::kKeep);
  EXPECT_EQ(Filter(*f, value), Decision::kRemove);  // entry 4 reads it again
}

// --- List merge operator ---

class ListAppendOperatorTest : public ::testing::Test {
 protected:
  // The merge result, wherever the operator put it.
  std::string FullMerge(const std::string* existing, const std::vector<std::string>& operands) {
    std::vector<rocksdb::Slice> slices(operands.begin(), operands.end());
    rocksdb::Slice existing_slice;
    if (existing != nullptr) existing_slice = rocksdb::Slice(*existing);
    rocksdb::MergeOperator::MergeOperationInput in("key", existing ? &existing_slice : nullptr,
                                                   slices, nullptr);
    std::string new_value;
    rocksdb::Slice existing_operand(nullptr, 0);
    rocksdb::MergeOperator::MergeOperationOutput out(new_value, existing_operand);
    EXPECT_TRUE(op_.FullMergeV2(in, &out));
    return existing_operand.data() != nullptr ? existing_operand.ToString() : new_value;
  }

  internal::ListAppendOperator op_;
};

TEST_F(ListAppendOperatorTest, Name) {
  EXPECT_STREQ(op_.Name(), "statewatch.ListAppendOperator");
}

TEST_F(ListAppendOperatorTest, FullMergeAppendsOperandsToTheExistingValue) {
  const std::string existing = TtlList({{1, "a"}});
  EXPECT_EQ(FullMerge(&existing, {TtlList({{2, "b"}}), TtlList({{3, "c"}, {4, "d"}})}),
            TtlList({{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}}));
}

TEST_F(ListAppendOperatorTest, FullMergeWithoutExistingValue) {
  EXPECT_EQ(FullMerge(nullptr, {TtlList({{2, "b"}})}), TtlList({{2, "b"}}));
  EXPECT_EQ(FullMerge(nullptr, {TtlList({{2, "b"}}), TtlList({{3, "c"}})}),
            TtlList({{2, "b"}, {3, "c"}}));
}

TEST_F(ListAppendOperatorTest, PartialMergeConcatenatesInOrder) {
  const std::string a = TtlList({{1, "a"}}), b = TtlList({{2, "bb"}}), c = TtlList({{3, ""}});
  std::deque<rocksdb::Slice> operands{rocksdb::Slice(a), rocksdb::Slice(b), rocksdb::Slice(c)};
  std::string out;
  ASSERT_TRUE(op_.PartialMergeMulti("key", operands, &out, nullptr));
  EXPECT_EQ(out, a + b + c);
}

// Opens a plain database with the backend's options and the list operator, as a benchmark's
// raw baseline would.
TEST(ListAppendOperatorDbTest, PutThenMergesReadBackInOrderBeforeAndAfterCompaction) {
  TempDir dir;
  RocksDbOptions ro;
  internal::RocksDbShared shared = internal::MakeRocksDbShared(ro);
  rocksdb::Options options = internal::MakeRocksDbOptions(ro, shared);
  options.merge_operator = internal::NewListAppendOperator();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.Sub("db"), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  const rocksdb::WriteOptions w = internal::MakeRocksDbWriteOptions(ro);
  ASSERT_TRUE(db->Put(w, "k", TtlList({{1, "a"}})).ok());
  ASSERT_TRUE(db->Merge(w, "k", TtlList({{2, "b"}})).ok());
  ASSERT_TRUE(db->Merge(w, "k", TtlList({{3, "c"}})).ok());
  ASSERT_TRUE(db->Merge(w, "only-merges", TtlList({{4, "d"}})).ok());
  const std::string expected = TtlList({{1, "a"}, {2, "b"}, {3, "c"}});
  std::string v;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "k", &v).ok());
  EXPECT_EQ(v, expected);
  ASSERT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "k", &v).ok());
  EXPECT_EQ(v, expected);
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "only-merges", &v).ok());
  EXPECT_EQ(v, TtlList({{4, "d"}}));
  ASSERT_TRUE(db->Close().ok());
}

// --- Opening a working directory ---

class RocksDbBackendTest : public ::testing::Test {
 protected:
  BackendOptions Options() const {
    BackendOptions o = testing::TestOptions("rocksdb", &clock_, dir_);
    return o;
  }
  std::unique_ptr<RocksDbKeyedStateBackend> Open(const BackendOptions& o) {
    auto backend = RocksDbKeyedStateBackend::Open(o);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return backend.ok() ? std::move(*backend) : nullptr;
  }
  static RawColumn* Column(RocksDbKeyedStateBackend* backend, const StateMeta& meta) {
    Result<RawColumn*> column = backend->raw_store()->OpenColumn(meta);
    EXPECT_TRUE(column.ok()) << column.status().ToString();
    return column.ok() ? *column : nullptr;
  }
  static StateMeta Meta(std::string name, StateKind kind, TtlConfig ttl = TtlConfig::Disabled()) {
    StateMeta m;
    m.name = std::move(name);
    m.kind = kind;
    m.value_serializer = "bytes";
    m.ttl = ttl;
    return m;
  }

  ManualClock clock_{1'000'000};
  TempDir dir_;
};

TEST_F(RocksDbBackendTest, LocalDirectoryIsRequired) {
  BackendOptions o = Options();
  o.rocksdb.local_directory.clear();
  auto backend = NewKeyedStateBackend(o);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(backend.status().IsInvalidArgument());
  EXPECT_EQ(backend.status().message(), "rocksdb.local_directory is required");
}

TEST_F(RocksDbBackendTest, CreatesTheDirectoryWithItsParents) {
  BackendOptions o = Options();
  o.rocksdb.local_directory = dir_.Sub("a/b/c");
  auto backend = NewKeyedStateBackend(o);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  EXPECT_EQ((*backend)->backend_name(), "rocksdb");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "a/b/c/CURRENT"));
}

TEST_F(RocksDbBackendTest, RefusesADirectoryThatAlreadyHoldsADatabase) {
  const BackendOptions o = Options();
  {
    rocksdb::Options raw_options;
    raw_options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(raw_options, o.rocksdb.local_directory, &raw).ok());
    delete raw;
  }
  auto backend = NewKeyedStateBackend(o);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(backend.status().IsFailedPrecondition()) << backend.status().ToString();
  EXPECT_NE(backend.status().message().find(o.rocksdb.local_directory), std::string::npos);
  EXPECT_NE(backend.status().message().find("already holds a RocksDB database"), std::string::npos);
}

TEST_F(RocksDbBackendTest, RefusesTheWorkingDirectoryOfALiveBackend) {
  auto first = NewKeyedStateBackend(Options());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = NewKeyedStateBackend(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsFailedPrecondition()) << second.status().ToString();
}

TEST_F(RocksDbBackendTest, PathThatIsAFileIsAnIOErrorNamingIt) {
  BackendOptions o = Options();
  o.rocksdb.local_directory = dir_.Sub("file");
  std::ofstream(o.rocksdb.local_directory) << "not a directory";
  auto backend = NewKeyedStateBackend(o);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(backend.status().IsIOError()) << backend.status().ToString();
  EXPECT_NE(backend.status().message().find(o.rocksdb.local_directory), std::string::npos);
}

// Tests run as root, so permissions cannot make creation fail; a regular file in the path can.
TEST_F(RocksDbBackendTest, UncreatableDirectoryIsAnIOErrorWithTheOsReason) {
  std::ofstream(dir_.Sub("file")) << "x";
  BackendOptions o = Options();
  o.rocksdb.local_directory = dir_.Sub("file/db");
  auto backend = NewKeyedStateBackend(o);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(backend.status().IsIOError()) << backend.status().ToString();
  EXPECT_NE(backend.status().message().find(o.rocksdb.local_directory), std::string::npos);
  EXPECT_NE(backend.status().message().find("Not a directory"), std::string::npos)
      << backend.status().message();
}

TEST_F(RocksDbBackendTest, KnobOutOfRangeIsInvalidArgumentNamingIt) {
  BackendOptions o = Options();
  o.rocksdb.write_buffer_ratio = 1.5;
  auto backend = NewKeyedStateBackend(o);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(backend.status().IsInvalidArgument());
  EXPECT_NE(backend.status().message().find("rocksdb.write_buffer_ratio"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(o.rocksdb.local_directory));  // checked before creating
}

// --- Raw columns ---

TEST_F(RocksDbBackendTest, RawColumnGetPutDelete) {
  auto backend = Open(Options());
  ASSERT_NE(backend, nullptr);
  RawColumn* column = Column(backend.get(), Meta("values", StateKind::kValue));
  ASSERT_NE(column, nullptr);
  std::string value = "stale";
  Status s = column->Get("k", &value);
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_TRUE(s.message().empty());  // no message allocated on a miss
  ASSERT_SW_OK(column->Put("k", std::string("v\0v", 3)));
  ASSERT_SW_OK(column->Get("k", &value));
  EXPECT_EQ(value, std::string("v\0v", 3));
  ASSERT_SW_OK(backend->Flush());  // now read back from an SST file (a pinned block)
  value = "something longer than the value";
  ASSERT_SW_OK(column->Get("k", &value));
  EXPECT_EQ(value, std::string("v\0v", 3));
  ASSERT_SW_OK(column->Delete("k"));
  EXPECT_TRUE(column->Get("k", &value).IsNotFound());
  // The same name gives the same column.
  EXPECT_EQ(Column(backend.get(), Meta("values", StateKind::kValue)), column);
}

TEST_F(RocksDbBackendTest, RawColumnMergeAppendsForListStates) {
  auto backend = Open(Options());
  ASSERT_NE(backend, nullptr);
  RawColumn* list = Column(backend.get(), Meta("events", StateKind::kList));
  ASSERT_NE(list, nullptr);
  ASSERT_SW_OK(list->Merge("k", "ab"));
  ASSERT_SW_OK(list->Merge("k", "cd"));
  std::string value;
  ASSERT_SW_OK(list->Get("k", &value));
  EXPECT_EQ(value, "abcd");
  // Value states have no merge operator: an error, not a crash.
  RawColumn* values = Column(backend.get(), Meta("values", StateKind::kValue));
  ASSERT_NE(values, nullptr);
  Status s = values->Merge("k", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'values'"), std::string::npos) << s.ToString();
}

TEST_F(RocksDbBackendTest, RawIteratorHonoursBounds) {
  auto backend = Open(Options());
  ASSERT_NE(backend, nullptr);
  RawColumn* column = Column(backend.get(), Meta("values", StateKind::kValue));
  ASSERT_NE(column, nullptr);
  for (const char* k : {"a", "b", "c", "d"}) ASSERT_SW_OK(column->Put(k, std::string(k) + "!"));
  const auto keys = [&](std::string lower, std::string upper, std::string seek) {
    auto it = column->NewIterator(lower, upper);
    lower.clear();  // the iterator keeps its own copy of the bounds
    upper.assign("zzzz");
    std::string out;
    for (it->Seek(seek); it->Valid(); it->Next()) {
      out += it->key();
      EXPECT_EQ(it->value(), std::string(it->key()) + "!");
    }
    EXPECT_SW_OK(it->status());
    return out;
  };
  EXPECT_EQ(keys("b", "d", "b"), "bc");
  EXPECT_EQ(keys("b", "", "b"), "bcd");  // empty upper = unbounded
  EXPECT_EQ(keys("", "c", ""), "ab");
  EXPECT_EQ(keys("b", "d", ""), "bc");  // seeking below the lower bound starts at it
  EXPECT_EQ(keys("", "", "c"), "cd");
}

TEST_F(RocksDbBackendTest, StateNamedDefaultIsRejected) {
  auto backend = Open(Options());
  ASSERT_NE(backend, nullptr);
  Result<RawColumn*> column = backend->raw_store()->OpenColumn(Meta("default", StateKind::kValue));
  ASSERT_FALSE(column.ok());
  EXPECT_TRUE(column.status().IsInvalidArgument());
}

// --- The TTL compaction filter inside RocksDB ---

TEST_F(RocksDbBackendTest, CompactionDropsExpiredValuesAndCountsThem) {
  auto backend = Open(Options());
  ASSERT_NE(backend, nullptr);
  const TtlConfig ttl = TtlConfig::Of(std::chrono::hours(1)).CleanupInRocksdbCompactFilter(1);
  RawColumn* column = Column(backend.get(), Meta("sessions", StateKind::kValue, ttl));
  ASSERT_NE(column, nullptr);
  const int64_t now = clock_.NowMillis();
  for (int i = 0; i < 100; ++i) {
    ASSERT_SW_OK(column->Put("old" + std::to_string(i), TtlValue(now, "v")));
  }
  ASSERT_SW_OK(backend->Flush());
  clock_.Advance(std::chrono::hours(2));
  for (int i = 0; i < 10; ++i) {
    ASSERT_SW_OK(column->Put("new" + std::to_string(i), TtlValue(clock_.NowMillis(), "v")));
  }
  ASSERT_SW_OK(backend->CompactState("sessions"));
  EXPECT_EQ(column->counters().compaction_filter.load(), 100u);
  auto it = column->NewIterator({}, {});
  int left = 0;
  for (it->Seek({}); it->Valid(); it->Next()) {
    EXPECT_EQ(it->key().substr(0, 3), "new");
    ++left;
  }
  EXPECT_EQ(left, 10);
}

TEST_F(RocksDbBackendTest, CompactionDropsExpiredListElementsFromValuesAndMergeOperands) {
  auto backend = Open(Options());
  ASSERT_NE(backend, nullptr);
  const TtlConfig ttl = TtlConfig::Of(milliseconds(1000)).CleanupInRocksdbCompactFilter(1);
  RawColumn* list = Column(backend.get(), Meta("events", StateKind::kList, ttl));
  ASSERT_NE(list, nullptr);
  const int64_t t0 = clock_.NowMillis();
  ASSERT_SW_OK(list->Put("k", TtlList({{t0, "e1"}, {t0 + 5000, "e2"}})));
  ASSERT_SW_OK(backend->Flush());
  ASSERT_SW_OK(list->Merge("k", TtlList({{t0, "e3"}, {t0 + 5000, "e4"}})));
  ASSERT_SW_OK(list->Merge("all-expired", TtlList({{t0, "x"}})));
  clock_.Advance(milliseconds(2000));  // e1, e3 and x have expired; e2, e4 have not
  ASSERT_SW_OK(backend->CompactState("events"));
  // The merge result of a compaction is only filtered by the next one.
  ASSERT_SW_OK(backend->CompactState("events"));
  std::string value;
  ASSERT_SW_OK(list->Get("k", &value));
  EXPECT_EQ(value, TtlList({{t0 + 5000, "e2"}, {t0 + 5000, "e4"}}));
  EXPECT_TRUE(list->Get("all-expired", &value).IsNotFound());
  EXPECT_EQ(list->counters().compaction_filter.load(), 3u);
}

TEST_F(RocksDbBackendTest, CompactUnknownStateIsNotFound) {
  auto backend = Open(Options());
  ASSERT_NE(backend, nullptr);
  EXPECT_TRUE(backend->CompactState("nope").IsNotFound());
}

// --- What statewatchd reads from the directory ---

// The [CFOptions "name"] section of the newest OPTIONS file in `dir`.
std::string CfOptionsSection(const std::string& dir, const std::string& cf) {
  std::string newest;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    // OPTIONS-NNNNNN: same width, so the greatest name is the newest file.
    if (name.rfind("OPTIONS-", 0) == 0 && name.find(".dbtmp") == std::string::npos &&
        name > newest) {
      newest = name;
    }
  }
  EXPECT_FALSE(newest.empty()) << "no OPTIONS file in " << dir;
  std::ifstream in(std::filesystem::path(dir) / newest);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  const std::string header = "[CFOptions \"" + cf + "\"]";
  const size_t start = all.find(header);
  if (start == std::string::npos) return {};
  const size_t end = all.find("\n[", start + header.size());
  return all.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST_F(RocksDbBackendTest, OptionsFileNamesTheTtlCompactionFilterPerColumnFamily) {
  const BackendOptions o = Options();
  auto backend = testing::MakeBackend(o);
  ASSERT_NE(backend, nullptr);
  const auto hour = std::chrono::hours(1);
  ASSERT_TRUE(backend
                  ->GetValueState(
                      ValueStateDescriptor<int64_t>("with_filter")
                          .EnableTimeToLive(TtlConfig::Of(hour).CleanupInRocksdbCompactFilter()))
                  .ok());
  ASSERT_TRUE(
      backend
          ->GetValueState(ValueStateDescriptor<int64_t>("ttl_no_filter")
                              .EnableTimeToLive(TtlConfig::Of(hour).CleanupIncrementally(5)))
          .ok());
  ASSERT_TRUE(backend->GetValueState(ValueStateDescriptor<int64_t>("no_ttl")).ok());
  ASSERT_TRUE(backend->GetListState(ListStateDescriptor<std::string>("events")).ok());

  const std::string dir = o.rocksdb.local_directory;
  const std::string with_filter = CfOptionsSection(dir, "with_filter");
  ASSERT_FALSE(with_filter.empty());
  EXPECT_NE(with_filter.find("compaction_filter_factory=statewatch.TtlCompactionFilterFactory"),
            std::string::npos)
      << with_filter;
  for (const char* cf : {"ttl_no_filter", "no_ttl", "events"}) {
    const std::string section = CfOptionsSection(dir, cf);
    ASSERT_FALSE(section.empty()) << cf;
    EXPECT_NE(section.find("compaction_filter_factory=nullptr"), std::string::npos) << section;
  }
  EXPECT_NE(CfOptionsSection(dir, "events").find("merge_operator=statewatch.ListAppendOperator"),
            std::string::npos);
  // RocksDB's periodic-compaction `ttl=` is there by default; it is not a state TTL.
  EXPECT_NE(CfOptionsSection(dir, "no_ttl").find("\n  ttl="), std::string::npos);
}

TEST_F(RocksDbBackendTest, StatsReportPerColumnFamilyAndDatabaseFigures) {
  BackendOptions o = Options();
  o.rocksdb.block_cache_bytes = 8u << 20;
  auto backend = testing::MakeBackend(o);
  ASSERT_NE(backend, nullptr);
  auto counts = backend->GetValueState(ValueStateDescriptor<int64_t>("counts").EnableTimeToLive(
      TtlConfig::Of(std::chrono::hours(1)).CleanupInRocksdbCompactFilter()));
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  auto names = backend->GetValueState(ValueStateDescriptor<std::string>("names"));
  ASSERT_TRUE(names.ok());
  for (int64_t i = 0; i < 1000; ++i) {
    ASSERT_SW_OK(backend->SetCurrentKey(i));
    ASSERT_SW_OK((*counts)->Update(i));
  }

  auto stats = backend->CollectStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_TRUE(stats->rocksdb.has_value());
  const RocksDbStats& r = *stats->rocksdb;
  EXPECT_EQ(r.path, o.rocksdb.local_directory);
  ASSERT_EQ(r.column_families.size(), 2u);  // the unused default column family is left out
  const RocksDbColumnFamilyStats& c = r.column_families[0];
  const RocksDbColumnFamilyStats& n = r.column_families[1];
  EXPECT_EQ(c.name, "counts");
  EXPECT_EQ(n.name, "names");
  EXPECT_TRUE(c.has_ttl_compaction_filter);
  EXPECT_FALSE(n.has_ttl_compaction_filter);
  EXPECT_GT(c.cur_size_all_mem_tables, 0u);
  EXPECT_GT(c.estimate_num_keys, 0u);
  EXPECT_EQ(c.sst_files_per_level.size(), 7u);
  EXPECT_EQ(r.cur_size_all_mem_tables, c.cur_size_all_mem_tables + n.cur_size_all_mem_tables);
  EXPECT_EQ(r.block_cache_capacity, 8u << 20);
  EXPECT_EQ(r.memtable_budget_bytes, 0u);
  EXPECT_EQ(r.memory_budget_bytes, 0u);
  EXPECT_FALSE(r.is_write_stopped);
  EXPECT_EQ(r.actual_delayed_write_rate, 0u);

  // After a flush the data is in SST files, and reads go through the block cache.
  ASSERT_SW_OK(backend->Flush());
  for (int64_t i = 0; i < 1000; ++i) {
    ASSERT_SW_OK(backend->SetCurrentKey(i));
    ASSERT_TRUE((*counts)->Value().ok());
  }
  stats = backend->CollectStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  const RocksDbColumnFamilyStats& flushed = stats->rocksdb->column_families[0];
  EXPECT_GT(flushed.total_sst_files_size, 0u);
  EXPECT_GE(flushed.estimate_num_keys, 1000u);
  uint64_t files = 0;
  for (uint64_t f : flushed.sst_files_per_level) files += f;
  EXPECT_GE(files, 1u);
  EXPECT_GT(stats->rocksdb->block_cache_hit_total + stats->rocksdb->block_cache_miss_total, 0u);
  EXPECT_GT(stats->rocksdb->block_cache_usage, 0u);
}

TEST_F(RocksDbBackendTest, MemoryBudgetSizesTheSharedCacheAndMemtables) {
  BackendOptions o = Options();
  o.rocksdb.memory_budget_bytes = 64u << 20;
  o.rocksdb.write_buffer_ratio = 0.25;
  auto backend = Open(o);
  ASSERT_NE(backend, nullptr);
  RawColumn* column = Column(backend.get(), Meta("values", StateKind::kValue));
  ASSERT_NE(column, nullptr);
  for (int i = 0; i < 1000; ++i)
    ASSERT_SW_OK(column->Put(std::to_string(i), std::string(100, 'v')));
  auto stats = backend->CollectStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  const RocksDbStats& r = *stats->rocksdb;
  EXPECT_EQ(r.block_cache_capacity, 64u << 20);
  EXPECT_EQ(r.memtable_budget_bytes, 16u << 20);
  EXPECT_EQ(r.memory_budget_bytes, 64u << 20);
  EXPECT_GT(r.block_cache_usage, 0u);  // memtables are charged to the cache
}

TEST_F(RocksDbBackendTest, MemtablesAreFlushedOnCloseForInspection) {
  const BackendOptions o = Options();
  {
    auto backend = testing::MakeBackend(o);
    ASSERT_NE(backend, nullptr);
    auto counts = backend->GetValueState(ValueStateDescriptor<int64_t>("counts"));
    ASSERT_TRUE(counts.ok());
    for (int64_t i = 0; i < 10; ++i) {
      ASSERT_SW_OK(backend->SetCurrentKey(i));
      ASSERT_SW_OK((*counts)->Update(i));
    }
    // Destroyed with live state handles: they go first, then the database closes.
  }
  EXPECT_EQ(testing::CountRawKeys(o.rocksdb.local_directory, "counts"), 10);
}

}  // namespace
}  // namespace statewatch
