// Incremental RocksDB checkpoints: only SST files not already in shared/ are copied, later
// checkpoints reference the earlier copies, shared files nobody refers to any more are deleted
// (and nothing still referenced is), and the native files restore into either backend at any
// parallelism with every state kind and TTL timestamp intact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "embedded-state/filled_states.h"
#include "embedded-state/test_util.h"
#include "statewatch/state/checkpoint.h"

namespace statewatch {
namespace {

namespace fs = std::filesystem;
using statewatch::testing::Row;
using statewatch::testing::ScanAll;
using statewatch::testing::TempDir;
using ::testing::HasSubstr;

const ValueStateDescriptor<std::string> kPayload("payload");

class IncrementalCheckpointTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyedStateBackend> Backend(const std::string& backend, const std::string& name,
                                             KeyGroupRange range = KeyGroupRange::Empty(),
                                             int parallelism_max = 128) {
    BackendOptions o = statewatch::testing::TestOptions(backend, &clock_, dir_);
    o.rocksdb.local_directory = dir_.Sub(name);
    o.max_parallelism = parallelism_max;
    o.key_group_range = range;
    return statewatch::testing::MakeBackend(o);
  }
  CheckpointOptions Options(const std::string& root, int retained = 3) {
    CheckpointOptions o;
    o.root = dir_.Sub(root);
    o.retained = retained;
    o.incremental = true;
    return o;
  }
  // Writes `value` for keys [from, to).
  static void Write(KeyedStateBackend& b, int from, int to, const std::string& value) {
    auto* s = *b.GetValueState(kPayload);
    for (int k = from; k < to; ++k) {
      ASSERT_SW_OK(b.SetCurrentKey("key-" + std::to_string(k)));
      ASSERT_SW_OK(s->Update(value + std::to_string(k)));
    }
  }
  // Names of the files in ROOT/shared/.
  static std::set<std::string> SharedDir(const std::string& root) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(fs::path(root) / "shared")) {
      names.insert(e.path().filename().string());
    }
    return names;
  }
  // Names of the shared files the complete checkpoints under `root` refer to.
  static std::set<std::string> Referenced(const std::string& root) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(root)) {
      auto m = ReadCheckpoint(e.path().string(), CheckpointVerify::kNone);
      if (!m.ok()) continue;
      for (const CheckpointFile& f : m->files) {
        if (f.shared) names.insert(f.name);
      }
    }
    return names;
  }

  TempDir dir_;
  ManualClock clock_{1'767'225'600'000};
};

TEST_F(IncrementalCheckpointTest, CopiesOnlyNewSstFilesAndReferencesTheRest) {
  auto b = Backend("rocksdb", "db");
  auto c = *CheckpointCoordinator::Open(b.get(), Options("chk"));
  Write(*b, 0, 20000, std::string(100, 'a'));
  auto first = c->Trigger();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->format, CheckpointFormat::kRocksDbNative);
  // RocksDB's small files are the checkpoint's own; the SSTs are in shared/.
  std::set<std::string> private_files;
  size_t shared = 0;
  for (const CheckpointFile& f : first->files) {
    if (f.shared) {
      ++shared;
      EXPECT_THAT(f.name, ::testing::EndsWith(".sst"));
      EXPECT_TRUE(fs::exists(dir_.Sub("chk/shared/" + f.name)));
    } else {
      private_files.insert(f.name.substr(0, f.name.find('-')));
    }
  }
  EXPECT_GE(shared, 1u);
  EXPECT_TRUE(private_files.count("CURRENT") && private_files.count("MANIFEST") &&
              private_files.count("OPTIONS"))
      << ::testing::PrintToString(private_files);
  const CheckpointRecord r1 = *c->Stats().last_completed;
  EXPECT_EQ(r1.delta_size_bytes, r1.full_size_bytes);  // the first copies everything

  // 1 % of the keys change: the next checkpoint copies one small SST (and the small files).
  Write(*b, 0, 200, std::string(100, 'b'));
  auto second = c->Trigger();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const CheckpointRecord r2 = *c->Stats().last_completed;
  EXPECT_GT(r2.full_size_bytes, r1.full_size_bytes);
  EXPECT_LT(r2.delta_size_bytes * 10, r2.full_size_bytes)
      << "delta " << r2.delta_size_bytes << " of " << r2.full_size_bytes;
  for (const CheckpointFile& f : first->files) {
    if (!f.shared) continue;
    EXPECT_NE(std::find(second->files.begin(), second->files.end(), f), second->files.end())
        << f.name << " was not referenced again";
  }

  // The second checkpoint restores into both backends with exactly the live entries.
  std::vector<Row> want = ScanAll(*b);
  std::sort(want.begin(), want.end());
  for (const std::string backend : {"hashmap", "rocksdb"}) {
    auto verified = ReadCheckpoint(second->directory);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    auto restored = Backend(backend, "restored-" + backend);
    ASSERT_SW_OK(RestoreFromCheckpoint(*restored, *verified));
    ASSERT_TRUE(restored->GetValueState(kPayload).ok());
    std::vector<Row> got = ScanAll(*restored);
    std::sort(got.begin(), got.end());  // the heap's order within a key group is its own
    EXPECT_EQ(got, want) << backend;
  }
}

TEST_F(IncrementalCheckpointTest, RestoresEveryStateKindWithTtlIntoBothBackends) {
  auto source = Backend("rocksdb", "source");
  statewatch::testing::FillEveryStateKind(*source, clock_);
  auto c = *CheckpointCoordinator::Open(source.get(), Options("chk"));
  auto m = c->Trigger();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->states.size(), 5u);
  std::vector<Row> want = ScanAll(*source);
  std::sort(want.begin(), want.end());
  for (const std::string backend : {"hashmap", "rocksdb"}) {
    auto target = Backend(backend, "target-" + backend);
    ASSERT_SW_OK(RestoreFromCheckpoint(*target, *ReadCheckpoint(m->directory)));
    statewatch::testing::RegisterFilledStates(*target);
    std::vector<Row> got = ScanAll(*target);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << backend;
  }
}

// Rounds of writes, compactions (which make old SSTs obsolete) and checkpoints, with a crash's
// leftovers planted in shared/: after every checkpoint, shared/ holds exactly what the retained
// checkpoints refer to — no orphan, nothing missing — and every retained checkpoint verifies.
TEST_F(IncrementalCheckpointTest, SharedFilesLiveExactlyAsLongAsARetainedCheckpointRefersToThem) {
  auto b = Backend("rocksdb", "db");
  const std::string root = dir_.Sub("chk");
  auto c = *CheckpointCoordinator::Open(b.get(), Options("chk", 2));
  std::set<std::string> ever_shared;
  for (int round = 0; round < 10; ++round) {
    Write(*b, round * 300, round * 300 + 600, "round-" + std::to_string(round) + "-");
    if (round % 3 == 2) ASSERT_SW_OK(b->CompactState("payload"));
    if (round == 4) {  // what a crash mid-copy leaves behind
      std::ofstream(root + "/shared/orphan-000999.sst") << "never referenced";
      std::ofstream(root + "/shared/x-000998.sst.inprogress") << "half";
    }
    auto m = c->Trigger();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const std::set<std::string> referenced = Referenced(root);
    EXPECT_EQ(SharedDir(root), referenced) << "after round " << round;
    for (const auto& name : referenced) ever_shared.insert(name);
    for (const auto& e : fs::directory_iterator(root)) {
      if (e.path().filename() == "shared") continue;
      auto verified = ReadCheckpoint(e.path().string());
      EXPECT_TRUE(verified.ok()) << verified.status().ToString();
    }
  }
  // Compactions retired files, and the collector deleted them.
  EXPECT_GT(ever_shared.size(), SharedDir(root).size());

  // A retained checkpoint whose metadata cannot be read: its references are unknown, so the
  // next checkpoint deletes nothing from shared/.
  const std::set<std::string> before = SharedDir(root);
  const std::string latest = c->latest()->directory;
  std::ofstream(latest + "/_metadata", std::ios::trunc) << "garbage";
  ASSERT_SW_OK(b->CompactState("payload"));
  ASSERT_TRUE(c->Trigger().ok());
  for (const std::string& name : before) {
    EXPECT_TRUE(fs::exists(root + "/shared/" + name)) << name << " deleted while unknown";
  }
}

// A new coordinator (a restart) over the root goes on referencing what is there and collects
// what a killed run left.
TEST_F(IncrementalCheckpointTest, ARestartedCoordinatorReusesAndCollectsSharedFiles) {
  const std::string root = dir_.Sub("chk");
  auto b = Backend("rocksdb", "db");
  {
    auto c = *CheckpointCoordinator::Open(b.get(), Options("chk"));
    Write(*b, 0, 3000, "v");
    ASSERT_TRUE(c->Trigger().ok());
  }
  auto c = *CheckpointCoordinator::Open(b.get(), Options("chk"));
  Write(*b, 0, 30, "w");
  ASSERT_TRUE(c->Trigger().ok());
  const CheckpointRecord r = *c->Stats().last_completed;
  EXPECT_LT(r.delta_size_bytes * 4, r.full_size_bytes) << "the restart copied everything again";
  EXPECT_EQ(SharedDir(root), Referenced(root));
}

// Rescale from incremental checkpoints: 2 RocksDB instances → 3 (heap and RocksDB), every key
// in the instance owning its key group.
TEST_F(IncrementalCheckpointTest, RescalesTwoToThree) {
  constexpr int kMax = 128;
  constexpr int kKeys = 3000;
  auto owner = [&](int k, int parallelism) {
    return OperatorIndexForKeyGroup(
        kMax, parallelism, KeyGroupForKey(SerializeToString("key-" + std::to_string(k)), kMax));
  };
  std::vector<CheckpointMetadata> old;
  for (int i = 0; i < 2; ++i) {
    auto b = Backend("rocksdb", "old-" + std::to_string(i), KeyGroupRangeForOperator(kMax, 2, i));
    auto* s = *b->GetValueState(kPayload);
    for (int k = 0; k < kKeys; ++k) {
      if (owner(k, 2) != i) continue;
      ASSERT_SW_OK(b->SetCurrentKey("key-" + std::to_string(k)));
      ASSERT_SW_OK(s->Update("v" + std::to_string(k)));
    }
    auto c = *CheckpointCoordinator::Open(b.get(), Options("chk-" + std::to_string(i)));
    auto m = c->Trigger();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    old.push_back(*ReadCheckpoint(m->directory));
  }
  for (const std::string backend : {"hashmap", "rocksdb"}) {
    size_t total = 0;
    for (int i = 0; i < 3; ++i) {
      auto b = Backend(backend, backend + "-new-" + std::to_string(i),
                       KeyGroupRangeForOperator(kMax, 3, i));
      ASSERT_SW_OK(RestoreFromCheckpoints(*b, old));
      auto* s = *b->GetValueState(kPayload);
      for (int k = 0; k < kKeys; ++k) {
        if (owner(k, 3) != i) continue;
        ASSERT_SW_OK(b->SetCurrentKey("key-" + std::to_string(k)));
        auto v = s->Value();
        ASSERT_TRUE(v.ok()) << backend << " key " << k;
        EXPECT_EQ(*v, "v" + std::to_string(k));
      }
      total += b->CollectStats()->states[0].keys;
    }
    EXPECT_EQ(total, static_cast<size_t>(kKeys)) << backend;
  }
}

TEST_F(IncrementalCheckpointTest, DamagedOrMissingSharedFilesAreNamed) {
  auto b = Backend("rocksdb", "db");
  auto c = *CheckpointCoordinator::Open(b.get(), Options("chk", 5));
  Write(*b, 0, 2000, "a");
  auto first = *c->Trigger();
  Write(*b, 0, 100, "b");
  auto second = *c->Trigger();
  // The SST only the second checkpoint has.
  std::string own;
  for (const CheckpointFile& f : second.files) {
    if (f.shared && std::find(first.files.begin(), first.files.end(), f) == first.files.end()) {
      own = second.PathOf(f);
    }
  }
  ASSERT_FALSE(own.empty());
  {
    std::fstream f(own, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x5a');
  }
  auto damaged = ReadCheckpoint(second.directory);
  ASSERT_TRUE(damaged.status().IsCorruption()) << damaged.status().ToString();
  EXPECT_THAT(damaged.status().message(), HasSubstr(own));
  EXPECT_THAT(damaged.status().message(), HasSubstr("checksum"));
  // The first checkpoint does not need that file: it is the latest good one.
  std::vector<std::string> skipped;
  auto latest = FindLatestCheckpoint(dir_.Sub("chk"), &skipped);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->id, first.id);
  fs::remove(own);
  EXPECT_THAT(ReadCheckpoint(second.directory).status().message(), HasSubstr("missing"));
  EXPECT_TRUE(fs::exists(second.directory + "/_metadata"));  // reads delete nothing
}

// A RocksDB restore writes entries before the descriptor is registered; the descriptor then
// decides the TTL length and whether the compaction filter runs (Flink lets both change).
TEST_F(IncrementalCheckpointTest, RestoredRocksDbStateTakesTheRegisteredTtlAndCleanup) {
  for (const bool filter_in_snapshot : {true, false}) {
    SCOPED_TRACE(filter_in_snapshot ? "snapshot had the filter" : "snapshot had no filter");
    TtlConfig week = TtlConfig::Of(std::chrono::hours(24 * 7));
    if (filter_in_snapshot) week.CleanupInRocksdbCompactFilter(10);
    const std::string tag = filter_in_snapshot ? "a" : "b";
    auto source = Backend("hashmap", "source-" + tag);
    auto* s =
        *source->GetValueState(ValueStateDescriptor<std::string>("session").EnableTimeToLive(week));
    for (int k = 0; k < 500; ++k) {
      ASSERT_SW_OK(source->SetCurrentKey(k));
      ASSERT_SW_OK(s->Update("open"));
    }
    auto c = *CheckpointCoordinator::Open(source.get(), Options("chk-" + tag));
    auto m = c->Trigger();
    ASSERT_TRUE(m.ok()) << m.status().ToString();

    auto target = Backend("rocksdb", "target-" + tag);
    ASSERT_SW_OK(RestoreFromCheckpoint(*target, *ReadCheckpoint(m->directory)));
    const auto hour = ValueStateDescriptor<std::string>("session").EnableTimeToLive(
        TtlConfig::Of(std::chrono::hours(1)).CleanupInRocksdbCompactFilter(10));
    ASSERT_TRUE(target->GetValueState(hour).ok());
    clock_.Advance(std::chrono::hours(2));  // expired under the new TTL, not the old one
    ASSERT_SW_OK(target->CompactState("session"));
    auto stats = target->CollectStats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->states[0].keys, 0u);
    EXPECT_EQ(stats->states[0].expired_removed.compaction_filter, 500u);
    ASSERT_TRUE(stats->rocksdb.has_value());
    EXPECT_TRUE(stats->rocksdb->column_families[0].has_ttl_compaction_filter);
  }
}

}  // namespace
}  // namespace statewatch
