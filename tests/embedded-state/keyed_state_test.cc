// Semantics of every keyed state type, run against both backends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "embedded-state/test_util.h"
#include "statewatch/state/keyed_state_backend.h"

namespace statewatch {

// A user type with its own serializer, as users would write it.
struct Order {
  std::string id;
  int64_t cents = 0;
  bool operator==(const Order&) const = default;
};

template <>
struct Serializer<Order> {
  static constexpr std::string_view kId = "test.Order/v1";
  static void Serialize(const Order& o, std::string* out) {
    Serializer<int64_t>::Serialize(o.cents, out);
    out->append(o.id);
  }
  static bool Deserialize(std::string_view in, Order* out) {
    if (in.size() < 8 || !Serializer<int64_t>::Deserialize(in.substr(0, 8), &out->cents)) {
      return false;
    }
    out->id.assign(in.substr(8));
    return true;
  }
};

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::MakeBackend;
using testing::TempDir;
using testing::TestOptions;
using ::testing::UnorderedElementsAre;

class KeyedStateTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { backend_ = MakeBackend(TestOptions(GetParam(), &clock_, dir_)); }

  ManualClock clock_{1'000'000};
  TempDir dir_;
  std::unique_ptr<KeyedStateBackend> backend_;
};

TEST_P(KeyedStateTest, ValueStateIsPerKeyAndReadsNotFoundWhenAbsent) {
  auto state = backend_->GetValueState(ValueStateDescriptor<int64_t>("count"));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ValueState<int64_t>* count = *state;

  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("alice")));
  EXPECT_TRUE(count->Value().status().IsNotFound());
  ASSERT_SW_OK(count->Update(41));
  ASSERT_SW_OK(count->Update(42));
  EXPECT_EQ(count->Value().value_or(-1), 42);

  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("bob")));
  EXPECT_TRUE(count->Value().status().IsNotFound());
  ASSERT_SW_OK(count->Update(7));

  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("alice")));
  EXPECT_EQ(count->Value().value_or(-1), 42);
  ASSERT_SW_OK(count->Clear());
  EXPECT_TRUE(count->Value().status().IsNotFound());

  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("bob")));
  EXPECT_EQ(count->Value().value_or(-1), 7);
}

TEST_P(KeyedStateTest, NamespacesSeparateValuesOfOneKey) {
  ValueState<std::string>* s = *backend_->GetValueState(ValueStateDescriptor<std::string>("win"));
  ASSERT_SW_OK(backend_->SetCurrentKey(int64_t{5}));
  s->SetCurrentNamespace(int64_t{1000});
  ASSERT_SW_OK(s->Update("window-1000"));
  s->SetCurrentNamespace(int64_t{2000});
  EXPECT_TRUE(s->Value().status().IsNotFound());
  ASSERT_SW_OK(s->Update("window-2000"));
  s->SetVoidNamespace();
  EXPECT_TRUE(s->Value().status().IsNotFound());
  s->SetCurrentNamespace(int64_t{1000});
  EXPECT_EQ(s->Value().value_or(""), "window-1000");
}

TEST_P(KeyedStateTest, UserTypesRoundTrip) {
  ValueState<Order>* s = *backend_->GetValueState(ValueStateDescriptor<Order>("order"));
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("o-1")));
  ASSERT_SW_OK(s->Update(Order{"o-1", 1999}));
  EXPECT_EQ(s->Value().value_or(Order{}), (Order{"o-1", 1999}));
}

TEST_P(KeyedStateTest, ListStateAppendsInOrderAndReplaces) {
  ListState<std::string>* list =
      *backend_->GetListState(ListStateDescriptor<std::string>("events"));
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  EXPECT_THAT(*list->Get(), IsEmpty());
  ASSERT_SW_OK(list->Add("a"));
  ASSERT_SW_OK(list->Add("b"));
  ASSERT_SW_OK(list->AddAll({"c", "d"}));
  ASSERT_SW_OK(list->AddAll({}));
  EXPECT_THAT(*list->Get(), ElementsAre("a", "b", "c", "d"));

  ASSERT_SW_OK(list->Update({"x", "y"}));
  EXPECT_THAT(*list->Get(), ElementsAre("x", "y"));
  ASSERT_SW_OK(list->Update({}));
  EXPECT_THAT(*list->Get(), IsEmpty());

  ASSERT_SW_OK(list->Add("z"));
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("other")));
  EXPECT_THAT(*list->Get(), IsEmpty());
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(list->Clear());
  EXPECT_THAT(*list->Get(), IsEmpty());
}

TEST_P(KeyedStateTest, MapStateEntriesAreIndependent) {
  MapState<std::string, int64_t>* map =
      *backend_->GetMapState(MapStateDescriptor<std::string, int64_t>("orders"));
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("customer-1")));
  EXPECT_TRUE(*map->IsEmpty());
  ASSERT_SW_OK(map->Put("o1", 100));
  ASSERT_SW_OK(map->Put("o2", 200));
  ASSERT_SW_OK(map->PutAll({{"o3", 300}, {"o1", 150}}));
  EXPECT_EQ(map->Get("o1").value_or(-1), 150);
  EXPECT_TRUE(map->Get("nope").status().IsNotFound());
  EXPECT_TRUE(*map->Contains("o2"));
  EXPECT_FALSE(*map->Contains("o9"));
  EXPECT_FALSE(*map->IsEmpty());
  EXPECT_THAT(*map->Keys(), UnorderedElementsAre("o1", "o2", "o3"));
  ASSERT_SW_OK(map->Remove("o2"));
  EXPECT_THAT(*map->Entries(), UnorderedElementsAre(std::pair<std::string, int64_t>("o1", 150),
                                                    std::pair<std::string, int64_t>("o3", 300)));

  // Another key's map, whose key shares a prefix with the first: must not see its entries.
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("customer-10")));
  EXPECT_TRUE(*map->IsEmpty());
  ASSERT_SW_OK(map->Put("o1", 1));
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("customer-1")));
  ASSERT_SW_OK(map->Clear());
  EXPECT_TRUE(*map->IsEmpty());
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("customer-10")));
  EXPECT_EQ(map->Get("o1").value_or(-1), 1);
}

TEST_P(KeyedStateTest, MapForEachStopsWhenVisitorSaysSo) {
  MapState<int32_t, int32_t>* map =
      *backend_->GetMapState(MapStateDescriptor<int32_t, int32_t>("m"));
  ASSERT_SW_OK(backend_->SetCurrentKey(1));
  for (int i = 0; i < 10; ++i) ASSERT_SW_OK(map->Put(i, i * i));
  int visited = 0;
  ASSERT_SW_OK(map->ForEach([&](const int32_t&, const int32_t&) { return ++visited < 3; }));
  EXPECT_EQ(visited, 3);
}

TEST_P(KeyedStateTest, ReducingStateFoldsWithTheReduceFunction) {
  ReducingStateDescriptor<int64_t> d("sum",
                                     [](const int64_t& a, const int64_t& b) { return a + b; });
  ReducingState<int64_t>* sum = *backend_->GetReducingState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  EXPECT_TRUE(sum->Get().status().IsNotFound());
  for (int64_t v : {5, 10, -3}) ASSERT_SW_OK(sum->Add(v));
  EXPECT_EQ(sum->Get().value_or(0), 12);
}

struct Average : AggregateFunction<double, std::string, double> {
  // Accumulator "sum count" as text keeps the test independent of a struct serializer.
  std::string CreateAccumulator() const override { return "0 0"; }
  std::string Add(const double& v, std::string acc) const override {
    double sum = 0;
    int n = 0;
    std::sscanf(acc.c_str(), "%lf %d", &sum, &n);
    return std::to_string(sum + v) + " " + std::to_string(n + 1);
  }
  double GetResult(const std::string& acc) const override {
    double sum = 0;
    int n = 0;
    std::sscanf(acc.c_str(), "%lf %d", &sum, &n);
    return n == 0 ? 0 : sum / n;
  }
  std::string Merge(std::string a, const std::string&) const override { return a; }
};

TEST_P(KeyedStateTest, AggregatingStateUsesAccumulator) {
  AggregatingStateDescriptor<double, std::string, double> d("avg", std::make_shared<Average>());
  AggregatingState<double, double>* avg = *backend_->GetAggregatingState(d);
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  EXPECT_TRUE(avg->Get().status().IsNotFound());
  ASSERT_SW_OK(avg->Add(2));
  ASSERT_SW_OK(avg->Add(4));
  EXPECT_DOUBLE_EQ(avg->Get().value_or(-1), 3.0);
}

TEST_P(KeyedStateTest, SameDescriptorReturnsSameHandle) {
  auto a = backend_->GetValueState(ValueStateDescriptor<int64_t>("v"));
  auto b = backend_->GetValueState(ValueStateDescriptor<int64_t>("v"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_THAT(backend_->StateNames(), ElementsAre("v"));
}

TEST_P(KeyedStateTest, AccessWithoutCurrentKeyIsAnError) {
  ValueState<int64_t>* v = *backend_->GetValueState(ValueStateDescriptor<int64_t>("v"));
  Status s = v->Update(1);
  EXPECT_TRUE(s.IsFailedPrecondition()) << s.ToString();
  EXPECT_THAT(s.message(), ::testing::HasSubstr("'v'"));
}

TEST_P(KeyedStateTest, StatsCountKeysAndEntriesExactly) {
  ValueState<int64_t>* v = *backend_->GetValueState(ValueStateDescriptor<int64_t>("v"));
  ListState<int64_t>* l = *backend_->GetListState(ListStateDescriptor<int64_t>("l"));
  MapState<int64_t, int64_t>* m = *backend_->GetMapState(MapStateDescriptor<int64_t, int64_t>("m"));
  for (int64_t k = 0; k < 100; ++k) {
    ASSERT_SW_OK(backend_->SetCurrentKey(k));
    ASSERT_SW_OK(v->Update(k));
    ASSERT_SW_OK(l->AddAll({1, 2, 3}));
    ASSERT_SW_OK(m->PutAll({{1, 1}, {2, 2}}));
  }
  ASSERT_SW_OK(backend_->SetCurrentKey(int64_t{0}));
  ASSERT_SW_OK(v->Clear());
  auto stats = backend_->CollectStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->backend, GetParam());
  std::map<std::string, StateStats> by_name;
  for (const auto& s : stats->states) by_name[s.name] = s;
  EXPECT_EQ(by_name["v"].keys, 99u);
  EXPECT_EQ(by_name["v"].entries, 99u);
  EXPECT_EQ(by_name["l"].keys, 100u);
  EXPECT_EQ(by_name["l"].entries, 300u);
  EXPECT_EQ(by_name["m"].keys, 100u);
  EXPECT_EQ(by_name["m"].entries, 200u);
  EXPECT_GT(by_name["m"].approx_bytes, by_name["v"].approx_bytes);
  EXPECT_FALSE(by_name["v"].ttl.enabled());
  EXPECT_EQ(stats->rocksdb.has_value(), GetParam() == "rocksdb");
}

TEST_P(KeyedStateTest, KeyGroupIterationCoversTheRangeExactlyOnce) {
  ValueState<int64_t>* v = *backend_->GetValueState(ValueStateDescriptor<int64_t>("v"));
  std::set<int64_t> written;
  for (int64_t k = 0; k < 500; ++k) {
    ASSERT_SW_OK(backend_->SetCurrentKey(k));
    ASSERT_SW_OK(v->Update(k));
    written.insert(k);
  }
  // Two halves of the key-group space together give every key once; each key in its group.
  std::multiset<int64_t> seen;
  for (KeyGroupRange half : {KeyGroupRange{0, 63}, KeyGroupRange{64, 127}}) {
    ASSERT_SW_OK(
        backend_->ForEachKey("v", half, [&](int kg, std::string_view key, std::string_view) {
          int64_t k = 0;
          EXPECT_TRUE(Serializer<int64_t>::Deserialize(key, &k));
          EXPECT_TRUE(half.Contains(kg));
          EXPECT_EQ(kg, KeyGroupForKey(key, 128));
          seen.insert(k);
          return true;
        }));
  }
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()), written);
  EXPECT_EQ(seen.size(), written.size());
  auto keys = backend_->GetKeys<int64_t>("v");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 500u);
}

TEST_P(KeyedStateTest, KeysOutsideTheOwnedRangeAreRejected) {
  BackendOptions o = TestOptions(GetParam(), &clock_, dir_);
  o.rocksdb.local_directory = dir_.Sub("db-half");
  o.key_group_range = KeyGroupRangeForOperator(128, 2, 0);  // [0, 63]
  auto half = MakeBackend(o);
  int accepted = 0, rejected = 0;
  for (int64_t k = 0; k < 200; ++k) {
    Status s = half->SetCurrentKey(k);
    const int kg = KeyGroupForKey(SerializeToString(k), 128);
    if (kg <= 63) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      ++accepted;
    } else {
      EXPECT_TRUE(s.IsInvalidArgument());
      EXPECT_THAT(s.message(), ::testing::HasSubstr("[0, 63]"));
      ++rejected;
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

TEST_P(KeyedStateTest, ScanYieldsCanonicalEntriesForEveryKind) {
  ListState<std::string>* l = *backend_->GetListState(ListStateDescriptor<std::string>("l"));
  MapState<std::string, int64_t>* m =
      *backend_->GetMapState(MapStateDescriptor<std::string, int64_t>("m"));
  ASSERT_SW_OK(backend_->SetCurrentKey(std::string("k")));
  ASSERT_SW_OK(l->AddAll({"a", "b"}));
  ASSERT_SW_OK(m->Put("x", 9));
  std::vector<std::string> list_values;
  ASSERT_SW_OK(backend_->ScanState("l", {}, [&](const StateEntry& e) {
    EXPECT_EQ(e.key, SerializeToString(std::string("k")));
    EXPECT_TRUE(e.user_key.empty());
    EXPECT_EQ(e.timestamp, StateEntry::kNoTimestamp);
    list_values.emplace_back(e.value);
    return true;
  }));
  EXPECT_THAT(list_values, ElementsAre("a", "b"));
  int map_entries = 0;
  ASSERT_SW_OK(backend_->ScanState("m", {}, [&](const StateEntry& e) {
    EXPECT_EQ(e.user_key, "x");
    EXPECT_EQ(e.value, SerializeToString(int64_t{9}));
    ++map_entries;
    return true;
  }));
  EXPECT_EQ(map_entries, 1);
  EXPECT_TRUE(backend_->ScanState("nope", {}, [](const StateEntry&) { return true; }).IsNotFound());
}

TEST(KeyGroupTest, MaskAndModuloAgree) {
  // The power-of-two fast path must pick the same group as Flink's plain modulo.
  std::mt19937 rng(5);
  for (int mp : {1, 2, 100, 128, 4096, 32768}) {
    for (int i = 0; i < 10000; ++i) {
      const uint32_t h = static_cast<uint32_t>(rng());
      ASSERT_EQ(KeyGroupForHash(h, mp), static_cast<int>(h % static_cast<uint32_t>(mp)))
          << "hash " << h << " max_parallelism " << mp;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyedStateTest, ::testing::Values("hashmap", "rocksdb"),
                         testing::BackendParamName);

}  // namespace
}  // namespace statewatch
