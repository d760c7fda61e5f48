// Operator state (split-distribute and union lists) and broadcast state: semantics, snapshots,
// the binary encoding under bad input, and redistribution when the parallelism changes.
#include "statewatch/state/operator_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "embedded-state/test_util.h"

namespace statewatch {
namespace {

// A user type with its own serializer: a source split and how far it has been read, the
// typical content of split-distribute operator state.
struct SourceSplit {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  bool operator==(const SourceSplit&) const = default;
};

// Another type that (wrongly) claims the same serializer id, to exercise the C++ type check.
struct SplitImpostor {
  std::string text;
};

// Ordered the opposite way to its serialized bytes, so BroadcastState's iteration order (K's
// operator<) and the snapshot's order (key bytes) differ.
struct Descending {
  int32_t v = 0;
  bool operator<(const Descending& o) const { return v > o.v; }
};

}  // namespace

template <>
struct Serializer<SourceSplit> {
  static constexpr std::string_view kId = "test.SourceSplit/v1";
  static void Serialize(const SourceSplit& s, std::string* out) {
    Serializer<int32_t>::Serialize(s.partition, out);
    Serializer<int64_t>::Serialize(s.offset, out);
    out->append(s.topic);
  }
  static bool Deserialize(std::string_view in, SourceSplit* out) {
    if (in.size() < 12) return false;
    if (!Serializer<int32_t>::Deserialize(in.substr(0, 4), &out->partition) ||
        !Serializer<int64_t>::Deserialize(in.substr(4, 8), &out->offset)) {
      return false;
    }
    out->topic.assign(in.substr(12));
    return true;
  }
};

template <>
struct Serializer<SplitImpostor> {
  static constexpr std::string_view kId = "test.SourceSplit/v1";
  static void Serialize(const SplitImpostor& s, std::string* out) { out->append(s.text); }
  static bool Deserialize(std::string_view in, SplitImpostor* out) {
    out->text.assign(in);
    return true;
  }
};

template <>
struct Serializer<Descending> {
  static constexpr std::string_view kId = "test.Descending/v1";
  static void Serialize(const Descending& d, std::string* out) {
    Serializer<int32_t>::Serialize(d.v, out);
  }
  static bool Deserialize(std::string_view in, Descending* out) {
    return Serializer<int32_t>::Deserialize(in, &out->v);
  }
};

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

using Entries = std::vector<std::pair<std::string, int64_t>>;

template <typename T>
std::vector<T> ListOf(OperatorListState<T>* state) {
  Result<std::vector<T>> got = state->Get();
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  return got.ok() ? *got : std::vector<T>{};
}

template <typename K, typename V>
std::vector<std::pair<K, V>> EntriesOf(BroadcastState<K, V>* state) {
  auto got = state->Entries();
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  return got.ok() ? *got : std::vector<std::pair<K, V>>{};
}

std::string I64(int64_t v) {
  return SerializeToString(v);
}

// A string literal's bytes, embedded NULs included, without the terminator.
template <size_t N>
std::string Raw(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// --- Semantics of the handles ---

TEST(OperatorStateTest, ListStateAddAddAllUpdateClear) {
  OperatorStateBackend backend;
  auto got = backend.GetListState<int64_t>("offsets");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  OperatorListState<int64_t>* list = *got;

  EXPECT_THAT(ListOf(list), IsEmpty());
  ASSERT_SW_OK(list->Add(1));
  ASSERT_SW_OK(list->Add(2));
  ASSERT_SW_OK(list->AddAll({3, 4}));
  EXPECT_THAT(ListOf(list), ElementsAre(1, 2, 3, 4));
  ASSERT_SW_OK(list->Update({9, 8}));
  EXPECT_THAT(ListOf(list), ElementsAre(9, 8));
  ASSERT_SW_OK(list->Update({}));
  EXPECT_THAT(ListOf(list), IsEmpty());
  ASSERT_SW_OK(list->Add(5));
  ASSERT_SW_OK(list->Clear());
  EXPECT_THAT(ListOf(list), IsEmpty());
}

TEST(OperatorStateTest, UnionListStateHasListSemanticsAndIsRecordedAsUnion) {
  OperatorStateBackend backend;
  auto got = backend.GetUnionListState<std::string>("assignments");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_SW_OK((*got)->AddAll({"a", "b"}));
  EXPECT_THAT(ListOf(*got), ElementsAre("a", "b"));

  auto snapshot = backend.Snapshot();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->states.size(), 1u);
  EXPECT_EQ(snapshot->states[0].mode, OperatorStateMode::kUnion);
  EXPECT_EQ(snapshot->states[0].value_serializer, "str");
  EXPECT_THAT(snapshot->states[0].elements, ElementsAre("a", "b"));
}

TEST(OperatorStateTest, BroadcastStateMapOperations) {
  OperatorStateBackend backend;
  auto got = backend.GetBroadcastState<std::string, int64_t>("limits");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  BroadcastState<std::string, int64_t>* limits = *got;

  EXPECT_TRUE(limits->Get("orders").status().IsNotFound());
  EXPECT_TRUE(*limits->IsEmpty());
  ASSERT_SW_OK(limits->Put("orders", 10));
  ASSERT_SW_OK(limits->Put("users", 20));
  ASSERT_SW_OK(limits->Put("orders", 11));  // overwrite
  ASSERT_SW_OK(limits->PutAll({{"clicks", 30}, {"users", 21}}));
  EXPECT_EQ(limits->Get("orders").value_or(-1), 11);
  EXPECT_TRUE(*limits->Contains("clicks"));
  EXPECT_FALSE(*limits->Contains("nope"));
  EXPECT_THAT(EntriesOf(limits),
              ElementsAre(Pair("clicks", 30), Pair("orders", 11), Pair("users", 21)));
  EXPECT_THAT(*limits->Keys(), ElementsAre("clicks", "orders", "users"));

  std::vector<std::string> visited;
  ASSERT_SW_OK(limits->ForEach([&](const std::string& k, const int64_t&) {
    visited.push_back(k);
    return visited.size() < 2;  // stop early
  }));
  EXPECT_THAT(visited, ElementsAre("clicks", "orders"));

  ASSERT_SW_OK(limits->Remove("orders"));
  ASSERT_SW_OK(limits->Remove("orders"));  // absent: still OK
  EXPECT_TRUE(limits->Get("orders").status().IsNotFound());
  ASSERT_SW_OK(limits->Clear());
  EXPECT_TRUE(*limits->IsEmpty());
}

TEST(OperatorStateTest, SameNameReturnsSameHandle) {
  OperatorStateBackend backend;
  auto a = backend.GetListState<int64_t>("l");
  auto b = backend.GetListState<int64_t>("l");
  auto c = backend.GetBroadcastState<std::string, int64_t>("m");
  auto d = backend.GetBroadcastState<std::string, int64_t>("m");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*c, *d);
  EXPECT_THAT(backend.StateNames(), ElementsAre("l", "m"));
}

TEST(OperatorStateTest, ReRegistrationWithAnotherModeOrSerializerNamesBoth) {
  OperatorStateBackend backend;
  ASSERT_TRUE(backend.GetListState<int64_t>("offsets").ok());
  ASSERT_TRUE((backend.GetBroadcastState<std::string, int64_t>("rules").ok()));

  auto as_union = backend.GetUnionListState<int64_t>("offsets");
  ASSERT_TRUE(as_union.status().IsInvalidArgument());
  EXPECT_THAT(as_union.status().message(),
              AllOf(HasSubstr("'offsets'"), HasSubstr("split-distribute list<i64>"),
                    HasSubstr("union list<i64>")));

  auto other_serializer = backend.GetListState<std::string>("offsets");
  ASSERT_TRUE(other_serializer.status().IsInvalidArgument());
  EXPECT_THAT(other_serializer.status().message(), AllOf(HasSubstr("split-distribute list<i64>"),
                                                         HasSubstr("split-distribute list<str>")));

  auto as_broadcast = backend.GetBroadcastState<std::string, int64_t>("offsets");
  ASSERT_TRUE(as_broadcast.status().IsInvalidArgument());
  EXPECT_THAT(as_broadcast.status().message(), HasSubstr("broadcast map<str, i64>"));

  auto other_key = backend.GetBroadcastState<int32_t, int64_t>("rules");
  ASSERT_TRUE(other_key.status().IsInvalidArgument());
  EXPECT_THAT(other_key.status().message(),
              AllOf(HasSubstr("'rules'"), HasSubstr("broadcast map<str, i64>"),
                    HasSubstr("broadcast map<i32, i64>")));

  auto as_list = backend.GetListState<int64_t>("rules");
  ASSERT_TRUE(as_list.status().IsInvalidArgument());

  EXPECT_TRUE(backend.GetListState<int64_t>("").status().IsInvalidArgument());
  // The failed requests registered nothing and changed nothing.
  EXPECT_THAT(backend.StateNames(), ElementsAre("offsets", "rules"));
}

TEST(OperatorStateTest, AnotherCppTypeWithTheSameSerializerIdIsRejected) {
  OperatorStateBackend backend;
  ASSERT_TRUE(backend.GetListState<SourceSplit>("splits").ok());
  auto impostor = backend.GetListState<SplitImpostor>("splits");
  ASSERT_TRUE(impostor.status().IsInvalidArgument());
  EXPECT_THAT(impostor.status().message(),
              AllOf(HasSubstr("'splits'"), HasSubstr("another C++ type")));
}

// --- Snapshots ---

TEST(OperatorStateTest, SnapshotListsEveryStateSortedByNameWithItsShape) {
  OperatorStateBackend backend;
  ASSERT_SW_OK((*backend.GetUnionListState<int64_t>("zeta"))->Add(7));
  ASSERT_SW_OK((*backend.GetBroadcastState<std::string, int64_t>("beta"))->Put("k", 1));
  ASSERT_TRUE(backend.GetListState<int64_t>("alpha").ok());  // registered, empty

  auto snapshot = backend.Snapshot();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->states.size(), 3u);
  const NamedOperatorState& alpha = snapshot->states[0];
  const NamedOperatorState& beta = snapshot->states[1];
  const NamedOperatorState& zeta = snapshot->states[2];
  EXPECT_EQ(alpha.name, "alpha");
  EXPECT_EQ(alpha.mode, OperatorStateMode::kSplitDistribute);
  EXPECT_EQ(alpha.value_serializer, "i64");
  EXPECT_EQ(alpha.key_serializer, "");
  EXPECT_THAT(alpha.elements, IsEmpty());
  EXPECT_EQ(beta.name, "beta");
  EXPECT_EQ(beta.mode, OperatorStateMode::kBroadcast);
  EXPECT_EQ(beta.key_serializer, "str");
  EXPECT_EQ(beta.value_serializer, "i64");
  EXPECT_THAT(beta.entries, ElementsAre(Pair("k", I64(1))));
  EXPECT_EQ(zeta.name, "zeta");
  EXPECT_EQ(zeta.mode, OperatorStateMode::kUnion);
  EXPECT_THAT(zeta.elements, ElementsAre(I64(7)));
}

TEST(OperatorStateTest, EqualBroadcastMapsSnapshotIdenticallyInKeyByteOrder) {
  OperatorStateBackend a, b;
  auto in_a = a.GetBroadcastState<Descending, int64_t>("m");
  auto in_b = b.GetBroadcastState<Descending, int64_t>("m");
  ASSERT_TRUE(in_a.ok() && in_b.ok());
  for (int32_t k : {3, -5, 1000, 0}) ASSERT_SW_OK((*in_a)->Put(Descending{k}, k * 2));
  for (int32_t k : {0, 1000, 3, -5}) ASSERT_SW_OK((*in_b)->Put(Descending{k}, k * 2));

  // Live iteration follows K's operator< (descending here)...
  std::vector<int32_t> live;
  ASSERT_SW_OK((*in_a)->ForEach([&](const Descending& k, const int64_t&) {
    live.push_back(k.v);
    return true;
  }));
  EXPECT_THAT(live, ElementsAre(1000, 3, 0, -5));

  // ...while the snapshot is in key-byte order, identical for equal maps.
  auto snap_a = a.Snapshot();
  auto snap_b = b.Snapshot();
  ASSERT_TRUE(snap_a.ok() && snap_b.ok());
  EXPECT_EQ(*snap_a, *snap_b);
  EXPECT_EQ(EncodeOperatorStateSnapshot(*snap_a), EncodeOperatorStateSnapshot(*snap_b));
  const auto& entries = snap_a->states.at(0).entries;
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].first, SerializeToString(int32_t{-5}));
  EXPECT_EQ(entries[3].first, SerializeToString(int32_t{1000}));
}

// Fills a backend with one state of each mode plus a user-type list.
void Populate(OperatorStateBackend* backend) {
  ASSERT_SW_OK((*backend->GetListState<int64_t>("offsets"))->AddAll({10, 20, 30}));
  ASSERT_SW_OK((*backend->GetUnionListState<std::string>("owners"))->AddAll({"x", "", "y"}));
  auto rules = backend->GetBroadcastState<std::string, int64_t>("rules");
  ASSERT_TRUE(rules.ok());
  ASSERT_SW_OK((*rules)->Put("max", 100));
  ASSERT_SW_OK((*rules)->Put("min", -100));
  ASSERT_SW_OK((*backend->GetListState<SourceSplit>("splits"))
                   ->AddAll({{"orders", 0, 42}, {"orders", 1, 7}, {"", -1, -1}}));
}

void ExpectPopulated(OperatorStateBackend* backend) {
  EXPECT_THAT(ListOf(*backend->GetListState<int64_t>("offsets")), ElementsAre(10, 20, 30));
  EXPECT_THAT(ListOf(*backend->GetUnionListState<std::string>("owners")),
              ElementsAre("x", "", "y"));
  auto rules = backend->GetBroadcastState<std::string, int64_t>("rules");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  EXPECT_THAT(EntriesOf(*rules), ElementsAre(Pair("max", 100), Pair("min", -100)));
  EXPECT_THAT(ListOf(*backend->GetListState<SourceSplit>("splits")),
              ElementsAre(SourceSplit{"orders", 0, 42}, SourceSplit{"orders", 1, 7},
                          SourceSplit{"", -1, -1}));
}

TEST(OperatorStateTest, SnapshotEncodeDecodeRestoreRoundTripBeforeRequesting) {
  OperatorStateBackend original;
  Populate(&original);
  auto snapshot = original.Snapshot();
  ASSERT_TRUE(snapshot.ok());
  const std::string bytes = EncodeOperatorStateSnapshot(*snapshot);
  auto decoded = DecodeOperatorStateSnapshot(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, *snapshot);

  OperatorStateBackend restored;
  ASSERT_SW_OK(restored.Restore(*decoded));
  EXPECT_THAT(restored.StateNames(), IsEmpty());  // nothing decoded until requested
  ExpectPopulated(&restored);
  auto again = restored.Snapshot();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *snapshot);
  EXPECT_EQ(EncodeOperatorStateSnapshot(*again), bytes);
}

TEST(OperatorStateTest, SnapshotEncodeDecodeRestoreRoundTripAfterRequesting) {
  OperatorStateBackend original;
  Populate(&original);
  auto snapshot = original.Snapshot();
  ASSERT_TRUE(snapshot.ok());
  auto decoded = DecodeOperatorStateSnapshot(EncodeOperatorStateSnapshot(*snapshot));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();

  OperatorStateBackend restored;
  auto offsets = restored.GetListState<int64_t>("offsets");
  auto rules = restored.GetBroadcastState<std::string, int64_t>("rules");
  ASSERT_TRUE(offsets.ok() && rules.ok());
  ASSERT_SW_OK((*offsets)->Add(999));  // replaced by the restore
  ASSERT_SW_OK(restored.Restore(*decoded));
  // Handles taken before the restore see the restored contents.
  EXPECT_THAT(ListOf(*offsets), ElementsAre(10, 20, 30));
  EXPECT_THAT(EntriesOf(*rules), ElementsAre(Pair("max", 100), Pair("min", -100)));
  ExpectPopulated(&restored);
  EXPECT_EQ(*restored.Snapshot(), *snapshot);
}

TEST(OperatorStateTest, RestoredButUnrequestedStatesAreCarriedIntoTheNextSnapshot) {
  OperatorStateBackend original;
  Populate(&original);
  auto snapshot = original.Snapshot();
  ASSERT_TRUE(snapshot.ok());

  OperatorStateBackend restored;
  ASSERT_SW_OK(restored.Restore(*snapshot));
  ASSERT_SW_OK((*restored.GetListState<int64_t>("offsets"))->Add(40));
  auto next = restored.Snapshot();
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->states.size(), 4u);  // "owners", "rules", "splits" still there as bytes
  NamedOperatorState expected_offsets = snapshot->states[0];
  expected_offsets.elements.push_back(I64(40));
  EXPECT_EQ(next->states[0], expected_offsets);
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(next->states[i], snapshot->states[i]);
}

TEST(OperatorStateTest, RestoreReplacesContentsAndEmptiesStatesMissingFromTheSnapshot) {
  OperatorStateBackend backend;
  auto kept = backend.GetListState<int64_t>("kept");
  auto dropped = backend.GetBroadcastState<std::string, int64_t>("dropped");
  ASSERT_TRUE(kept.ok() && dropped.ok());
  ASSERT_SW_OK((*kept)->Add(1));
  ASSERT_SW_OK((*dropped)->Put("k", 1));

  OperatorStateSnapshot snapshot;
  snapshot.states.push_back({"kept", OperatorStateMode::kSplitDistribute, "i64", "", {I64(5)}, {}});
  ASSERT_SW_OK(backend.Restore(snapshot));
  EXPECT_THAT(ListOf(*kept), ElementsAre(5));
  EXPECT_TRUE(*(*dropped)->IsEmpty());
}

TEST(OperatorStateTest, RestoreWithAnotherSerializerIsRejectedNamingStateAndBothIds) {
  OperatorStateSnapshot snapshot;
  snapshot.states.push_back(
      {"offsets", OperatorStateMode::kSplitDistribute, "i64", "", {I64(1), I64(2)}, {}});

  // Restore first, then request with the wrong serializer: the bytes stay pending.
  OperatorStateBackend pending;
  ASSERT_SW_OK(pending.Restore(snapshot));
  auto wrong = pending.GetListState<std::string>("offsets");
  ASSERT_TRUE(wrong.status().IsInvalidArgument());
  EXPECT_THAT(wrong.status().message(),
              AllOf(HasSubstr("'offsets'"), HasSubstr("list<i64>"), HasSubstr("list<str>")));
  auto wrong_mode = pending.GetUnionListState<int64_t>("offsets");
  ASSERT_TRUE(wrong_mode.status().IsInvalidArgument());
  EXPECT_THAT(wrong_mode.status().message(), HasSubstr("union list<i64>"));
  auto right = pending.GetListState<int64_t>("offsets");
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_THAT(ListOf(*right), ElementsAre(1, 2));

  // Request first, then restore: the whole restore is refused and nothing changes.
  OperatorStateBackend registered;
  auto other = registered.GetListState<int64_t>("other");
  auto as_str = registered.GetListState<std::string>("offsets");
  ASSERT_TRUE(other.ok() && as_str.ok());
  ASSERT_SW_OK((*other)->Add(77));
  ASSERT_SW_OK((*as_str)->Add("keep"));
  snapshot.states.push_back({"other", OperatorStateMode::kSplitDistribute, "i64", "", {}, {}});
  Status s = registered.Restore(snapshot);
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("'offsets'"), HasSubstr("list<i64>"), HasSubstr("list<str>")));
  EXPECT_THAT(ListOf(*other), ElementsAre(77));
  EXPECT_THAT(ListOf(*as_str), ElementsAre("keep"));
}

TEST(OperatorStateTest, UndecodableBytesAreCorruptionNamingStateAndIndex) {
  OperatorStateSnapshot snapshot;
  snapshot.states.push_back(
      {"a-good", OperatorStateMode::kSplitDistribute, "i64", "", {I64(1)}, {}});
  snapshot.states.push_back(
      {"b-bad", OperatorStateMode::kSplitDistribute, "i64", "", {I64(1), "xyz", I64(3)}, {}});
  snapshot.states.push_back(
      {"c-map", OperatorStateMode::kBroadcast, "i64", "i32", {}, {{I64(1), I64(2)}}});

  // Pending path: the error shows when the state is requested, and stays.
  OperatorStateBackend pending;
  ASSERT_SW_OK(pending.Restore(snapshot));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto bad = pending.GetListState<int64_t>("b-bad");
    ASSERT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
    EXPECT_THAT(bad.status().message(),
                AllOf(HasSubstr("'b-bad'"), HasSubstr("element 1 of 3"), HasSubstr("'i64'")));
  }
  auto bad_key = pending.GetBroadcastState<int32_t, int64_t>("c-map");  // 8-byte key for an i32
  ASSERT_TRUE(bad_key.status().IsCorruption());
  EXPECT_THAT(bad_key.status().message(),
              AllOf(HasSubstr("'c-map'"), HasSubstr("key of entry 0 of 1"), HasSubstr("'i32'")));
  EXPECT_THAT(ListOf(*pending.GetListState<int64_t>("a-good")), ElementsAre(1));

  // Registered path: Restore itself fails and leaves every state as it was.
  OperatorStateBackend registered;
  auto good = registered.GetListState<int64_t>("a-good");
  auto bad = registered.GetListState<int64_t>("b-bad");
  ASSERT_TRUE(good.ok() && bad.ok());
  ASSERT_SW_OK((*good)->Add(100));
  ASSERT_SW_OK((*bad)->Add(200));
  Status s = registered.Restore(snapshot);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("'b-bad'"), HasSubstr("element 1 of 3")));
  EXPECT_THAT(ListOf(*good), ElementsAre(100));
  EXPECT_THAT(ListOf(*bad), ElementsAre(200));
}

TEST(OperatorStateTest, MalformedSnapshotStructsAreRejected) {
  OperatorStateBackend backend;
  OperatorStateSnapshot unsorted;
  unsorted.states.push_back({"b", OperatorStateMode::kUnion, "i64", "", {}, {}});
  unsorted.states.push_back({"a", OperatorStateMode::kUnion, "i64", "", {}, {}});
  EXPECT_TRUE(backend.Restore(unsorted).IsCorruption());

  OperatorStateSnapshot duplicated;
  duplicated.states.push_back({"a", OperatorStateMode::kUnion, "i64", "", {}, {}});
  duplicated.states.push_back({"a", OperatorStateMode::kUnion, "i64", "", {}, {}});
  EXPECT_TRUE(backend.Restore(duplicated).IsCorruption());

  OperatorStateSnapshot bad_mode;
  bad_mode.states.push_back({"a", static_cast<OperatorStateMode>(9), "i64", "", {}, {}});
  Status s = backend.Restore(bad_mode);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_THAT(s.message(), HasSubstr("unknown(9)"));

  OperatorStateSnapshot unsorted_keys;
  unsorted_keys.states.push_back(
      {"m", OperatorStateMode::kBroadcast, "i64", "str", {}, {{"b", I64(1)}, {"a", I64(2)}}});
  EXPECT_TRUE(backend.Restore(unsorted_keys).IsCorruption());

  OperatorStateSnapshot list_with_entries;
  list_with_entries.states.push_back(
      {"l", OperatorStateMode::kSplitDistribute, "i64", "", {}, {{"a", I64(1)}}});
  EXPECT_TRUE(backend.Restore(list_with_entries).IsCorruption());
}

// --- Redistribution ---

// One old instance's snapshot, made through a real backend.
OperatorStateSnapshot InstanceWith(const std::vector<int64_t>& split,
                                   const std::vector<int64_t>& unioned, const Entries& broadcast) {
  OperatorStateBackend backend;
  EXPECT_SW_OK((*backend.GetListState<int64_t>("split"))->AddAll(split));
  EXPECT_SW_OK((*backend.GetUnionListState<int64_t>("union"))->AddAll(unioned));
  auto map = backend.GetBroadcastState<std::string, int64_t>("broadcast");
  for (const auto& [k, v] : broadcast) EXPECT_SW_OK((*map)->Put(k, v));
  auto snapshot = backend.Snapshot();
  EXPECT_TRUE(snapshot.ok());
  return *snapshot;
}

// Snapshot → encode → decode for every old instance, redistribute, restore into new backends.
std::vector<std::unique_ptr<OperatorStateBackend>> Rescale(
    const std::vector<OperatorStateSnapshot>& old_instances, int new_parallelism) {
  std::vector<OperatorStateSnapshot> from_disk;
  for (const OperatorStateSnapshot& s : old_instances) {
    auto decoded = DecodeOperatorStateSnapshot(EncodeOperatorStateSnapshot(s));
    EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
    from_disk.push_back(*decoded);
  }
  auto parts = RedistributeOperatorState(from_disk, new_parallelism);
  EXPECT_TRUE(parts.ok()) << parts.status().ToString();
  std::vector<std::unique_ptr<OperatorStateBackend>> out;
  if (!parts.ok()) return out;
  EXPECT_EQ(parts->size(), static_cast<size_t>(new_parallelism));
  for (const OperatorStateSnapshot& part : *parts) {
    out.push_back(std::make_unique<OperatorStateBackend>());
    EXPECT_SW_OK(out.back()->Restore(part));
  }
  return out;
}

struct SplitCase {
  std::vector<size_t> old_sizes;
  int new_parallelism;
};

class EvenSplitTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(EvenSplitTest, EveryElementOnceInOrderWithChunkSizesWithinOne) {
  const SplitCase& c = GetParam();
  std::vector<OperatorStateSnapshot> old_instances;
  std::vector<int64_t> all;
  int64_t next = 0;
  for (size_t size : c.old_sizes) {
    std::vector<int64_t> mine;
    for (size_t i = 0; i < size; ++i) mine.push_back(next++);
    all.insert(all.end(), mine.begin(), mine.end());
    old_instances.push_back(InstanceWith(mine, {}, {}));
  }

  auto instances = Rescale(old_instances, c.new_parallelism);
  ASSERT_EQ(instances.size(), static_cast<size_t>(c.new_parallelism));
  std::vector<int64_t> concatenated;
  size_t smallest = SIZE_MAX, largest = 0;
  for (size_t i = 0; i < instances.size(); ++i) {
    auto list = instances[i]->GetListState<int64_t>("split");
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    std::vector<int64_t> chunk = ListOf(*list);
    // Contiguous chunks, larger ones first.
    const size_t expected = all.size() / instances.size() + (i < all.size() % instances.size());
    EXPECT_EQ(chunk.size(), expected) << "new instance " << i;
    smallest = std::min(smallest, chunk.size());
    largest = std::max(largest, chunk.size());
    concatenated.insert(concatenated.end(), chunk.begin(), chunk.end());
  }
  EXPECT_LE(largest - smallest, 1u);
  EXPECT_EQ(concatenated, all);  // each element exactly once, old order preserved
}

INSTANTIATE_TEST_SUITE_P(Rescale, EvenSplitTest,
                         ::testing::Values(SplitCase{{5, 0, 7}, 2},     // 3 → 2
                                           SplitCase{{3, 4}, 5},        // 2 → 5
                                           SplitCase{{9, 0, 1, 2}, 4},  // 4 → 4, rebalanced
                                           SplitCase{{1, 1}, 5},  // fewer elements than instances
                                           SplitCase{{0, 0, 0}, 2},  // nothing at all
                                           SplitCase{{10}, 1}),      // 1 → 1
                         [](const ::testing::TestParamInfo<SplitCase>& param_info) {
                           return std::to_string(param_info.param.old_sizes.size()) + "to" +
                                  std::to_string(param_info.param.new_parallelism) + "_" +
                                  std::to_string(param_info.index);
                         });

TEST(RedistributeTest, UnionGivesEveryNewInstanceAllElementsInInstanceOrder) {
  std::vector<OperatorStateSnapshot> old_instances = {
      InstanceWith({}, {1, 2}, {}), InstanceWith({}, {}, {}), InstanceWith({}, {3}, {})};
  for (int parallelism : {2, 3, 5}) {
    auto instances = Rescale(old_instances, parallelism);
    ASSERT_EQ(instances.size(), static_cast<size_t>(parallelism));
    for (auto& instance : instances) {
      EXPECT_THAT(ListOf(*instance->GetUnionListState<int64_t>("union")), ElementsAre(1, 2, 3));
    }
  }
}

TEST(RedistributeTest, BroadcastIsIdenticalOnEveryNewInstance) {
  const Entries rules = {{"max", 100}, {"min", -5}};
  std::vector<OperatorStateSnapshot> three = {InstanceWith({}, {}, rules),
                                              InstanceWith({}, {}, {{"min", -5}, {"max", 100}}),
                                              InstanceWith({}, {}, rules)};
  for (int parallelism : {2, 3, 5}) {
    auto instances = Rescale(three, parallelism);
    ASSERT_EQ(instances.size(), static_cast<size_t>(parallelism));
    std::vector<OperatorStateSnapshot> snapshots;
    for (auto& instance : instances) {
      auto map = instance->GetBroadcastState<std::string, int64_t>("broadcast");
      ASSERT_TRUE(map.ok());
      EXPECT_THAT(EntriesOf(*map), ElementsAre(Pair("max", 100), Pair("min", -5)));
      snapshots.push_back(*instance->Snapshot());
    }
    for (const auto& s : snapshots) EXPECT_EQ(s, snapshots[0]);  // identical after restore
  }
}

TEST(RedistributeTest, DifferingBroadcastMapsAreRefusedNamingTheState) {
  std::vector<OperatorStateSnapshot> old_instances = {InstanceWith({}, {}, {{"max", 100}}),
                                                      InstanceWith({}, {}, {{"max", 100}}),
                                                      InstanceWith({}, {}, {{"max", 101}})};
  auto parts = RedistributeOperatorState(old_instances, 2);
  ASSERT_TRUE(parts.status().IsFailedPrecondition()) << parts.status().ToString();
  EXPECT_THAT(parts.status().message(), AllOf(HasSubstr("'broadcast'"), HasSubstr("old instance 0"),
                                              HasSubstr("old instance 2")));

  // An instance that lacks the state entirely counts as holding an empty map.
  OperatorStateSnapshot without;
  auto missing = RedistributeOperatorState({old_instances[0], without}, 2);
  EXPECT_TRUE(missing.status().IsFailedPrecondition());
  auto all_empty = RedistributeOperatorState({InstanceWith({}, {}, {}), without}, 3);
  ASSERT_TRUE(all_empty.ok()) << all_empty.status().ToString();
}

TEST(RedistributeTest, StatesMissingFromSomeOldInstancesReachEveryNewInstance) {
  OperatorStateBackend only;
  ASSERT_SW_OK((*only.GetListState<int64_t>("late"))->AddAll({1, 2, 3}));
  auto parts = RedistributeOperatorState({OperatorStateSnapshot{}, *only.Snapshot()}, 2);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  for (const auto& part : *parts) {
    ASSERT_EQ(part.states.size(), 1u);
    EXPECT_EQ(part.states[0].name, "late");
    EXPECT_EQ(part.states[0].value_serializer, "i64");
  }
  EXPECT_THAT((*parts)[0].states[0].elements, ElementsAre(I64(1), I64(2)));
  EXPECT_THAT((*parts)[1].states[0].elements, ElementsAre(I64(3)));

  auto from_nothing = RedistributeOperatorState({}, 3);
  ASSERT_TRUE(from_nothing.ok());
  EXPECT_EQ(from_nothing->size(), 3u);
  for (const auto& part : *from_nothing) EXPECT_THAT(part.states, IsEmpty());
}

TEST(RedistributeTest, BadParallelismAndInconsistentInstancesAreRejected) {
  std::vector<OperatorStateSnapshot> ok = {InstanceWith({1}, {}, {}), InstanceWith({2}, {}, {})};
  EXPECT_TRUE(RedistributeOperatorState(ok, 0).status().IsInvalidArgument());
  EXPECT_TRUE(RedistributeOperatorState(ok, -3).status().IsInvalidArgument());

  OperatorStateBackend as_union;
  ASSERT_SW_OK((*as_union.GetUnionListState<int64_t>("split"))->Add(3));
  auto mode = RedistributeOperatorState({ok[0], *as_union.Snapshot()}, 2);
  ASSERT_TRUE(mode.status().IsCorruption());
  EXPECT_THAT(mode.status().message(),
              AllOf(HasSubstr("'split'"), HasSubstr("split-distribute list<i64>"),
                    HasSubstr("union list<i64>"), HasSubstr("old instance 1")));

  OperatorStateBackend as_string;
  ASSERT_SW_OK((*as_string.GetListState<std::string>("split"))->Add("x"));
  auto serializer = RedistributeOperatorState({ok[0], *as_string.Snapshot()}, 2);
  ASSERT_TRUE(serializer.status().IsCorruption());
  EXPECT_THAT(serializer.status().message(), HasSubstr("list<str>"));

  OperatorStateSnapshot malformed;
  malformed.states.push_back({"", OperatorStateMode::kUnion, "i64", "", {}, {}});
  EXPECT_TRUE(RedistributeOperatorState({ok[0], malformed}, 2).status().IsCorruption());
}

// --- Encoding under bad input ---

std::string ValidEncoding() {
  OperatorStateBackend backend;
  Populate(&backend);
  return EncodeOperatorStateSnapshot(*backend.Snapshot());
}

// A decoded snapshot must always be well formed: Restore accepts it.
void ExpectDecodedIsUsable(const Result<OperatorStateSnapshot>& decoded) {
  if (!decoded.ok()) return;
  OperatorStateBackend backend;
  EXPECT_SW_OK(backend.Restore(*decoded));
}

TEST(OperatorStateEncodingTest, EveryPrefixOfAValidEncodingIsCorruptionWithAnOffset) {
  const std::string bytes = ValidEncoding();
  ASSERT_TRUE(DecodeOperatorStateSnapshot(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = DecodeOperatorStateSnapshot(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(decoded.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
    EXPECT_THAT(decoded.status().message(), HasSubstr("at byte "));
  }
}

TEST(OperatorStateEncodingTest, EverySingleByteMutationDecodesOrFailsCleanly) {
  const std::string bytes = ValidEncoding();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int delta : {1, 0x7f, 0x80, 0xff}) {
      std::string mutated = bytes;
      mutated[i] = static_cast<char>(static_cast<uint8_t>(mutated[i]) ^ delta);
      auto decoded = DecodeOperatorStateSnapshot(mutated);
      ExpectDecodedIsUsable(decoded);
    }
  }
}

TEST(OperatorStateEncodingTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(20240611);
  const std::string valid = ValidEncoding();
  for (int round = 0; round < 20000; ++round) {
    // Half the inputs keep a valid header so the body parser gets exercised too.
    std::string input = round % 2 == 0 ? valid.substr(0, 5) : std::string();
    const size_t size = rng() % 64;
    for (size_t i = 0; i < size; ++i) input.push_back(static_cast<char>(rng() & 0xff));
    ExpectDecodedIsUsable(DecodeOperatorStateSnapshot(input));
  }
}

TEST(OperatorStateEncodingTest, SpecificDefectsNameTheirOffset) {
  const std::string valid = ValidEncoding();

  auto magic = DecodeOperatorStateSnapshot("XWOP\x01");
  ASSERT_TRUE(magic.status().IsCorruption());
  EXPECT_THAT(magic.status().message(), AllOf(HasSubstr("magic"), HasSubstr("at byte 0")));

  std::string newer = valid;
  newer[4] = 2;
  auto version = DecodeOperatorStateSnapshot(newer);
  ASSERT_TRUE(version.status().IsNotSupported()) << version.status().ToString();
  EXPECT_THAT(version.status().message(), AllOf(HasSubstr("version 2"), HasSubstr("at byte 4")));

  auto trailing = DecodeOperatorStateSnapshot(valid + "!");
  ASSERT_TRUE(trailing.status().IsCorruption());
  EXPECT_THAT(trailing.status().message(),
              HasSubstr("1 trailing bytes at byte " + std::to_string(valid.size())));

  // A count far beyond the input is refused before anything is allocated for it.
  const std::string huge = Raw("SWOP\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f");
  auto count = DecodeOperatorStateSnapshot(huge);
  ASSERT_TRUE(count.status().IsCorruption());
  EXPECT_THAT(count.status().message(), AllOf(HasSubstr("state count"), HasSubstr("at byte 5")));

  // Overlong varint (11 continuation bytes).
  const std::string overlong = Raw("SWOP\x01") + std::string(11, '\x80');
  EXPECT_TRUE(DecodeOperatorStateSnapshot(overlong).status().IsCorruption());

  // One state "s": name at byte 6, mode at byte 8.
  const std::string bad_mode = Raw("SWOP\x01\x01\x01s\x09\x03i64\x00");
  auto mode = DecodeOperatorStateSnapshot(bad_mode);
  ASSERT_TRUE(mode.status().IsCorruption());
  EXPECT_THAT(mode.status().message(),
              AllOf(HasSubstr("unknown mode 9"), HasSubstr("'s'"), HasSubstr("at byte 8")));

  // Element 1 of state "s" claims 5 bytes where 1 is left: reported at its own offset (16).
  const std::string short_element = Raw("SWOP\x01\x01\x01s\x01\x03i64\x02\x01x\x05y");
  auto element = DecodeOperatorStateSnapshot(short_element);
  ASSERT_TRUE(element.status().IsCorruption());
  EXPECT_THAT(element.status().message(),
              AllOf(HasSubstr("element 1"), HasSubstr("'s'"), HasSubstr("at byte 16")));

  // Names out of order, broadcast keys out of order.
  const std::string names =
      Raw("SWOP\x01\x02\x01"
          "b\x02\x03i64\x00\x01"
          "a\x02\x03i64\x00");
  auto order = DecodeOperatorStateSnapshot(names);
  ASSERT_TRUE(order.status().IsCorruption()) << order.status().ToString();
  EXPECT_THAT(order.status().message(), AllOf(HasSubstr("'a'"), HasSubstr("at byte 14")));
  const std::string keys =
      Raw("SWOP\x01\x01\x01m\x03\x03i64\x03str\x02\x01"
          "b\x00\x01"
          "a\x00");
  auto key_order = DecodeOperatorStateSnapshot(keys);
  ASSERT_TRUE(key_order.status().IsCorruption()) << key_order.status().ToString();
  EXPECT_THAT(key_order.status().message(), AllOf(HasSubstr("entry 1"), HasSubstr("at byte 21")));
}

}  // namespace
}  // namespace statewatch
