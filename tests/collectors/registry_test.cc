// The collector registry and the shared option checks: what a config mistake looks like.
#include "statewatch/collectors/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collectors/samples.h"
#include "embedded-state/test_util.h"
#include "statewatch/collectors/collector_options.h"

namespace statewatch::collectors {
namespace {

using statewatch::collectors::testing::Find;
using statewatch::collectors::testing::HasLabels;
using statewatch::testing::MakeBackend;
using statewatch::testing::TempDir;
using statewatch::testing::TestOptions;
using ::testing::HasSubstr;

CollectorParams Params(std::string source, std::map<std::string, std::string> options = {}) {
  CollectorParams p;
  p.source = std::move(source);
  p.job = "cdc";
  p.options = std::move(options);
  return p;
}

TEST(CollectorRegistryTest, BuiltinTypesAreSorted) {
  EXPECT_EQ(BuiltinCollectors().Types(),
            (std::vector<std::string>{"checkpoint_dir", "engine", "filesystem", "flink_rest",
                                      "prometheus", "rocksdb_dir"}));
  EXPECT_FALSE(BuiltinCollectors().Description("rocksdb_dir").empty());
  EXPECT_TRUE(BuiltinCollectors().Description("nope").empty());
}

TEST(CollectorRegistryTest, UnknownTypeNamesSourceAndKnownTypes) {
  auto c = BuiltinCollectors().Create("rocksdb", Params("orders-db"));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_EQ(c.status().message(),
            "source 'orders-db': unknown collector type 'rocksdb' (known: checkpoint_dir, engine, "
            "filesystem, flink_rest, prometheus, rocksdb_dir)");
}

TEST(CollectorRegistryTest, UnknownOptionNamesSourceAndOption) {
  auto c = BuiltinCollectors().Create("rocksdb_dir",
                                      Params("orders-db", {{"path", "/x"}, {"paht", "/y"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_EQ(c.status().message(),
            "source 'orders-db': option 'paht' is unknown for collector type 'rocksdb_dir' "
            "(known: log_file, path, replay_wal, secondary_path)");
}

TEST(CollectorRegistryTest, MissingRequiredOption) {
  auto c = BuiltinCollectors().Create("rocksdb_dir", Params("orders-db"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "source 'orders-db': option 'path' is required for collector type 'rocksdb_dir'");
}

TEST(CollectorRegistryTest, SecondaryPathMustNotBeTheDatabase) {
  auto c = BuiltinCollectors().Create(
      "rocksdb_dir", Params("orders-db", {{"path", "/var/db"}, {"secondary_path", "/var/db/"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("option 'secondary_path'"));
}

TEST(CollectorRegistryTest, BooleanOptionIsChecked) {
  auto c = BuiltinCollectors().Create("rocksdb_dir",
                                      Params("orders-db", {{"path", "/x"}, {"replay_wal", "si"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "source 'orders-db': option 'replay_wal' must be true or false, got 'si'");
  EXPECT_TRUE(BuiltinCollectors()
                  .Create("rocksdb_dir", Params("db", {{"path", "/x"}, {"replay_wal", "true"}}))
                  .ok());
}

TEST(CollectorRegistryTest, RocksDbDirCreatedWithoutTouchingThePath) {
  // The directory need not exist yet: the job may start after the daemon.
  auto c = BuiltinCollectors().Create("rocksdb_dir",
                                      Params("orders-db", {{"path", "/nonexistent/statewatch"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->name(), "rocksdb_dir");
}

TEST(CollectorRegistryTest, EngineCollectorUsesTheAttachedBackend) {
  TempDir dir;
  auto backend = MakeBackend(TestOptions("hashmap", nullptr, dir));
  auto* v = *backend->GetValueState(ValueStateDescriptor<int64_t>("orders"));
  ASSERT_SW_OK(backend->SetCurrentKey(int64_t{7}));
  ASSERT_SW_OK(v->Update(1));
  const std::map<std::string, KeyedStateBackend*> engines = {{"main", backend.get()}};

  CollectorParams p = Params("pipeline");
  p.engines = &engines;
  auto c = BuiltinCollectors().Create("engine", p);  // one attached: `backend` may be omitted
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<rules::Sample> samples;
  ASSERT_SW_OK((*c)->Collect(5, &samples));
  EXPECT_EQ(Find(samples, "statewatch_state_keys", {{"state", "orders"}}), 1);
  for (const auto& s : samples) {
    EXPECT_TRUE(HasLabels(s, {{"job", "cdc"}, {"source", "pipeline"}})) << s.series;
  }

  p.options = {{"backend", "main"}};
  EXPECT_TRUE(BuiltinCollectors().Create("engine", p).ok());
}

TEST(CollectorRegistryTest, EngineBackendErrors) {
  TempDir dir;
  auto a = MakeBackend(TestOptions("hashmap", nullptr, dir));
  auto b = MakeBackend(TestOptions("hashmap", nullptr, dir));
  const std::map<std::string, KeyedStateBackend*> two = {{"a", a.get()}, {"b", b.get()}};

  CollectorParams p = Params("pipeline", {{"backend", "missing"}});
  p.engines = &two;
  auto named = BuiltinCollectors().Create("engine", p);
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.status().message(),
            "source 'pipeline': option 'backend' names engine backend 'missing', which is not "
            "attached to this process (attached: a, b)");

  p.options.clear();
  auto ambiguous = BuiltinCollectors().Create("engine", p);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("option 'backend' is required"));

  p.engines = nullptr;
  auto none = BuiltinCollectors().Create("engine", p);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("source 'pipeline'"));
  EXPECT_THAT(none.status().message(), HasSubstr("none is attached"));

  p.options = {{"backend", "a"}, {"extra", "1"}};
  p.engines = &two;
  auto unknown = BuiltinCollectors().Create("engine", p);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("option 'extra' is unknown"));
}

TEST(CollectorRegistryTest, RegisterRejectsDuplicates) {
  CollectorRegistry r;
  ASSERT_SW_OK(RegisterBuiltinCollectors(r));
  const Status dup = r.Register("engine", "again", [](const CollectorParams&) {
    return Result<std::unique_ptr<Collector>>(Status::NotSupported("unused"));
  });
  EXPECT_TRUE(dup.IsAlreadyExists()) << dup.ToString();
  EXPECT_TRUE(r.Register("x", "no factory", nullptr).IsInvalidArgument());
}

TEST(OptionReaderTest, BytesAndBooleans) {
  const std::map<std::string, std::string> options = {
      {"cache", "64MiB"}, {"bad_size", "lots"}, {"on", "Yes"}, {"off", "false"}, {"bad", "maybe"}};
  OptionReader r("src", "test", options);
  EXPECT_EQ(r.Bytes("cache", 0).value_or(0), 64u << 20);
  EXPECT_EQ(r.Bytes("absent", 42).value_or(0), 42u);
  auto bad_size = r.Bytes("bad_size", 0);
  ASSERT_FALSE(bad_size.ok());
  EXPECT_THAT(bad_size.status().message(), HasSubstr("source 'src': option 'bad_size'"));
  EXPECT_EQ(r.Bool("on", false).value_or(false), true);
  EXPECT_EQ(r.Bool("off", true).value_or(true), false);
  EXPECT_EQ(r.Bool("absent2", true).value_or(false), true);
  auto bad = r.Bool("bad", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("must be true or false, got 'maybe'"));
  EXPECT_SW_OK(r.Finish());  // every key was asked for
}

}  // namespace
}  // namespace statewatch::collectors
