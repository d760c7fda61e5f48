// Keyed snapshots (the savepoint format): CRC-32C vectors, round trips of every state kind with
// and without TTL on both backends, backend neutrality, full-snapshot TTL cleanup, and every
// kind of bad file — truncated anywhere, a flipped byte, another version, a missing directory.
#include "statewatch/state/keyed_snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>

#include "embedded-state/filled_states.h"
#include "embedded-state/test_util.h"
#include "statewatch/state/crc32c.h"

namespace statewatch {
namespace {

using statewatch::testing::Average;
using statewatch::testing::RegisterFilledStates;
using statewatch::testing::Row;
using statewatch::testing::RowOf;

using statewatch::testing::TempDir;
using std::chrono::hours;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(Crc32cTest, MatchesKnownVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c("56789", Crc32c("1234")), Crc32c("123456789"));  // continuation
  // The hardware path (when present) and the table agree on every length and alignment.
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += 7) {
      const std::string_view v = std::string_view(data).substr(start, len);
      ASSERT_EQ(Crc32c(v, 0x1234), internal::Crc32cPortable(v, 0x1234)) << start << "+" << len;
    }
  }
  EXPECT_EQ(internal::Crc32cPortable("123456789"), 0xE3069283u);
}

class KeyedSnapshotTest : public ::testing::TestWithParam<std::string> {
 public:  // also used by the neutrality test, which fills both backends
  // Fills a backend with every kind of state, TTL on some, over many keys and key groups.
  std::unique_ptr<KeyedStateBackend> Filled(const std::string& backend, const std::string& dir) {
    BackendOptions o = statewatch::testing::TestOptions(backend, &clock_, dir_);
    o.rocksdb.local_directory = dir_.Sub(dir);
    auto b = statewatch::testing::MakeBackend(o);
    statewatch::testing::FillEveryStateKind(*b, clock_);
    EXPECT_SW_OK(b->Flush());
    return b;
  }

  static std::vector<Row> Scan(KeyedStateBackend& b) { return statewatch::testing::ScanAll(b); }

  static std::vector<Row> Read(const std::string& path, KeyedSnapshotInfo* info = nullptr) {
    std::vector<Row> rows;
    auto read = ReadKeyedSnapshot(path, [&](const StateMeta& m, const StateEntry& e) {
      rows.push_back(RowOf(m.name, e));
      return Status::OK();
    });
    EXPECT_TRUE(read.ok()) << read.status().ToString();
    if (read.ok() && info != nullptr) *info = *read;
    return rows;
  }

  TempDir dir_;
  ManualClock clock_{1'767'225'600'000};
};

TEST_P(KeyedSnapshotTest, RoundTripsEveryStateKind) {
  auto b = Filled(GetParam(), "db");
  const std::string path = dir_.Sub("snap");
  auto written = WriteKeyedSnapshot(*b, path);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(path + ".inprogress"));

  KeyedSnapshotInfo info;
  const std::vector<Row> rows = Read(path, &info);
  EXPECT_EQ(rows, Scan(*b));
  EXPECT_EQ(info.entries, rows.size());
  EXPECT_EQ(info.entries, written->entries);
  EXPECT_EQ(info.file_bytes, std::filesystem::file_size(path));
  EXPECT_EQ(info.backend, GetParam());
  EXPECT_EQ(info.max_parallelism, b->max_parallelism());
  EXPECT_EQ(info.key_group_range, b->key_group_range());
  ASSERT_EQ(info.states.size(), 5u);
  for (const StateMeta& m : info.states) {
    EXPECT_EQ(m, *b->GetStateMeta(m.name)) << m.ToString();
  }
  // 300 keys: values, 2 list elements, 2 map entries, sums, averages, one namespaced value.
  EXPECT_EQ(rows.size(), 300u * 7 + 1);
  // TTL timestamps travel with the entries that have them.
  for (const Row& r : rows) {
    const bool ttl = std::get<0>(r) == "events" || std::get<0>(r) == "sum";
    EXPECT_EQ(std::get<6>(r) != StateEntry::kNoTimestamp, ttl) << std::get<0>(r);
  }
}

TEST_P(KeyedSnapshotTest, FullSnapshotCleanupLeavesExpiredEntriesOut) {
  BackendOptions o = statewatch::testing::TestOptions(GetParam(), &clock_, dir_);
  auto b = statewatch::testing::MakeBackend(o);
  auto* s = *b->GetValueState(ValueStateDescriptor<std::string>("sessions")
                                  .EnableTimeToLive(TtlConfig::Of(hours(1)).CleanupFullSnapshot()));
  for (int k = 0; k < 10; ++k) {
    ASSERT_SW_OK(b->SetCurrentKey(k));
    ASSERT_SW_OK(s->Update("old"));
  }
  clock_.Advance(hours(2));
  for (int k = 10; k < 13; ++k) {
    ASSERT_SW_OK(b->SetCurrentKey(k));
    ASSERT_SW_OK(s->Update("new"));
  }
  auto written = WriteKeyedSnapshot(*b, dir_.Sub("snap"));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  const std::vector<Row> rows = Read(dir_.Sub("snap"));
  ASSERT_EQ(rows.size(), 3u);
  for (const Row& r : rows) EXPECT_EQ(std::get<5>(r), SerializeToString(std::string("new")));
}

// The same operations on both backends give the same snapshot contents: the format is neutral.
TEST(KeyedSnapshotNeutralityTest, HeapAndRocksDbSnapshotsHoldTheSameEntries) {
  std::vector<std::vector<Row>> contents;
  for (const std::string backend : {"hashmap", "rocksdb"}) {
    struct Helper : KeyedSnapshotTest {
      void TestBody() override {}
    } h;
    auto b = h.Filled(backend, "db");
    ASSERT_TRUE(WriteKeyedSnapshot(*b, h.dir_.Sub("snap")).ok());
    std::vector<Row> rows = KeyedSnapshotTest::Read(h.dir_.Sub("snap"));
    std::sort(rows.begin(), rows.end());  // within a key group, the backends' orders differ
    contents.push_back(std::move(rows));
  }
  EXPECT_EQ(contents[0].size(), contents[1].size());
  EXPECT_EQ(contents[0], contents[1]);
}

TEST_P(KeyedSnapshotTest, EveryTruncationAndFlippedByteIsACorruptionNamingTheFile) {
  auto b = Filled(GetParam(), "db");
  const std::string good = dir_.Sub("good");
  ASSERT_TRUE(WriteKeyedSnapshot(*b, good).ok());
  const std::string bytes = ReadFile(good);
  const std::string bad = dir_.Sub("bad");
  // Cut at the start, inside the magic, every record boundary region, and the last byte.
  std::vector<size_t> cuts = {
      0, 3, 8, 9, 12, 13, 20, bytes.size() / 2, bytes.size() - 5, bytes.size() - 1};
  for (size_t cut : cuts) {
    WriteFile(bad, bytes.substr(0, cut));
    auto r = ReadKeyedSnapshot(bad, nullptr);
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_TRUE(r.status().IsCorruption()) << cut << ": " << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr(bad)) << cut;
  }
  for (size_t at : {size_t{2}, size_t{10}, bytes.size() / 3, bytes.size() - 2}) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x40);
    WriteFile(bad, flipped);
    auto r = ReadKeyedSnapshot(bad, nullptr);
    ASSERT_FALSE(r.ok()) << "flip at " << at;
    EXPECT_TRUE(r.status().IsCorruption()) << at << ": " << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("at byte")) << r.status().ToString();
  }
  // A record length damaged to 200 MiB in a small file: refused for running past the end of the
  // file before anything is allocated for it (a length under the 256 MiB plausibility cap used
  // to be allocated in full, then found short).
  std::string long_length = bytes;
  const uint32_t claimed = 200u << 20;
  for (int i = 0; i < 4; ++i) long_length[8 + i] = static_cast<char>(claimed >> (8 * i));
  WriteFile(bad, long_length);
  auto too_long = ReadKeyedSnapshot(bad, nullptr);
  ASSERT_TRUE(too_long.status().IsCorruption()) << too_long.status().ToString();
  EXPECT_THAT(too_long.status().message(),
              HasSubstr("its length says " + std::to_string(claimed + 4) +
                        " more bytes, the file has " + std::to_string(bytes.size() - 8 - 5)));
  // Extra bytes after the end record.
  WriteFile(bad, bytes + bytes.substr(8, 40));
  EXPECT_TRUE(ReadKeyedSnapshot(bad, nullptr).status().IsCorruption());
  // The good file was never touched.
  EXPECT_EQ(ReadFile(good), bytes);
}

TEST(KeyedSnapshotBadInputTest, OtherVersionMissingFileAndMissingDirectory) {
  TempDir dir;
  ManualClock clock;
  auto b =
      statewatch::testing::MakeBackend(statewatch::testing::TestOptions("hashmap", &clock, dir));
  auto* s = *b->GetValueState(ValueStateDescriptor<int64_t>("n"));
  ASSERT_SW_OK(b->SetCurrentKey(1));
  ASSERT_SW_OK(s->Update(5));
  const std::string path = dir.Sub("snap");
  ASSERT_TRUE(WriteKeyedSnapshot(*b, path).ok());

  // The header record's payload starts with the version varint at byte 8 + 5; rewrite it to 9
  // and fix the record's checksum, so only the version is wrong.
  std::string bytes = ReadFile(path);
  ASSERT_EQ(bytes[13], static_cast<char>(kKeyedSnapshotFormatVersion));
  bytes[13] = 9;
  const uint32_t len = static_cast<uint8_t>(bytes[8]);
  const uint32_t crc = Crc32c(std::string_view(bytes).substr(12, 1 + len));
  for (int i = 0; i < 4; ++i) bytes[13 + len + i] = static_cast<char>(crc >> (8 * i));
  WriteFile(dir.Sub("v9"), bytes);
  auto v9 = ReadKeyedSnapshot(dir.Sub("v9"), nullptr);
  ASSERT_TRUE(v9.status().IsNotSupported()) << v9.status().ToString();
  EXPECT_THAT(v9.status().message(), HasSubstr("format version 9"));

  auto missing = ReadKeyedSnapshot(dir.Sub("nope"), nullptr);
  EXPECT_TRUE(missing.status().IsIOError());
  EXPECT_THAT(missing.status().message(), HasSubstr(dir.Sub("nope")));

  auto nodir = WriteKeyedSnapshot(*b, dir.Sub("no/such/dir/snap"));
  ASSERT_TRUE(nodir.status().IsIOError());
  EXPECT_THAT(nodir.status().message(), HasSubstr("no/such/dir/snap.inprogress"));

  // A visitor's error stops the read and is returned.
  auto stopped = ReadKeyedSnapshot(
      path, [](const StateMeta&, const StateEntry&) { return Status::Unavailable("enough"); });
  EXPECT_TRUE(stopped.status().IsUnavailable());
}

// --- Restore ---

class KeyedRestoreTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

// A snapshot from one backend restores into either, with identical contents and typed reads.
TEST_P(KeyedRestoreTest, RestoresEveryStateKindAcrossBackends) {
  const auto& [from, to] = GetParam();
  struct Helper : KeyedSnapshotTest {
    void TestBody() override {}
  } h;
  auto source = h.Filled(from, "source");
  const std::string path = h.dir_.Sub("savepoint");
  ASSERT_TRUE(WriteKeyedSnapshot(*source, path).ok());

  BackendOptions o = statewatch::testing::TestOptions(to, &h.clock_, h.dir_);
  o.rocksdb.local_directory = h.dir_.Sub("target");
  auto target = statewatch::testing::MakeBackend(o);
  ASSERT_SW_OK(target->RestoreFromSnapshots({path}));
  EXPECT_EQ(target->PendingRestoredStates().size(), 5u);
  RegisterFilledStates(*target);
  EXPECT_TRUE(target->PendingRestoredStates().empty());

  std::vector<Row> before = KeyedSnapshotTest::Scan(*source);
  std::vector<Row> after = KeyedSnapshotTest::Scan(*target);
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, before);

  // Typed reads see the restored values.
  ASSERT_SW_OK(target->SetCurrentKey(std::string("customer-3")));
  auto* events = *target->GetListState(
      ListStateDescriptor<int64_t>("events").EnableTimeToLive(TtlConfig::Of(hours(24))));
  EXPECT_EQ(events->Get().value(), (std::vector<int64_t>{3, 30}));
  auto* orders = *target->GetMapState(MapStateDescriptor<std::string, int64_t>("orders"));
  EXPECT_EQ(orders->Get("o3").value(), 300);
  auto* segment = *target->GetValueState(ValueStateDescriptor<std::string>("segment"));
  EXPECT_EQ(segment->Value().value(), "smb");
  ASSERT_SW_OK(target->SetCurrentKey(std::string("customer-1")));
  segment->SetCurrentNamespace(std::string("window-7"));
  EXPECT_EQ(segment->Value().value(), "late");
}

INSTANTIATE_TEST_SUITE_P(
    Pairs, KeyedRestoreTest,
    ::testing::Combine(::testing::Values("hashmap", "rocksdb"),
                       ::testing::Values("hashmap", "rocksdb")),
    [](const ::testing::TestParamInfo<std::tuple<std::string, std::string>>& p) {
      return std::get<0>(p.param) + "_to_" + std::get<1>(p.param);
    });

// Rescale 4 → 8 → 3 through snapshots: every key's state ends up in the instance owning its
// key group, and nowhere else.
TEST(KeyedRescaleTest, FourToEightToThreeKeepsEveryKey) {
  TempDir dir;
  ManualClock clock(1'767'225'600'000);
  constexpr int kMaxParallelism = 128;
  constexpr int kKeys = 2000;
  auto make = [&](const std::string& backend, int parallelism, int index, const std::string& name) {
    BackendOptions o = statewatch::testing::TestOptions(backend, &clock, dir);
    o.max_parallelism = kMaxParallelism;
    o.key_group_range = KeyGroupRangeForOperator(kMaxParallelism, parallelism, index);
    o.rocksdb.local_directory = dir.Sub(name);
    return statewatch::testing::MakeBackend(o);
  };
  const ValueStateDescriptor<int64_t> desc("count");
  auto owner = [&](int64_t key, int parallelism) {
    return OperatorIndexForKeyGroup(kMaxParallelism, parallelism,
                                    KeyGroupForKey(SerializeToString(key), kMaxParallelism));
  };

  std::vector<std::string> files;
  {
    std::vector<std::unique_ptr<KeyedStateBackend>> four;
    for (int i = 0; i < 4; ++i) four.push_back(make("hashmap", 4, i, "p4-" + std::to_string(i)));
    for (int64_t k = 0; k < kKeys; ++k) {
      KeyedStateBackend& b = *four[static_cast<size_t>(owner(k, 4))];
      ASSERT_SW_OK(b.SetCurrentKey(k));
      ASSERT_SW_OK((*b.GetValueState(desc))->Update(k * 3));
    }
    for (int i = 0; i < 4; ++i) {
      files.push_back(dir.Sub("chk4-" + std::to_string(i)));
      ASSERT_TRUE(WriteKeyedSnapshot(*four[static_cast<size_t>(i)], files.back()).ok());
    }
  }
  // 4 → 8 on RocksDB, then 8 → 3 on the heap: key groups move, backends change on the way.
  for (const auto& [parallelism, backend] :
       std::vector<std::pair<int, std::string>>{{8, "rocksdb"}, {3, "hashmap"}}) {
    std::vector<std::unique_ptr<KeyedStateBackend>> next;
    std::vector<std::string> next_files;
    for (int i = 0; i < parallelism; ++i) {
      next.push_back(make(backend, parallelism, i,
                          "p" + std::to_string(parallelism) + "-" + std::to_string(i)));
      ASSERT_SW_OK(next.back()->RestoreFromSnapshots(files));
      ASSERT_TRUE(next.back()->GetValueState(desc).ok());
    }
    for (int64_t k = 0; k < kKeys; ++k) {
      for (int i = 0; i < parallelism; ++i) {
        KeyedStateBackend& b = *next[static_cast<size_t>(i)];
        if (i != owner(k, parallelism)) continue;
        ASSERT_SW_OK(b.SetCurrentKey(k));
        auto v = (*b.GetValueState(desc))->Value();
        ASSERT_TRUE(v.ok()) << "key " << k << " at parallelism " << parallelism;
        EXPECT_EQ(*v, k * 3);
      }
    }
    uint64_t total = 0;
    for (int i = 0; i < parallelism; ++i) {
      KeyedStateBackend& b = *next[static_cast<size_t>(i)];
      total += b.CollectStats()->states[0].keys;
      next_files.push_back(dir.Sub("chk" + std::to_string(parallelism) + "-" + std::to_string(i)));
      ASSERT_TRUE(WriteKeyedSnapshot(b, next_files.back()).ok());
    }
    EXPECT_EQ(total, static_cast<uint64_t>(kKeys)) << "at parallelism " << parallelism;
    files = next_files;
  }
}

// An entry 6 days old with a 7-day TTL expires one day after the restore, not seven.
TEST(KeyedRestoreTtlTest, TimestampsSurviveRestore) {
  for (const std::string backend : {"hashmap", "rocksdb"}) {
    TempDir dir;
    ManualClock clock(1'767'225'600'000);
    const auto desc =
        ValueStateDescriptor<std::string>("session").EnableTimeToLive(TtlConfig::Of(hours(24 * 7)));
    {
      auto b =
          statewatch::testing::MakeBackend(statewatch::testing::TestOptions(backend, &clock, dir));
      ASSERT_SW_OK(b->SetCurrentKey(std::string("u1")));
      ASSERT_SW_OK((*b->GetValueState(desc))->Update("open"));
      clock.Advance(hours(24 * 6));
      ASSERT_TRUE(WriteKeyedSnapshot(*b, dir.Sub("savepoint")).ok());
    }
    BackendOptions o = statewatch::testing::TestOptions(backend, &clock, dir);
    o.rocksdb.local_directory = dir.Sub("restored");
    auto r = statewatch::testing::MakeBackend(o);
    ASSERT_SW_OK(r->RestoreFromSnapshots({dir.Sub("savepoint")}));
    auto* s = *r->GetValueState(desc);
    ASSERT_SW_OK(r->SetCurrentKey(std::string("u1")));
    EXPECT_EQ(s->Value().value_or("?"), "open") << backend;
    clock.Advance(hours(24));
    EXPECT_TRUE(s->Value().status().IsNotFound()) << backend;
  }
}

TEST(KeyedRestoreBadInputTest, ChangedTypeLateRestoreCorruptFileAndOtherMaxParallelism) {
  TempDir dir;
  ManualClock clock;
  auto b =
      statewatch::testing::MakeBackend(statewatch::testing::TestOptions("hashmap", &clock, dir));
  ASSERT_SW_OK(b->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK((*b->GetValueState(ValueStateDescriptor<int64_t>("n")))->Update(5));
  const std::string path = dir.Sub("savepoint");
  ASSERT_TRUE(WriteKeyedSnapshot(*b, path).ok());

  {  // The descriptor's type changed: refused, naming both.
    auto r =
        statewatch::testing::MakeBackend(statewatch::testing::TestOptions("hashmap", &clock, dir));
    ASSERT_SW_OK(r->RestoreFromSnapshots({path}));
    auto changed = r->GetValueState(ValueStateDescriptor<std::string>("n"));
    ASSERT_TRUE(changed.status().IsInvalidArgument());
    EXPECT_THAT(changed.status().message(), HasSubstr("i64"));
    EXPECT_THAT(changed.status().message(), HasSubstr("str"));
    // TTL switched on: the stored layout differs, refused too.
    auto ttl = r->GetValueState(
        ValueStateDescriptor<int64_t>("n").EnableTimeToLive(TtlConfig::Of(hours(1))));
    EXPECT_TRUE(ttl.status().IsInvalidArgument());
    EXPECT_EQ(r->PendingRestoredStates(), std::vector<std::string>{"n"});
  }
  {  // Restore after registration, or twice.
    auto r =
        statewatch::testing::MakeBackend(statewatch::testing::TestOptions("hashmap", &clock, dir));
    ASSERT_TRUE(r->GetValueState(ValueStateDescriptor<int64_t>("other")).ok());
    EXPECT_TRUE(r->RestoreFromSnapshots({path}).IsFailedPrecondition());
  }
  {  // One good file and one corrupt one: an error naming the bad file, nothing restored.
    std::string bytes = ReadFile(path);
    bytes[bytes.size() / 2] ^= 0x10;
    WriteFile(dir.Sub("corrupt"), bytes);
    auto r =
        statewatch::testing::MakeBackend(statewatch::testing::TestOptions("hashmap", &clock, dir));
    Status s = r->RestoreFromSnapshots({path, dir.Sub("corrupt")});
    ASSERT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(dir.Sub("corrupt")));
    EXPECT_TRUE(r->PendingRestoredStates().empty());
    EXPECT_TRUE(std::filesystem::exists(dir.Sub("corrupt")));  // nothing deleted
  }
  {  // Another max_parallelism: key groups cannot be remapped.
    BackendOptions o = statewatch::testing::TestOptions("hashmap", &clock, dir);
    o.max_parallelism = 256;
    o.key_group_range = KeyGroupRange::All(256);
    auto r = statewatch::testing::MakeBackend(o);
    Status s = r->RestoreFromSnapshots({path});
    ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("max_parallelism 128"));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyedSnapshotTest, ::testing::Values("hashmap", "rocksdb"),
                         statewatch::testing::BackendParamName);

}  // namespace
}  // namespace statewatch
