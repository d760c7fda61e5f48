// Bad input to the engine: each a clear error naming what is wrong, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "embedded-state/test_util.h"
#include "statewatch/state/keyed_state_backend.h"

namespace statewatch {
namespace {

using ::testing::HasSubstr;
using testing::MakeBackend;
using testing::TempDir;
using testing::TestOptions;

TEST(BadInputTest, UnknownBackendNameIsRejected) {
  BackendOptions o;
  o.backend = "memory";
  auto b = NewKeyedStateBackend(o);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.status().IsInvalidArgument());
  EXPECT_THAT(b.status().message(), HasSubstr("'memory'"));
  EXPECT_THAT(b.status().message(), HasSubstr("hashmap"));
}

TEST(BadInputTest, InvalidKeyGroupSettingsAreRejected) {
  BackendOptions o;
  o.max_parallelism = 0;
  EXPECT_TRUE(NewKeyedStateBackend(o).status().IsInvalidArgument());
  o.max_parallelism = 128;
  o.key_group_range = {100, 200};
  auto b = NewKeyedStateBackend(o);
  EXPECT_TRUE(b.status().IsInvalidArgument());
  EXPECT_THAT(b.status().message(), HasSubstr("[100, 200]"));
}

TEST(BadInputTest, ParseBackendOptionsNamesTheBadKey) {
  auto unknown = ParseBackendOptions({{"backend", "rocksdb"}, {"rocksdb.blok_cache_size", "1"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("'rocksdb.blok_cache_size'"));
  auto bad_size = ParseBackendOptions({{"rocksdb.block_cache_size", "lots"}});
  ASSERT_FALSE(bad_size.ok());
  EXPECT_THAT(bad_size.status().message(), HasSubstr("rocksdb.block_cache_size"));
  EXPECT_THAT(bad_size.status().message(), HasSubstr("'lots'"));
  auto no_dir = ParseBackendOptions({{"backend", "rocksdb"}});
  EXPECT_THAT(no_dir.status().message(), HasSubstr("rocksdb.local_directory"));
  auto good = ParseBackendOptions({{"backend", "rocksdb"},
                                   {"rocksdb.local_directory", "/tmp/x"},
                                   {"rocksdb.memory_budget", "256MiB"},
                                   {"rocksdb.bloom_filter_bits_per_key", "12"},
                                   {"key_group_range", "0-63"}});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->rocksdb.memory_budget_bytes, 256u << 20);
  EXPECT_EQ(good->key_group_range, (KeyGroupRange{0, 63}));
  EXPECT_EQ(*ParseByteSize("1GiB"), 1ull << 30);
  EXPECT_FALSE(ParseByteSize("12 parsecs").ok());
  EXPECT_FALSE(ParseByteSize("99999999999999999999").ok());
}

class BadInputBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  ManualClock clock_{0};
  TempDir dir_;
};

TEST_P(BadInputBackendTest, StateReRegisteredDifferentlyIsRejected) {
  auto backend = MakeBackend(TestOptions(GetParam(), &clock_, dir_));
  ASSERT_TRUE(backend->GetValueState(ValueStateDescriptor<int64_t>("s")).ok());

  auto other_kind = backend->GetListState(ListStateDescriptor<int64_t>("s"));
  ASSERT_FALSE(other_kind.ok());
  EXPECT_THAT(other_kind.status().message(), HasSubstr("ValueState<i64> 's'"));
  EXPECT_THAT(other_kind.status().message(), HasSubstr("ListState<i64>"));

  auto other_serializer = backend->GetValueState(ValueStateDescriptor<std::string>("s"));
  ASSERT_FALSE(other_serializer.ok());
  EXPECT_THAT(other_serializer.status().message(), HasSubstr("ValueState<str>"));

  auto other_ttl = backend->GetValueState(
      ValueStateDescriptor<int64_t>("s").EnableTimeToLive(TtlConfig::Of(std::chrono::hours(1))));
  ASSERT_FALSE(other_ttl.ok());
  EXPECT_THAT(other_ttl.status().message(), HasSubstr("ttl=1h"));

  auto no_fn = backend->GetReducingState(ReducingStateDescriptor<int64_t>("r", nullptr));
  EXPECT_TRUE(no_fn.status().IsInvalidArgument());
  EXPECT_TRUE(
      backend->GetValueState(ValueStateDescriptor<int64_t>("")).status().IsInvalidArgument());
  auto reserved = backend->GetValueState(ValueStateDescriptor<int64_t>("default"));
  EXPECT_TRUE(reserved.status().IsInvalidArgument());
  EXPECT_THAT(reserved.status().message(), HasSubstr("reserved"));
}

TEST_P(BadInputBackendTest, KeysLargerThanTheLimitAreRejected) {
  BackendOptions o = TestOptions(GetParam(), &clock_, dir_);
  o.max_key_bytes = 16;
  auto backend = MakeBackend(o);
  Status s = backend->SetCurrentKey(std::string(17, 'x'));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), HasSubstr("17 bytes"));
  EXPECT_THAT(s.message(), HasSubstr("max_key_bytes (16)"));
  ASSERT_SW_OK(backend->SetCurrentKey(std::string(16, 'x')));
  if (GetParam() == "rocksdb") {  // map keys become part of the RocksDB key
    auto* m = *backend->GetMapState(MapStateDescriptor<std::string, int64_t>("m"));
    Status put = m->Put(std::string(100, 'k'), 1);
    EXPECT_TRUE(put.IsInvalidArgument()) << put.ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BadInputBackendTest, ::testing::Values("hashmap", "rocksdb"),
                         testing::BackendParamName);

TEST(BadInputTest, RocksDbDirectoryThatCannotBeOpened) {
  TempDir dir;
  ManualClock clock;
  // A regular file where a parent directory should be.
  std::ofstream(dir.Sub("file")) << "not a directory";
  BackendOptions o = TestOptions("rocksdb", &clock, dir);
  o.rocksdb.local_directory = dir.Sub("file") + "/db";
  auto b = NewKeyedStateBackend(o);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.status().IsIOError()) << b.status().ToString();
  EXPECT_THAT(b.status().message(), HasSubstr(o.rocksdb.local_directory));

  o.rocksdb.local_directory = "";
  EXPECT_TRUE(NewKeyedStateBackend(o).status().IsInvalidArgument());
}

TEST(BadInputTest, RocksDbRefusesADirectoryThatHoldsADatabase) {
  TempDir dir;
  ManualClock clock;
  BackendOptions o = TestOptions("rocksdb", &clock, dir);
  { auto first = MakeBackend(o); }
  auto second = NewKeyedStateBackend(o);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr(o.rocksdb.local_directory));
}

}  // namespace
}  // namespace statewatch
