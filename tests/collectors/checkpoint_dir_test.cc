// CheckpointDirCollector: a statewatch root written by the real engine (exact sizes, matching
// the coordinator's own stats), a Flink-shaped root built file by file (sizes from the tree,
// delta from modification times), a Flink state.checkpoints.dir with two jobs, and bad paths.
#include "statewatch/collectors/checkpoint_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>

#include "collectors/samples.h"
#include "embedded-state/test_util.h"
#include "statewatch/collectors/registry.h"
#include "statewatch/state/checkpoint.h"

namespace statewatch::collectors {
namespace {

namespace fs = std::filesystem;
using statewatch::collectors::testing::Count;
using statewatch::collectors::testing::Find;
using statewatch::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1'767'225'600'000;

void WriteFile(const fs::path& path, size_t bytes, double mtime_seconds) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << std::string(bytes, 'x');
  struct timeval times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(mtime_seconds);
  times[0].tv_usec = times[1].tv_usec = 0;
  ASSERT_EQ(::utimes(path.c_str(), times), 0);
}

std::vector<rules::Sample> CollectFrom(const std::string& path) {
  CheckpointDirCollector c("cdc", "chk", path);
  std::vector<rules::Sample> out;
  const Status s = c.Collect(kNow, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(CheckpointDirCollectorTest, StatewatchRootMatchesTheCoordinatorsOwnStats) {
  TempDir dir;
  ManualClock clock(kNow);
  BackendOptions o = statewatch::testing::TestOptions("rocksdb", &clock, dir);
  auto backend = statewatch::testing::MakeBackend(o);
  auto* s = *backend->GetValueState(ValueStateDescriptor<std::string>("orders"));
  CheckpointOptions co;
  co.root = dir.Sub("checkpoints");
  co.incremental = true;
  auto coordinator = *CheckpointCoordinator::Open(backend.get(), co);
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 2000; ++k) {
      ASSERT_SW_OK(backend->SetCurrentKey(k + round * 500));
      ASSERT_SW_OK(s->Update(std::string(64, static_cast<char>('a' + round))));
    }
    ASSERT_TRUE(coordinator->Trigger().ok());
  }
  const CheckpointRecord last = *coordinator->Stats().last_completed;
  const std::vector<rules::Sample> out = CollectFrom(co.root);
  const std::map<std::string, std::string> labels{{"job", "cdc"}, {"source", "chk"}};
  EXPECT_EQ(Find(out, "statewatch_checkpoint_full_size_bytes", labels),
            static_cast<double>(last.full_size_bytes));
  EXPECT_EQ(Find(out, "statewatch_checkpoint_delta_size_bytes", labels),
            static_cast<double>(last.delta_size_bytes));
  EXPECT_EQ(Find(out, "statewatch_checkpoint_retained", labels), 3.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_latest_id", labels), 3.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_incomplete", labels), 0.0);
  EXPECT_GT(*Find(out, "statewatch_checkpoint_shared_bytes", labels), 0.0);
  // The manual clock says the checkpoint was triggered in 2026; the file was written now.
  EXPECT_TRUE(Find(out, "statewatch_checkpoint_duration_seconds", labels).has_value());
  EXPECT_EQ(Count(out, "statewatch_checkpoint_last_completed_timestamp_seconds"), 1u);
  // The disk under the root, for DiskWillFillUp.
  EXPECT_GT(Find(out, "statewatch_filesystem_size_bytes", {{"path", co.root}}).value_or(0), 0);
  EXPECT_GT(Find(out, "statewatch_filesystem_avail_bytes", labels).value_or(0), 0);
}

// Flink's layout, built by hand: chk-41 and chk-42 complete, chk-43 in progress; shared files
// written before chk-41 completed, and two after it (the delta of chk-42).
TEST(CheckpointDirCollectorTest, FlinkRootSizesFromTheTreeAndDeltaFromModificationTimes) {
  TempDir dir;
  const fs::path root = dir.path() / "job";
  WriteFile(root / "shared" / "a1b2-old.sst", 1000, 1000);
  WriteFile(root / "shared" / "c3d4-old.sst", 2000, 1000);
  WriteFile(root / "chk-41" / "_metadata", 50, 1100);
  WriteFile(root / "shared" / "e5f6-new.sst", 300, 1150);
  WriteFile(root / "taskowned" / "x", 7, 1160);
  WriteFile(root / "chk-42" / "_metadata", 60, 1200);
  WriteFile(root / "chk-42" / "op-state-uuid", 40, 1190);
  WriteFile(root / "chk-43" / "half-written", 10, 1250);
  const std::vector<rules::Sample> out = CollectFrom(root.string());
  const std::map<std::string, std::string> none;
  EXPECT_EQ(Find(out, "statewatch_checkpoint_full_size_bytes", none), 60 + 40 + 3300 + 7.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_delta_size_bytes", none), 60 + 40 + 300 + 7.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_shared_bytes", none), 3307.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_retained", none), 2.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_incomplete", none), 1.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_latest_id", none), 42.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_last_completed_timestamp_seconds", none), 1200.0);
  EXPECT_EQ(Count(out, "statewatch_checkpoint_duration_seconds"), 0u);  // Flink's is not on disk
}

TEST(CheckpointDirCollectorTest, FlinkCheckpointsDirWithSeveralJobsIsLabelledByJobId) {
  TempDir dir;
  WriteFile(dir.path() / "0f1e" / "chk-3" / "_metadata", 10, 100);
  WriteFile(dir.path() / "9a8b" / "chk-7" / "_metadata", 20, 100);
  WriteFile(dir.path() / "9a8b" / "shared" / "s", 5, 50);
  fs::create_directories(dir.path() / "not-a-job");
  const std::vector<rules::Sample> out = CollectFrom(dir.path().string());
  EXPECT_EQ(Find(out, "statewatch_checkpoint_latest_id", {{"job_id", "0f1e"}}), 3.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_latest_id", {{"job_id", "9a8b"}}), 7.0);
  EXPECT_EQ(Find(out, "statewatch_checkpoint_full_size_bytes", {{"job_id", "9a8b"}}), 25.0);
  EXPECT_EQ(Count(out, "statewatch_checkpoint_retained"), 2u);
}

TEST(CheckpointDirCollectorTest, EmptyMissingAndNonDirectoryRoots) {
  TempDir dir;
  // Empty: nothing checkpointed yet, said as such.
  const std::vector<rules::Sample> empty = CollectFrom(dir.path().string());
  EXPECT_EQ(Find(empty, "statewatch_checkpoint_retained", {}), 0.0);
  EXPECT_EQ(Count(empty, "statewatch_checkpoint_full_size_bytes"), 0u);

  std::vector<rules::Sample> out;
  CheckpointDirCollector missing("cdc", "chk", dir.Sub("nope"));
  const Status s = missing.Collect(kNow, &out);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(dir.Sub("nope")));
  std::ofstream(dir.Sub("file")) << "x";
  CheckpointDirCollector file("cdc", "chk", dir.Sub("file"));
  const Status f = file.Collect(kNow, &out);
  EXPECT_TRUE(f.IsIOError()) << f.ToString();
  EXPECT_THAT(f.message(), HasSubstr("not a directory"));
  EXPECT_TRUE(out.empty());

  // Created through the registry, with its option checked.
  CollectorParams params;
  params.source = "chk";
  auto bad = BuiltinCollectors().Create("checkpoint_dir", params);
  EXPECT_THAT(bad.status().message(), HasSubstr("'path'"));
}

}  // namespace
}  // namespace statewatch::collectors
