// TTL: expiry at exactly ttl, update types, visibility, per-element/per-entry TTL and every
// cleanup strategy, on both backends, with a manual clock moved by days.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "embedded-state/test_util.h"
#include "statewatch/state/keyed_state_backend.h"

namespace statewatch {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::MakeBackend;
using testing::TempDir;
using testing::TestOptions;

constexpr milliseconds kDay = hours(24);

class TtlTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { backend_ = MakeBackend(TestOptions(GetParam(), &clock_, dir_)); }

  StateStats StatsOf(const std::string& name) {
    auto stats = backend_->CollectStats();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    for (const auto& s : stats->states) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no stats for " << name;
    return {};
  }

  ManualClock clock_{1'700'000'000'000};
  TempDir dir_;
  std::unique_ptr<KeyedStateBackend> backend_;
};

TEST_P(TtlTest, ValueExpiresExactlyAtTtl) {
  auto d = ValueStateDescriptor<int64_t>("v").EnableTimeToLive(TtlConfig::Of(kDay));
  ValueState<int64_t>* v = *backend_->GetValueState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(v->Update(1));
  clock_.Advance(kDay - milliseconds(1));
  EXPECT_EQ(v->Value().value_or(-1), 1);  // ts + ttl > now: alive
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(v->Value().status().IsNotFound());  // ts + ttl == now: expired
  EXPECT_EQ(StatsOf("v").expired_removed.on_read, 1u);
  EXPECT_EQ(StatsOf("v").keys, 0u);  // reading an expired value clears it
}

TEST_P(TtlTest, OnCreateAndWriteIgnoresReads) {
  auto d = ValueStateDescriptor<int64_t>("v").EnableTimeToLive(
      TtlConfig::Of(kDay).SetUpdateType(TtlUpdateType::kOnCreateAndWrite));
  ValueState<int64_t>* v = *backend_->GetValueState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(v->Update(1));
  clock_.Advance(hours(20));
  EXPECT_TRUE(v->Value().ok());
  clock_.Advance(hours(4));
  EXPECT_TRUE(v->Value().status().IsNotFound());
  // A write restarts the clock.
  ASSERT_SW_OK(v->Update(2));
  clock_.Advance(hours(23));
  EXPECT_EQ(v->Value().value_or(-1), 2);
}

TEST_P(TtlTest, OnReadAndWriteRefreshesOnRead) {
  auto d = ValueStateDescriptor<int64_t>("v").EnableTimeToLive(
      TtlConfig::Of(kDay).SetUpdateType(TtlUpdateType::kOnReadAndWrite));
  ValueState<int64_t>* v = *backend_->GetValueState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(v->Update(1));
  for (int i = 0; i < 5; ++i) {  // five days of reads every 20 h keep it alive
    clock_.Advance(hours(20));
    ASSERT_EQ(v->Value().value_or(-1), 1) << "read " << i;
  }
  clock_.Advance(kDay);
  EXPECT_TRUE(v->Value().status().IsNotFound());
}

TEST_P(TtlTest, ReturnExpiredIfNotCleanedUpReturnsItOnce) {
  auto d = ValueStateDescriptor<int64_t>("v").EnableTimeToLive(
      TtlConfig::Of(kDay).SetVisibility(TtlVisibility::kReturnExpiredIfNotCleanedUp));
  ValueState<int64_t>* v = *backend_->GetValueState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(v->Update(5));
  clock_.Advance(kDay * 3);
  EXPECT_EQ(v->Value().value_or(-1), 5);          // still present: returned
  EXPECT_TRUE(v->Value().status().IsNotFound());  // the read cleaned it up
}

TEST_P(TtlTest, NeverReturnExpiredHidesIt) {
  auto d = ValueStateDescriptor<int64_t>("v").EnableTimeToLive(
      TtlConfig::Of(kDay).SetVisibility(TtlVisibility::kNeverReturnExpired));
  ValueState<int64_t>* v = *backend_->GetValueState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(v->Update(5));
  clock_.Advance(kDay);
  EXPECT_TRUE(v->Value().status().IsNotFound());
}

TEST_P(TtlTest, ListTtlIsPerElement) {
  auto d = ListStateDescriptor<std::string>("l").EnableTimeToLive(TtlConfig::Of(kDay));
  ListState<std::string>* l = *backend_->GetListState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(l->Add("old"));
  clock_.Advance(hours(12));
  ASSERT_SW_OK(l->AddAll({"new1", "new2"}));
  clock_.Advance(hours(12));  // "old" is exactly one day old now
  EXPECT_THAT(*l->Get(), ElementsAre("new1", "new2"));
  clock_.Advance(hours(12));
  EXPECT_THAT(*l->Get(), IsEmpty());
  EXPECT_EQ(StatsOf("l").expired_removed.on_read, 3u);
  EXPECT_EQ(StatsOf("l").keys, 0u);
}

TEST_P(TtlTest, ListReturnExpiredShowsExpiredElementsOnce) {
  auto d = ListStateDescriptor<int64_t>("l").EnableTimeToLive(
      TtlConfig::Of(kDay).SetVisibility(TtlVisibility::kReturnExpiredIfNotCleanedUp));
  ListState<int64_t>* l = *backend_->GetListState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(l->Add(1));
  clock_.Advance(kDay);
  ASSERT_SW_OK(l->Add(2));
  EXPECT_THAT(*l->Get(), ElementsAre(1, 2));
  EXPECT_THAT(*l->Get(), ElementsAre(2));
}

TEST_P(TtlTest, MapTtlIsPerEntry) {
  auto d = MapStateDescriptor<std::string, int64_t>("m").EnableTimeToLive(
      TtlConfig::Of(kDay).SetUpdateType(TtlUpdateType::kOnReadAndWrite));
  MapState<std::string, int64_t>* m = *backend_->GetMapState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(m->Put("a", 1));
  ASSERT_SW_OK(m->Put("b", 2));
  clock_.Advance(hours(20));
  EXPECT_EQ(m->Get("a").value_or(-1), 1);  // refreshes "a" only
  clock_.Advance(hours(4));
  EXPECT_TRUE(m->Get("b").status().IsNotFound());
  EXPECT_TRUE(*m->Contains("a"));
  EXPECT_THAT(*m->Keys(), ElementsAre("a"));
  clock_.Advance(kDay);
  EXPECT_TRUE(*m->IsEmpty());
  EXPECT_EQ(StatsOf("m").keys, 0u);
}

TEST_P(TtlTest, ReducingAddDoesNotBuildOnAnExpiredAccumulator) {
  ReducingStateDescriptor<int64_t> d("sum",
                                     [](const int64_t& a, const int64_t& b) { return a + b; });
  d.EnableTimeToLive(
      TtlConfig::Of(kDay).SetVisibility(TtlVisibility::kReturnExpiredIfNotCleanedUp));
  ReducingState<int64_t>* sum = *backend_->GetReducingState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(sum->Add(100));
  clock_.Advance(kDay);
  ASSERT_SW_OK(sum->Add(1));
  EXPECT_EQ(sum->Get().value_or(-1), 1);
}

TEST_P(TtlTest, FullSnapshotCleanupLeavesExpiredEntriesOutOfSnapshots) {
  auto d = ValueStateDescriptor<int64_t>("v").EnableTimeToLive(
      TtlConfig::Of(kDay).CleanupFullSnapshot());
  ValueState<int64_t>* v = *backend_->GetValueState(d);
  for (int64_t k = 0; k < 10; ++k) {
    ASSERT_SW_OK(backend_->SetCurrentKey(k));
    ASSERT_SW_OK(v->Update(k));
    if (k == 4) clock_.Advance(hours(12));  // keys 0..4 are 12 h older than 5..9
  }
  clock_.Advance(hours(13));  // 0..4 expired, 5..9 alive
  int plain = 0, snapshot = 0;
  ASSERT_SW_OK(backend_->ScanState("v", {}, [&](const StateEntry& e) {
    EXPECT_NE(e.timestamp, StateEntry::kNoTimestamp);
    ++plain;
    return true;
  }));
  ScanOptions for_snapshot;
  for_snapshot.for_snapshot = true;
  ASSERT_SW_OK(backend_->ScanState("v", for_snapshot, [&](const StateEntry& e) {
    EXPECT_FALSE(TtlConfig::Of(kDay).IsExpired(e.timestamp, clock_.NowMillis()));
    ++snapshot;
    return true;
  }));
  EXPECT_EQ(plain, 10);
  EXPECT_EQ(snapshot, 5);
  EXPECT_EQ(StatsOf("v").expired_removed.full_snapshot, 5u);
}

TEST_P(TtlTest, IncrementalCleanupRemovesExpiredEntriesAsOtherKeysAreAccessed) {
  auto d = ValueStateDescriptor<int64_t>("v").EnableTimeToLive(
      TtlConfig::Of(kDay).CleanupIncrementally(10));
  ValueState<int64_t>* v = *backend_->GetValueState(d);
  for (int64_t k = 0; k < 200; ++k) {
    ASSERT_SW_OK(backend_->SetCurrentKey(k));
    ASSERT_SW_OK(v->Update(k));
  }
  clock_.Advance(kDay * 2);
  ASSERT_EQ(StatsOf("v").keys, 200u);
  // Touch one fresh key repeatedly: each access sweeps 10 more entries.
  ASSERT_SW_OK(backend_->SetCurrentKey(int64_t{-1}));
  for (int i = 0; i < 100; ++i) ASSERT_SW_OK(v->Update(i));
  StateStats s = StatsOf("v");
  EXPECT_EQ(s.keys, 1u);  // only the fresh key is left
  EXPECT_EQ(s.expired_removed.incremental, 200u);
}

TEST_P(TtlTest, IncrementalCleanupForEveryRecordRunsOnSetCurrentKey) {
  auto d = ListStateDescriptor<int64_t>("l").EnableTimeToLive(
      TtlConfig::Of(kDay).CleanupIncrementally(5, /*every_record=*/true));
  ListState<int64_t>* l = *backend_->GetListState(d);
  for (int64_t k = 0; k < 50; ++k) {
    ASSERT_SW_OK(backend_->SetCurrentKey(k));
    ASSERT_SW_OK(l->AddAll({1, 2}));
  }
  clock_.Advance(kDay);
  for (int64_t k = 100; k < 200; ++k) ASSERT_SW_OK(backend_->SetCurrentKey(k));  // no state access
  StateStats s = StatsOf("l");
  EXPECT_EQ(s.keys, 0u);
  EXPECT_EQ(s.expired_removed.incremental, 100u);
}

// A coarse clock that counts its readings.
class CountingCoarseClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    ++reads;
    return now;
  }
  bool ShareReadingPerRecord() const override { return true; }
  mutable int reads = 0;
  int64_t now = 1'000'000;
};

TEST_P(TtlTest, CoarseClockIsReadOncePerRecord) {
  CountingCoarseClock clock;
  TempDir dir;
  auto backend = MakeBackend(TestOptions(GetParam(), &clock, dir));
  auto* v = *backend->GetValueState(ValueStateDescriptor<int64_t>("v").EnableTimeToLive(
      TtlConfig::Of(kDay).SetUpdateType(TtlUpdateType::kOnReadAndWrite)));
  ASSERT_SW_OK(backend->SetCurrentKey(1));
  EXPECT_TRUE(v->Value().status().IsNotFound());
  ASSERT_SW_OK(v->Update(1));
  EXPECT_EQ(v->Value().value_or(-1), 1);
  ASSERT_SW_OK(v->Update(2));
  EXPECT_EQ(clock.reads, 1);  // four accesses of one record, one reading
  clock.now += kDay.count();
  ASSERT_SW_OK(backend->SetCurrentKey(1));  // the next record reads the clock again
  EXPECT_TRUE(v->Value().status().IsNotFound());
  EXPECT_EQ(clock.reads, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, TtlTest, ::testing::Values("hashmap", "rocksdb"),
                         testing::BackendParamName);

// --- RocksDB compaction filter: expired data is physically gone after a compaction. ---

class CompactionFilterTest : public ::testing::Test {
 protected:
  BackendOptions Options() { return TestOptions("rocksdb", &clock_, dir_); }
  ManualClock clock_{1'700'000'000'000};
  TempDir dir_;
};

TEST_F(CompactionFilterTest, DropsExpiredValuesListElementsAndMapEntries) {
  const TtlConfig ttl = TtlConfig::Of(kDay * 7).CleanupInRocksdbCompactFilter(1);
  const std::string db = Options().rocksdb.local_directory;
  {
    auto backend = MakeBackend(Options());
    auto* v = *backend->GetValueState(ValueStateDescriptor<int64_t>("v").EnableTimeToLive(ttl));
    auto* l = *backend->GetListState(ListStateDescriptor<int64_t>("l").EnableTimeToLive(ttl));
    auto* m =
        *backend->GetMapState(MapStateDescriptor<int64_t, int64_t>("m").EnableTimeToLive(ttl));
    auto* no_ttl = *backend->GetValueState(ValueStateDescriptor<int64_t>("no_ttl"));
    for (int64_t k = 0; k < 100; ++k) {  // old data
      ASSERT_SW_OK(backend->SetCurrentKey(k));
      ASSERT_SW_OK(v->Update(k));
      ASSERT_SW_OK(l->Add(k));
      ASSERT_SW_OK(m->PutAll({{1, k}, {2, k}}));
      ASSERT_SW_OK(no_ttl->Update(k));
    }
    clock_.Advance(kDay * 6);
    for (int64_t k = 0; k < 10; ++k) {  // fresh data, for ten of the keys
      ASSERT_SW_OK(backend->SetCurrentKey(k));
      ASSERT_SW_OK(v->Update(k));
      ASSERT_SW_OK(l->Add(-k));
      ASSERT_SW_OK(m->Put(3, k));
    }
    ASSERT_SW_OK(backend->Flush());
    clock_.Advance(kDay * 2);  // the old data is 8 days old, the fresh 2 days
    for (const char* name : {"v", "l", "m", "no_ttl"}) ASSERT_SW_OK(backend->CompactState(name));

    auto stats = backend->CollectStats();
    ASSERT_TRUE(stats.ok());
    std::map<std::string, StateStats> by_name;
    for (const auto& s : stats->states) by_name[s.name] = s;
    EXPECT_EQ(by_name["v"].expired_removed.compaction_filter, 90u);
    EXPECT_EQ(by_name["l"].expired_removed.compaction_filter, 100u);
    EXPECT_EQ(by_name["m"].expired_removed.compaction_filter, 200u);
    EXPECT_EQ(by_name["no_ttl"].expired_removed.total(), 0u);
    EXPECT_EQ(by_name["l"].entries, 10u);  // one fresh element left in ten lists
  }
  // Count with a raw RocksDB iterator, not through the engine.
  EXPECT_EQ(testing::CountRawKeys(db, "v"), 10);
  EXPECT_EQ(testing::CountRawKeys(db, "l"), 10);
  EXPECT_EQ(testing::CountRawKeys(db, "m"), 10);
  EXPECT_EQ(testing::CountRawKeys(db, "no_ttl"), 100);
}

TEST_F(CompactionFilterTest, FilterReadsTheClockOnlyEveryNEntries) {
  // With query_time_after = 1000, a compaction over fewer entries uses the time read at its
  // start; with 1 it re-reads the clock for each entry. Both must drop only what was expired
  // when they read the clock — here, everything written before the jump.
  const TtlConfig ttl = TtlConfig::Of(kDay).CleanupInRocksdbCompactFilter(1000);
  auto backend = MakeBackend(Options());
  auto* v = *backend->GetValueState(ValueStateDescriptor<int64_t>("v").EnableTimeToLive(ttl));
  for (int64_t k = 0; k < 500; ++k) {
    ASSERT_SW_OK(backend->SetCurrentKey(k));
    ASSERT_SW_OK(v->Update(k));
  }
  ASSERT_SW_OK(backend->Flush());
  clock_.Advance(kDay);
  ASSERT_SW_OK(backend->CompactState("v"));
  auto stats = backend->CollectStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->states[0].keys, 0u);
  EXPECT_EQ(stats->states[0].expired_removed.compaction_filter, 500u);
}

}  // namespace
}  // namespace statewatch
