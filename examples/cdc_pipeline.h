// CdcPipeline: the CDC aggregation job from statewatch's mission, built on the engine.
//
// Orders are joined with customers (both arrive as change-data-capture rows) and revenue is
// aggregated per customer segment. Two keyed operators, each with its own backend, as in Flink:
//
//   join      (key: customer id)  customer_segment  ValueState<str>        TTL 7 d OnCreateAndWrite
//                                 pending_orders    MapState<str, i64>     TTL 7 d OnCreateAndWrite
//                                 order_amounts     MapState<str, i64>     TTL 7 d OnCreateAndWrite
//   aggregate (key: segment)      revenue           ReducingState<i64>     TTL 90 d OnReadAndWrite
//
// Every TTL cleans up in RocksDB compactions (and incrementally on the heap). With `leaky` the
// join states have no TTL — the bug statewatch exists to catch: join state grows with every new
// customer, forever.
//
// Time is a ManualClock advanced through each simulated day, so weeks run in seconds.
// Thread-safety: one thread drives a pipeline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "statewatch/state/clock.h"
#include "statewatch/state/keyed_state_backend.h"

namespace statewatch::examples {

struct CdcPipelineOptions {
  std::string backend = "hashmap";  // or "rocksdb"
  std::string directory;            // RocksDB working directories go below it
  int new_customers_per_day = 2000;
  int orders_per_day = 20000;
  double late_customer_fraction = 0.05;  // orders that arrive before their customer row
  double order_update_fraction = 0.05;   // CDC updates of an earlier order's amount
  bool leaky = false;                    // join state without TTL
  uint64_t seed = 1;
  // Called from RunDay on the pipeline's thread each time simulated time passes another
  // `tick` — where a job that links statewatch's agent collects and evaluates (the heap
  // backend's stats must be read on the thread that drives it). An error stops the day.
  std::function<Status()> on_tick;
  std::chrono::milliseconds tick = std::chrono::minutes(15);
};

class CdcPipeline {
 public:
  static constexpr const char* kSegments[] = {"enterprise", "smb", "consumer", "public"};

  // `clock` must outlive the pipeline; the pipeline advances it.
  static Result<std::unique_ptr<CdcPipeline>> Create(const CdcPipelineOptions& options,
                                                     ManualClock* clock);

  // Processes one simulated day of CDC rows, moving the clock through the day.
  Status RunDay();

  int day() const { return day_; }
  int64_t events() const { return events_; }
  KeyedStateBackend& join_backend() { return *join_; }
  KeyedStateBackend& aggregate_backend() { return *aggregate_; }
  // Revenue per segment in cents, as the aggregate state holds it now.
  Result<std::map<std::string, int64_t>> RevenueBySegment();

 private:
  CdcPipeline(const CdcPipelineOptions& options, ManualClock* clock);
  Status Init();
  Status OnCustomer(const std::string& customer_id, const std::string& segment);
  Status OnOrder(const std::string& order_id, const std::string& customer_id, int64_t cents);
  Status Emit(const std::string& segment, int64_t delta_cents);
  Status AdvanceClock(std::chrono::milliseconds d);

  CdcPipelineOptions options_;
  ManualClock* clock_;
  std::mt19937_64 rng_;
  int day_ = 0;
  int64_t events_ = 0;
  int64_t next_order_ = 0;
  int64_t next_tick_millis_ = 0;
  // The generator's memory of recent orders (not job state), for CDC updates.
  static constexpr size_t kRecentOrders = 1000;
  std::vector<std::pair<int64_t, int64_t>> recent_orders_;  // (order, customer)

  std::unique_ptr<KeyedStateBackend> join_;
  std::unique_ptr<KeyedStateBackend> aggregate_;
  ValueState<std::string>* customer_segment_ = nullptr;
  MapState<std::string, int64_t>* pending_orders_ = nullptr;
  MapState<std::string, int64_t>* order_amounts_ = nullptr;
  ReducingState<int64_t>* revenue_ = nullptr;
};

}  // namespace statewatch::examples
