// Checkpoints: chk-N/ with _metadata written last, restore from the latest on either backend,
// retention, time triggers on a manual clock, bad files, and SIGKILL at random points while
// checkpointing — the last complete checkpoint is always found and restores exactly.
#include "statewatch/state/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <tuple>

#include "embedded-state/filled_states.h"
#include "embedded-state/test_util.h"
#include "statewatch/state/crc32c.h"
#include "storage/kill_child.h"

namespace statewatch {
namespace {

namespace fs = std::filesystem;
using statewatch::testing::TempDir;
using ::testing::HasSubstr;

const ValueStateDescriptor<int64_t> kCount("count");

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every key k holds round * 1000 + k, so a restored backend shows which round it came from.
void WriteRound(KeyedStateBackend& b, int64_t round, int keys) {
  auto* s = *b.GetValueState(kCount);
  for (int64_t k = 0; k < keys; ++k) {
    ASSERT_SW_OK(b.SetCurrentKey(k));
    ASSERT_SW_OK(s->Update(round * 1000 + k));
  }
}

// The round a restored backend holds, or -1 when keys disagree.
int64_t RoundOf(KeyedStateBackend& b, int keys) {
  auto* s = *b.GetValueState(kCount);
  int64_t round = -2;
  for (int64_t k = 0; k < keys; ++k) {
    if (!b.SetCurrentKey(k).ok()) return -1;
    auto v = s->Value();
    if (!v.ok()) return -1;
    const int64_t r = (*v - k) / 1000;
    if (round == -2) round = r;
    if (r != round || *v != r * 1000 + k) return -1;
  }
  return round;
}

// The parameter is a checkpoint mode: "hashmap", "rocksdb" (full) or "rocksdb_incremental".
class CheckpointTest : public ::testing::TestWithParam<std::string> {
 protected:
  static std::string BackendName() { return GetParam() == "hashmap" ? "hashmap" : "rocksdb"; }
  static bool Incremental() { return GetParam() == "rocksdb_incremental"; }
  std::unique_ptr<KeyedStateBackend> Backend(const std::string& name) {
    BackendOptions o = statewatch::testing::TestOptions(BackendName(), &clock_, dir_);
    o.rocksdb.local_directory = dir_.Sub(name);
    return statewatch::testing::MakeBackend(o);
  }
  CheckpointOptions Options(int retained = 3) {
    CheckpointOptions o;
    o.root = dir_.Sub("checkpoints");
    o.retained = retained;
    o.incremental = Incremental();
    return o;
  }
  // The data file that checkpoint `id` holds and no earlier one does (full checkpoints: its
  // keyed-state file; incremental: the SST file its own flush wrote, in shared/).
  std::string OwnDataFile(uint64_t id) {
    auto m =
        ReadCheckpoint(dir_.Sub("checkpoints/chk-" + std::to_string(id)), CheckpointVerify::kNone);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    std::optional<CheckpointMetadata> before;
    if (id > 1) {
      before = *ReadCheckpoint(dir_.Sub("checkpoints/chk-" + std::to_string(id - 1)),
                               CheckpointVerify::kNone);
    }
    for (const CheckpointFile& f : m->files) {
      const bool data = Incremental() ? f.shared : f.name == "keyed-state";
      // Private files are each checkpoint's own; shared ones may be an earlier one's.
      const bool earlier =
          f.shared && before &&
          std::find(before->files.begin(), before->files.end(), f) != before->files.end();
      if (data && !earlier) return m->PathOf(f);
    }
    ADD_FAILURE() << "checkpoint " << id << " has no data file of its own";
    return {};
  }

  TempDir dir_;
  ManualClock clock_{1'767'225'600'000};
};

TEST_P(CheckpointTest, CompleteCheckpointsRestoreAndOldOnesAreRetired) {
  auto b = Backend("db");
  auto c = CheckpointCoordinator::Open(b.get(), Options(2));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (int round = 1; round <= 4; ++round) {
    WriteRound(*b, round, 200);
    auto m = (*c)->Trigger();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->id, static_cast<uint64_t>(round));
    EXPECT_TRUE(fs::exists(fs::path(m->directory) / "_metadata"));
  }
  // Two retained: chk-3 and chk-4.
  EXPECT_FALSE(fs::exists(dir_.Sub("checkpoints/chk-2")));
  EXPECT_TRUE(fs::exists(dir_.Sub("checkpoints/chk-3")));
  auto latest = FindLatestCheckpoint(dir_.Sub("checkpoints"));
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->id, 4u);
  EXPECT_EQ(latest->backend, BackendName());
  EXPECT_EQ(latest->format,
            Incremental() ? CheckpointFormat::kRocksDbNative : CheckpointFormat::kKeyedSnapshot);
  ASSERT_EQ(latest->states.size(), 1u);
  EXPECT_EQ(latest->states[0], kCount.meta());

  auto restored = Backend("restored");
  ASSERT_SW_OK(RestoreFromCheckpoint(*restored, *latest));
  EXPECT_EQ(RoundOf(*restored, 200), 4);

  const CheckpointStats stats = (*c)->Stats();
  EXPECT_EQ(stats.completed, 4u);
  EXPECT_EQ(stats.failed, 0u);
  ASSERT_TRUE(stats.last_completed.has_value());
  EXPECT_EQ(stats.last_completed->full_size_bytes, latest->full_size_bytes());
  EXPECT_GT(stats.last_completed->full_size_bytes, 200u * 8);
  EXPECT_EQ(stats.history.size(), 4u);

  // A new coordinator over the same root continues the ids.
  auto again = CheckpointCoordinator::Open(b.get(), Options(2));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->latest()->id, 4u);
  EXPECT_EQ((*again)->Trigger()->id, 5u);
}

TEST_P(CheckpointTest, TimeTriggersFollowIntervalAndMinPause) {
  auto b = Backend("db");
  CheckpointOptions o = Options();
  o.interval = std::chrono::minutes(10);
  o.min_pause = std::chrono::minutes(15);
  auto c = *CheckpointCoordinator::Open(b.get(), o);
  WriteRound(*b, 1, 10);
  auto first = c->MaybeTrigger();
  ASSERT_TRUE(first.ok() && first->has_value());
  clock_.Advance(std::chrono::minutes(10));  // interval passed, pause not
  EXPECT_FALSE(c->MaybeTrigger()->has_value());
  clock_.Advance(std::chrono::minutes(5));
  auto second = c->MaybeTrigger();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->id, 2u);
}

TEST_P(CheckpointTest, DamagedCheckpointsAreNamedAndTheLastGoodOneIsUsed) {
  auto b = Backend("db");
  auto c = *CheckpointCoordinator::Open(b.get(), Options(5));
  for (int round = 1; round <= 3; ++round) {
    WriteRound(*b, round, 50);
    ASSERT_TRUE(c->Trigger().ok());
  }
  const std::string chk3 = dir_.Sub("checkpoints/chk-3");
  const std::string data3 = OwnDataFile(3);
  const std::string data2 = OwnDataFile(2);
  const std::string data1 = OwnDataFile(1);
  // Truncated data file.
  fs::resize_file(data3, fs::file_size(data3) - 3);
  auto read = ReadCheckpoint(chk3);
  ASSERT_TRUE(read.status().IsCorruption()) << read.status().ToString();
  EXPECT_THAT(read.status().message(), HasSubstr(data3));
  EXPECT_THAT(read.status().message(), HasSubstr("truncated"));
  std::vector<std::string> skipped;
  auto latest = FindLatestCheckpoint(dir_.Sub("checkpoints"), &skipped);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->id, 2u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(skipped[0], HasSubstr("chk-3"));

  // Same size, one byte changed: the checksum catches it.
  {
    std::fstream f(data2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x7f');
  }
  EXPECT_THAT(ReadCheckpoint(dir_.Sub("checkpoints/chk-2")).status().message(),
              HasSubstr("checksum"));
  // A missing file.
  const std::string metadata1 = dir_.Sub("checkpoints/chk-1/_metadata");
  const std::string good_metadata = ReadWhole(metadata1);
  fs::remove(data1);
  EXPECT_THAT(ReadCheckpoint(dir_.Sub("checkpoints/chk-1")).status().message(),
              HasSubstr("is missing"));
  EXPECT_TRUE(FindLatestCheckpoint(dir_.Sub("checkpoints")).status().IsNotFound());
  // Metadata of another (future) version, checksum intact: NotSupported, naming both versions.
  std::string future = good_metadata;
  const uint32_t version = 9;
  std::memcpy(future.data() + 8, &version, 4);
  const uint32_t crc = Crc32c(std::string_view(future).substr(0, future.size() - 4));
  std::memcpy(future.data() + future.size() - 4, &crc, 4);
  std::ofstream(metadata1, std::ios::binary | std::ios::trunc) << future;
  auto other = ReadCheckpoint(dir_.Sub("checkpoints/chk-1"));
  ASSERT_TRUE(other.status().IsNotSupported()) << other.status().ToString();
  EXPECT_THAT(other.status().message(), HasSubstr("version 9"));
  EXPECT_THAT(other.status().message(), HasSubstr(metadata1));
  // Nothing was deleted by the failed reads.
  EXPECT_TRUE(fs::exists(data3));
  EXPECT_TRUE(fs::exists(metadata1));
}

TEST_P(CheckpointTest, AFailedCheckpointIsCountedAndLeavesThePreviousOne) {
  auto b = Backend("db");
  auto c = *CheckpointCoordinator::Open(b.get(), Options());
  WriteRound(*b, 1, 20);
  ASSERT_TRUE(c->Trigger().ok());
  // The next checkpoint's directory name is taken by a file: creating it fails.
  std::ofstream(dir_.Sub("checkpoints/chk-2")) << "in the way";
  WriteRound(*b, 2, 20);
  auto failed = c->Trigger();
  ASSERT_TRUE(failed.status().IsIOError()) << failed.status().ToString();
  EXPECT_THAT(failed.status().message(), HasSubstr("chk-2"));
  EXPECT_EQ(c->Stats().failed, 1u);
  EXPECT_EQ(c->Stats().completed, 1u);
  EXPECT_EQ(c->latest()->id, 1u);
  auto latest = FindLatestCheckpoint(dir_.Sub("checkpoints"));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->id, 1u);
  // The next try takes the next id and succeeds.
  auto next = c->Trigger();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->id, 3u);
}

// The crash test's child: checkpoints round after round until killed, reporting -round as a
// checkpoint starts and its id once it completed.
[[noreturn]] void CheckpointUntilKilled(const std::string& root, const std::string& backend,
                                        bool incremental,
                                        const statewatch::testing::ReportFn& report, int keys) {
  ManualClock clock(1'767'225'600'000);
  BackendOptions o;
  o.backend = backend;
  o.clock = &clock;
  o.rocksdb.local_directory = root + "-db";
  auto b = NewKeyedStateBackend(o);
  if (!b.ok()) ::_exit(4);
  CheckpointOptions co;
  co.root = root;
  co.retained = 2;
  co.incremental = incremental;
  auto c = CheckpointCoordinator::Open(b->get(), co);
  if (!c.ok()) ::_exit(5);
  auto* s = *(*b)->GetValueState(kCount);
  for (int64_t round = 1;; ++round) {
    for (int64_t k = 0; k < keys; ++k) {
      if (!(*b)->SetCurrentKey(k).ok() || !s->Update(round * 1000 + k).ok()) ::_exit(6);
    }
    report(-round);
    auto m = (*c)->Trigger();
    if (!m.ok() || m->id != static_cast<uint64_t>(round)) ::_exit(7);
    report(static_cast<int64_t>(m->id));
  }
}

constexpr char kCrashRootVariable[] = "STATEWATCH_CHECKPOINT_CRASH_ROOT";

TEST_P(CheckpointTest, SigkillAtRandomPointsAlwaysLeavesTheLastCompleteCheckpoint) {
  constexpr int kKeys = 20000;  // a few hundred KB per checkpoint: kills land mid-write
  // The child runs this test afresh (fork + exec: RocksDB's threads do not survive a bare fork).
  if (const char* root = std::getenv(kCrashRootVariable)) {
    fs::remove_all(dir_.path());  // the child's own fixture directory: unused
    CheckpointUntilKilled(root, BackendName(), Incremental(),
                          statewatch::testing::ReportFnFromEnvironment(), kKeys);
  }
  std::mt19937_64 rng(42);
  int interrupted = 0;  // attempts whose kill left a checkpoint half-written
  for (int attempt = 0; attempt < 12; ++attempt) {
    const std::string root = dir_.Sub("crash-" + std::to_string(attempt));
    // Odd and even report counts put the kill inside a checkpoint or between two.
    const size_t kill_after = 1 + rng() % 8;
    const std::vector<int64_t> reports =
        statewatch::testing::RunSelfAndKill(kCrashRootVariable, root, kill_after);
    ASSERT_GE(reports.size(), kill_after);
    int64_t last_complete = 0;
    for (int64_t r : reports) last_complete = std::max(last_complete, r);
    auto latest = FindLatestCheckpoint(root);
    if (last_complete == 0) {  // killed during the very first checkpoint
      EXPECT_TRUE(latest.status().IsNotFound()) << latest.status().ToString();
      ++interrupted;
      continue;
    }
    ASSERT_TRUE(latest.ok()) << latest.status().ToString();
    // The newest complete one is the last reported, or the one the kill interrupted just
    // after its metadata landed.
    EXPECT_GE(latest->id, static_cast<uint64_t>(last_complete));
    EXPECT_LE(latest->id, static_cast<uint64_t>(last_complete) + 1);
    if (fs::exists(root + "/chk-" + std::to_string(latest->id + 1))) ++interrupted;
    auto restored = Backend("restored-" + std::to_string(attempt));
    ASSERT_SW_OK(RestoreFromCheckpoint(*restored, *latest));
    EXPECT_EQ(RoundOf(*restored, kKeys), static_cast<int64_t>(latest->id)) << "attempt " << attempt;
  }
  EXPECT_GT(interrupted, 0) << "no kill landed inside a checkpoint: the test proves little";
}

// A state restored but not touched since (not registered) is carried by the next checkpoint,
// as in Flink: a job that reads a state only now and then does not lose it.
TEST_P(CheckpointTest, StatesRestoredButNotRegisteredAreCarriedForward) {
  auto source = Backend("source");
  statewatch::testing::FillEveryStateKind(*source, clock_);
  std::vector<statewatch::testing::Row> want = statewatch::testing::ScanAll(*source);
  std::sort(want.begin(), want.end());
  CheckpointOptions o = Options();
  auto first = (*CheckpointCoordinator::Open(source.get(), o))->Trigger();
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  auto middle = Backend("middle");
  ASSERT_SW_OK(RestoreFromCheckpoint(*middle, *ReadCheckpoint(first->directory)));
  ASSERT_TRUE(middle->GetValueState(ValueStateDescriptor<std::string>("segment")).ok());
  EXPECT_EQ(middle->PendingRestoredStates().size(), 4u);
  o.root = dir_.Sub("checkpoints-middle");
  auto second = (*CheckpointCoordinator::Open(middle.get(), o))->Trigger();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->states.size(), 5u);

  auto last = Backend("last");
  ASSERT_SW_OK(RestoreFromCheckpoint(*last, *ReadCheckpoint(second->directory)));
  statewatch::testing::RegisterFilledStates(*last);
  std::vector<statewatch::testing::Row> got = statewatch::testing::ScanAll(*last);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

// Operator and broadcast state travel in the checkpoint too, and rescale from it.
TEST_P(CheckpointTest, OperatorStateIsCheckpointedAndRedistributed) {
  std::vector<CheckpointMetadata> old;
  for (int instance = 0; instance < 2; ++instance) {
    auto b = Backend("db-" + std::to_string(instance));
    OperatorStateBackend ops;
    auto* offsets = *ops.GetListState<int64_t>("offsets");
    auto* rules = *ops.GetBroadcastState<std::string, int64_t>("rules");
    for (int64_t i = 0; i < 5; ++i) ASSERT_SW_OK(offsets->Add(instance * 100 + i));
    ASSERT_SW_OK(rules->Put("max_lag", 30));
    CheckpointOptions o = Options();
    o.root = dir_.Sub("checkpoints-" + std::to_string(instance));
    auto c = CheckpointCoordinator::Open(b.get(), o, &ops);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto m = (*c)->Trigger();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_TRUE(std::any_of(m->files.begin(), m->files.end(),
                            [](const CheckpointFile& f) { return f.name == "operator-state"; }));
    auto verified = ReadCheckpoint(m->directory);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    old.push_back(*verified);
  }
  // Same parallelism: instance 0 gets its own list back.
  {
    auto snap = ReadOperatorStateSnapshot(old[0]);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    OperatorStateBackend restored;
    ASSERT_SW_OK(restored.Restore(*snap));
    auto* offsets = *restored.GetListState<int64_t>("offsets");
    EXPECT_EQ(offsets->Get().value(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  }
  // 2 → 3: the ten offsets split 4/3/3 in order, the broadcast map everywhere.
  std::vector<OperatorStateSnapshot> snaps;
  for (const CheckpointMetadata& m : old) snaps.push_back(*ReadOperatorStateSnapshot(m));
  auto parts = RedistributeOperatorState(snaps, 3);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  std::vector<int64_t> all;
  for (int i = 0; i < 3; ++i) {
    OperatorStateBackend ops;
    ASSERT_SW_OK(ops.Restore((*parts)[static_cast<size_t>(i)]));
    auto got = (*ops.GetListState<int64_t>("offsets"))->Get().value();
    EXPECT_EQ(got.size(), i == 0 ? 4u : 3u);
    all.insert(all.end(), got.begin(), got.end());
    EXPECT_EQ((*ops.GetBroadcastState<std::string, int64_t>("rules"))->Get("max_lag").value(), 30);
  }
  EXPECT_EQ(all, (std::vector<int64_t>{0, 1, 2, 3, 4, 100, 101, 102, 103, 104}));

  // A damaged operator-state file is caught by the checkpoint's checksum.
  const std::string file = old[1].directory + "/operator-state";
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6);
    f.put('\x55');
  }
  auto damaged = ReadCheckpoint(old[1].directory);
  EXPECT_TRUE(damaged.status().IsCorruption());
  EXPECT_THAT(damaged.status().message(), HasSubstr("operator-state"));
}

// A savepoint from the heap restores into RocksDB, and RocksDB's savepoint back into the heap,
// with identical entries (timestamps included).
TEST(SavepointTest, HeapToRocksDbAndBackIsIdentical) {
  TempDir dir;
  ManualClock clock(1'767'225'600'000);
  const auto desc = MapStateDescriptor<std::string, int64_t>("orders").EnableTimeToLive(
      TtlConfig::Of(std::chrono::hours(24)));
  auto scan = [](KeyedStateBackend& b) {
    std::vector<std::tuple<int, std::string, std::string, std::string, int64_t>> rows;
    EXPECT_SW_OK(b.ScanState("orders", ScanOptions(), [&](const StateEntry& e) {
      rows.emplace_back(e.key_group, std::string(e.key), std::string(e.user_key),
                        std::string(e.value), e.timestamp);
      return true;
    }));
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  auto make = [&](const std::string& backend, const std::string& name) {
    BackendOptions o = statewatch::testing::TestOptions(backend, &clock, dir);
    o.rocksdb.local_directory = dir.Sub(name);
    return statewatch::testing::MakeBackend(o);
  };
  auto heap = make("hashmap", "heap");
  auto* orders = *heap->GetMapState(desc);
  for (int64_t k = 0; k < 300; ++k) {
    ASSERT_SW_OK(heap->SetCurrentKey(k));
    ASSERT_SW_OK(orders->Put("o" + std::to_string(k), k));
    clock.Advance(std::chrono::seconds(7));
  }
  CheckpointOptions co;
  co.root = dir.Sub("checkpoints");
  auto c1 = *CheckpointCoordinator::Open(heap.get(), co);
  auto sp1 = c1->TriggerSavepoint(dir.Sub("savepoint-1"));
  ASSERT_TRUE(sp1.ok()) << sp1.status().ToString();
  EXPECT_EQ(sp1->id, 0u);
  EXPECT_TRUE(c1->TriggerSavepoint(dir.Sub("savepoint-1")).status().IsAlreadyExists());
  EXPECT_EQ(c1->Stats().completed, 0u);  // savepoints are not checkpoints

  auto rocks = make("rocksdb", "rocks");
  ASSERT_SW_OK(RestoreFromCheckpoint(*rocks, *ReadCheckpoint(dir.Sub("savepoint-1"))));
  ASSERT_TRUE(rocks->GetMapState(desc).ok());
  EXPECT_EQ(scan(*rocks), scan(*heap));

  co.root = dir.Sub("checkpoints-rocks");
  auto c2 = *CheckpointCoordinator::Open(rocks.get(), co);
  ASSERT_TRUE(c2->TriggerSavepoint(dir.Sub("savepoint-2")).ok());
  auto back = make("hashmap", "back");
  ASSERT_SW_OK(RestoreFromCheckpoint(*back, *ReadCheckpoint(dir.Sub("savepoint-2"))));
  ASSERT_TRUE(back->GetMapState(desc).ok());
  EXPECT_EQ(scan(*back), scan(*heap));
  EXPECT_FALSE(scan(*back).empty());
}

INSTANTIATE_TEST_SUITE_P(Modes, CheckpointTest,
                         ::testing::Values("hashmap", "rocksdb", "rocksdb_incremental"),
                         statewatch::testing::BackendParamName);

}  // namespace
}  // namespace statewatch
