// Test helpers shared by the snapshot and checkpoint tests: a backend filled with every kind of
// state (TTL on some, a namespace, many key groups), and its entries as comparable rows.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "embedded-state/test_util.h"
#include "statewatch/state/clock.h"
#include "statewatch/state/keyed_state_backend.h"

namespace statewatch::testing {

// An entry as owned strings, comparable across backends.
using Row =
    std::tuple<std::string, int, std::string, std::string, std::string, std::string, int64_t>;

inline Row RowOf(const std::string& state, const StateEntry& e) {
  return {state,
          e.key_group,
          std::string(e.key),
          std::string(e.ns),
          std::string(e.user_key),
          std::string(e.value),
          e.timestamp};
}

struct Average : AggregateFunction<double, std::string, double> {
  std::string CreateAccumulator() const override { return "0"; }
  std::string Add(const double& v, std::string acc) const override {
    return std::to_string(std::stod(acc) + v);
  }
  double GetResult(const std::string& acc) const override { return std::stod(acc); }
  std::string Merge(std::string a, const std::string&) const override { return a; }
};

// Fills `b` with five states — segment (Value), events (List, TTL), orders (Map), sum
// (Reducing, TTL), avg (Aggregating) — over 300 keys, the clock advancing a second per key, and
// flushes it.
inline void FillEveryStateKind(KeyedStateBackend& b, ManualClock& clock) {
  using std::chrono::hours;
  const TtlConfig ttl = TtlConfig::Of(hours(24));
  auto* value = *b.GetValueState(ValueStateDescriptor<std::string>("segment"));
  auto* list = *b.GetListState(ListStateDescriptor<int64_t>("events").EnableTimeToLive(ttl));
  auto* map = *b.GetMapState(MapStateDescriptor<std::string, int64_t>("orders"));
  ReducingStateDescriptor<int64_t> sum("sum",
                                       [](const int64_t& x, const int64_t& y) { return x + y; });
  sum.EnableTimeToLive(ttl);
  auto* reducing = *b.GetReducingState(sum);
  auto* avg = *b.GetAggregatingState(
      AggregatingStateDescriptor<double, std::string, double>("avg", std::make_shared<Average>()));
  for (int k = 0; k < 300; ++k) {
    EXPECT_SW_OK(b.SetCurrentKey("customer-" + std::to_string(k)));
    EXPECT_SW_OK(value->Update(k % 2 ? "smb" : "enterprise"));
    EXPECT_SW_OK(list->Add(k));
    EXPECT_SW_OK(list->Add(k * 10));
    EXPECT_SW_OK(map->Put("o" + std::to_string(k), k * 100));
    EXPECT_SW_OK(map->Put("o" + std::to_string(k + 1), 7));
    EXPECT_SW_OK(reducing->Add(k));
    EXPECT_SW_OK(avg->Add(k * 0.5));
    clock.Advance(std::chrono::seconds(1));
  }
  // A namespaced entry too (e.g. per window).
  EXPECT_SW_OK(b.SetCurrentKey(std::string("customer-1")));
  value->SetCurrentNamespace(std::string("window-7"));
  EXPECT_SW_OK(value->Update("late"));
  value->SetCurrentNamespace(std::string());
  EXPECT_SW_OK(b.Flush());
}

// Registers the states Filled() creates, with the same descriptors.
inline void RegisterFilledStates(KeyedStateBackend& b) {
  const TtlConfig ttl = TtlConfig::Of(std::chrono::hours(24));
  ASSERT_TRUE(b.GetValueState(ValueStateDescriptor<std::string>("segment")).ok());
  ASSERT_TRUE(b.GetListState(ListStateDescriptor<int64_t>("events").EnableTimeToLive(ttl)).ok());
  ASSERT_TRUE(b.GetMapState(MapStateDescriptor<std::string, int64_t>("orders")).ok());
  ReducingStateDescriptor<int64_t> sum("sum",
                                       [](const int64_t& x, const int64_t& y) { return x + y; });
  sum.EnableTimeToLive(ttl);
  ASSERT_TRUE(b.GetReducingState(sum).ok());
  ASSERT_TRUE(b.GetAggregatingState(AggregatingStateDescriptor<double, std::string, double>(
                                        "avg", std::make_shared<Average>()))
                  .ok());
}

// Every entry of every state of `b`, state by state in key-group order.
inline std::vector<Row> ScanAll(KeyedStateBackend& b) {
  std::vector<Row> rows;
  for (const std::string& name : b.StateNames()) {
    EXPECT_SW_OK(b.ScanState(name, ScanOptions(), [&](const StateEntry& e) {
      rows.push_back(RowOf(name, e));
      return true;
    }));
  }
  return rows;
}

}  // namespace statewatch::testing
