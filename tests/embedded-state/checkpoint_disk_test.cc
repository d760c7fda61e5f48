// Checkpoint roots on a full disk and without permission: a clear error naming the file and the
// reason, the failure counted, the previous checkpoint still the latest and restorable, nothing
// left half-written — and checkpoints work again once space returns.
//
// The full disk is a small tmpfs mounted for the test (root and CAP_SYS_ADMIN needed: the test
// is skipped, saying why, where mounting is not allowed). "Without permission" runs in a child
// that drops to an unprivileged user, since root ignores file modes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "embedded-state/small_filesystem.h"
#include "embedded-state/test_util.h"
#include "statewatch/state/checkpoint.h"

namespace statewatch {
namespace {

namespace fs = std::filesystem;
using statewatch::testing::SmallFilesystem;
using statewatch::testing::TempDir;
using ::testing::HasSubstr;

const ValueStateDescriptor<std::string> kPayload("payload");

void Fill(KeyedStateBackend& b, int keys, size_t value_bytes) {
  auto* s = *b.GetValueState(kPayload);
  for (int k = 0; k < keys; ++k) {
    ASSERT_SW_OK(b.SetCurrentKey(k));
    // Varying bytes, so RocksDB's compression cannot shrink them below the tmpfs size.
    std::string v(value_bytes, '\0');
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>((k * 131 + i * 17) ^ (i >> 3));
    ASSERT_SW_OK(s->Update(v));
  }
}

class CheckpointDiskTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<KeyedStateBackend> Backend() {
    BackendOptions o = statewatch::testing::TestOptions(
        GetParam() == "hashmap" ? "hashmap" : "rocksdb", &clock_, dir_);
    o.rocksdb.local_directory = dir_.Sub("db");  // not on the small filesystem
    return statewatch::testing::MakeBackend(o);
  }

  TempDir dir_;
  ManualClock clock_{1'767'225'600'000};
};

TEST_P(CheckpointDiskTest, AFullDiskFailsClearlyKeepsThePreviousCheckpointAndRecovers) {
  SmallFilesystem small(dir_.Sub("small"), "1m");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << small.error();
  auto b = Backend();
  CheckpointOptions o;
  o.root = dir_.Sub("small/checkpoints");
  o.incremental = GetParam() == "rocksdb_incremental";
  auto c = *CheckpointCoordinator::Open(b.get(), o);
  Fill(*b, 100, 100);  // ~10 KB
  ASSERT_TRUE(c->Trigger().ok());
  Fill(*b, 4000, 500);  // ~2 MB: more than the filesystem holds
  auto failed = c->Trigger();
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("No space left on device"));
  EXPECT_THAT(failed.status().message(), HasSubstr(o.root));
  EXPECT_EQ(c->Stats().failed, 1u);
  EXPECT_EQ(c->latest()->id, 1u);
  // The partial checkpoint is gone; the first is intact and restores.
  EXPECT_FALSE(fs::exists(o.root + "/chk-2"));
  auto latest = FindLatestCheckpoint(o.root);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->id, 1u);
  {
    BackendOptions ro = statewatch::testing::TestOptions("hashmap", &clock_, dir_);
    auto restored = statewatch::testing::MakeBackend(ro);
    ASSERT_SW_OK(RestoreFromCheckpoint(*restored, *latest));
    ASSERT_TRUE(restored->GetValueState(kPayload).ok());
    EXPECT_EQ(restored->CollectStats()->states[0].keys, 100u);
  }
  // Space returns: the next checkpoint succeeds and holds everything.
  ASSERT_TRUE(small.Resize("64m"));
  auto next = c->Trigger();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->id, 3u);
  auto verified = ReadCheckpoint(next->directory);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  // Whatever the failed checkpoint copied into shared/ before the disk filled was collected.
  if (fs::exists(o.root + "/shared")) {
    for (const auto& e : fs::directory_iterator(o.root + "/shared")) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(std::any_of(verified->files.begin(), verified->files.end(),
                              [&](const CheckpointFile& f) { return f.shared && f.name == name; }))
          << "orphan " << name;
    }
  }
}

// A checkpoint holds the job's data: the directories it creates are 0750 and the files it
// writes 0640, so no other user reads them (a RocksDB checkpoint's hard links keep RocksDB's
// modes, but only inside such a directory).
TEST_P(CheckpointDiskTest, CheckpointsAreNotReadableByOtherUsers) {
  auto b = Backend();
  CheckpointOptions o;
  o.root = dir_.Sub("checkpoints");
  o.incremental = GetParam() == "rocksdb_incremental";
  auto c = *CheckpointCoordinator::Open(b.get(), o);
  Fill(*b, 100, 100);
  ASSERT_TRUE(c->Trigger().ok());
  Fill(*b, 200, 100);
  ASSERT_TRUE(c->Trigger().ok());
  size_t dirs = 0, ours = 0;
  auto mode = [](const fs::path& p) {
    return static_cast<unsigned>(fs::status(p).permissions()) & 0777u;
  };
  EXPECT_EQ(mode(o.root), 0750u);
  for (const auto& e : fs::recursive_directory_iterator(o.root)) {
    if (e.is_directory()) {
      EXPECT_EQ(mode(e.path()), 0750u) << e.path();
      ++dirs;
    } else if (fs::hard_link_count(e.path()) == 1 && e.path().extension() != ".sst") {
      EXPECT_EQ(mode(e.path()), 0640u) << e.path();  // written by the checkpoint itself
      ++ours;
    }
  }
  EXPECT_GE(dirs, 2u);
  EXPECT_GE(ours, 2u);
}

// Root ignores file modes, so a child process drops to "nobody" and tries a root-owned root.
// The backend does not matter here: the heap one starts no threads, so a plain fork is safe.
TEST(CheckpointPermissionTest, ARootWithoutPermissionIsAClearError) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  TempDir dir_;
  const std::string root = dir_.Sub("locked");
  fs::create_directories(root + "/chk-1");
  fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read |
                            fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(dir_.path(), fs::perms::all);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string message;
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      message = "cannot switch user";
    } else {
      ManualClock clock(1'767'225'600'000);
      BackendOptions o;
      o.clock = &clock;
      auto b = NewKeyedStateBackend(o);
      CheckpointOptions co;
      co.root = root;
      auto c = CheckpointCoordinator::Open(b->get(), co);
      if (!c.ok()) {
        message = c.status().ToString();
      } else {
        auto m = (*c)->Trigger();
        message = m.ok() ? "checkpoint succeeded" : m.status().ToString();
      }
    }
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_THAT(message, HasSubstr("Permission denied"));
  EXPECT_THAT(message, HasSubstr(root + "/chk-2"));
  EXPECT_TRUE(fs::exists(root + "/chk-1"));  // nothing deleted
}

INSTANTIATE_TEST_SUITE_P(Modes, CheckpointDiskTest,
                         ::testing::Values("hashmap", "rocksdb", "rocksdb_incremental"),
                         statewatch::testing::BackendParamName);

}  // namespace
}  // namespace statewatch
