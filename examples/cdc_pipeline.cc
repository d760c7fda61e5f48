#include "cdc_pipeline.h"

#include <chrono>
#include <filesystem>

namespace statewatch::examples {
namespace {
using std::chrono::hours;
constexpr std::chrono::milliseconds kDay = hours(24);

std::string CustomerId(int64_t n) {
  return "c" + std::to_string(n);
}
}  // namespace

CdcPipeline::CdcPipeline(const CdcPipelineOptions& options, ManualClock* clock)
    : options_(options), clock_(clock), rng_(options.seed) {}

Result<std::unique_ptr<CdcPipeline>> CdcPipeline::Create(const CdcPipelineOptions& options,
                                                         ManualClock* clock) {
  std::unique_ptr<CdcPipeline> p(new CdcPipeline(options, clock));
  SW_RETURN_IF_ERROR(p->Init());
  return p;
}

Status CdcPipeline::Init() {
  auto make = [&](const std::string& name) {
    BackendOptions o;
    o.backend = options_.backend;
    o.clock = clock_;
    o.rocksdb.local_directory = (std::filesystem::path(options_.directory) / name).string();
    o.rocksdb.memory_budget_bytes = 64u << 20;  // shared cache + memtables per operator
    return NewKeyedStateBackend(o);
  };
  auto join = make("join");
  if (!join.ok()) return join.status();
  join_ = std::move(*join);
  auto aggregate = make("aggregate");
  if (!aggregate.ok()) return aggregate.status();
  aggregate_ = std::move(*aggregate);

  // The job's TTLs: join state lives a week after its last write; revenue three months after
  // its last access. Compaction filter for RocksDB, incremental cleanup for the heap.
  TtlConfig join_ttl = TtlConfig::Of(kDay * 7)
                           .SetUpdateType(TtlUpdateType::kOnCreateAndWrite)
                           .CleanupInRocksdbCompactFilter(1000)
                           .CleanupFullSnapshot();
  // Incremental cleanup suits the heap (a few hash-map slots per access); on RocksDB each sweep
  // needs an iterator, so there the compaction filter does the work (as Flink recommends).
  if (options_.backend == "hashmap") join_ttl.CleanupIncrementally(10);
  if (options_.leaky) join_ttl = TtlConfig::Disabled();
  TtlConfig revenue_ttl = TtlConfig::Of(kDay * 90)
                              .SetUpdateType(TtlUpdateType::kOnReadAndWrite)
                              .CleanupInRocksdbCompactFilter(1000)
                              .CleanupFullSnapshot();

  auto segment = join_->GetValueState(
      ValueStateDescriptor<std::string>("customer_segment").EnableTimeToLive(join_ttl));
  auto pending = join_->GetMapState(
      MapStateDescriptor<std::string, int64_t>("pending_orders").EnableTimeToLive(join_ttl));
  auto amounts = join_->GetMapState(
      MapStateDescriptor<std::string, int64_t>("order_amounts").EnableTimeToLive(join_ttl));
  ReducingStateDescriptor<int64_t> revenue_desc(
      "revenue", [](const int64_t& a, const int64_t& b) { return a + b; });
  revenue_desc.EnableTimeToLive(revenue_ttl);
  auto revenue = aggregate_->GetReducingState(revenue_desc);
  if (!segment.ok()) return segment.status();
  if (!pending.ok()) return pending.status();
  if (!amounts.ok()) return amounts.status();
  if (!revenue.ok()) return revenue.status();
  customer_segment_ = *segment;
  pending_orders_ = *pending;
  order_amounts_ = *amounts;
  revenue_ = *revenue;
  return Status::OK();
}

Status CdcPipeline::Emit(const std::string& segment, int64_t delta_cents) {
  SW_RETURN_IF_ERROR(aggregate_->SetCurrentKey(segment));
  return revenue_->Add(delta_cents);
}

Status CdcPipeline::AdvanceClock(std::chrono::milliseconds d) {
  clock_->Advance(d);
  if (!options_.on_tick) return Status::OK();
  const int64_t now = clock_->NowMillis();
  if (next_tick_millis_ == 0) next_tick_millis_ = now + options_.tick.count();
  if (now < next_tick_millis_) return Status::OK();
  next_tick_millis_ += options_.tick.count();
  return options_.on_tick();
}

Status CdcPipeline::OnCustomer(const std::string& customer_id, const std::string& segment) {
  SW_RETURN_IF_ERROR(join_->SetCurrentKey(customer_id));
  SW_RETURN_IF_ERROR(customer_segment_->Update(segment));
  // Orders that arrived before their customer are joined now.
  auto waiting = pending_orders_->Entries();
  if (!waiting.ok()) return waiting.status();
  if (waiting->empty()) return Status::OK();
  SW_RETURN_IF_ERROR(pending_orders_->Clear());
  for (const auto& [order_id, cents] : *waiting) {
    SW_RETURN_IF_ERROR(order_amounts_->Put(order_id, cents));
  }
  for (const auto& [order_id, cents] : *waiting) SW_RETURN_IF_ERROR(Emit(segment, cents));
  return Status::OK();
}

Status CdcPipeline::OnOrder(const std::string& order_id, const std::string& customer_id,
                            int64_t cents) {
  SW_RETURN_IF_ERROR(join_->SetCurrentKey(customer_id));
  auto segment = customer_segment_->Value();
  if (!segment.ok()) {
    if (!segment.status().IsNotFound()) return segment.status();
    return pending_orders_->Put(order_id, cents);  // customer row not seen (yet)
  }
  // A CDC update replaces the order's amount: retract the previous one.
  auto previous = order_amounts_->Get(order_id);
  if (!previous.ok() && !previous.status().IsNotFound()) return previous.status();
  SW_RETURN_IF_ERROR(order_amounts_->Put(order_id, cents));
  return Emit(*segment, cents - previous.value_or(0));
}

Status CdcPipeline::RunDay() {
  const int64_t first_new = static_cast<int64_t>(day_) * options_.new_customers_per_day;
  const int64_t customers_so_far = first_new + options_.new_customers_per_day;
  const int64_t rows = options_.new_customers_per_day + options_.orders_per_day;
  const int64_t step_ms = kDay.count() / rows;
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int64_t> amount(500, 50000);

  // Interleave: each new customer row is followed by its share of orders. Orders mostly go to
  // customers of the last three days; a few to customers whose row has not arrived yet.
  const int orders_per_customer = options_.orders_per_day / options_.new_customers_per_day;
  for (int64_t i = 0; i < options_.new_customers_per_day; ++i) {
    const int64_t c = first_new + i;
    const char* segment = kSegments[c % 4];
    SW_RETURN_IF_ERROR(OnCustomer(CustomerId(c), segment));
    SW_RETURN_IF_ERROR(AdvanceClock(std::chrono::milliseconds(step_ms)));
    ++events_;
    for (int j = 0; j < orders_per_customer; ++j) {
      std::string order_id;
      int64_t customer;
      const double r = u(rng_);
      if (r < options_.order_update_fraction && !recent_orders_.empty()) {
        // A CDC update of a recent order: same id and customer, new amount.
        const auto& [o, cust] =
            recent_orders_[static_cast<size_t>(u(rng_) * recent_orders_.size())];
        order_id = "o" + std::to_string(o);
        customer = cust;
      } else {
        const int64_t o = next_order_++;
        order_id = "o" + std::to_string(o);
        if (r < options_.order_update_fraction + options_.late_customer_fraction) {
          customer =
              std::min<int64_t>(c + 1 + static_cast<int64_t>(u(rng_) * 10), customers_so_far - 1);
        } else {
          const int64_t window = std::min<int64_t>(c + 1, 3 * options_.new_customers_per_day);
          customer = c - static_cast<int64_t>(u(rng_) * window);
        }
        if (recent_orders_.size() < kRecentOrders) {
          recent_orders_.emplace_back(o, customer);
        } else {
          recent_orders_[static_cast<size_t>(o) % kRecentOrders] = {o, customer};
        }
      }
      SW_RETURN_IF_ERROR(OnOrder(order_id, CustomerId(customer), amount(rng_)));
      SW_RETURN_IF_ERROR(AdvanceClock(std::chrono::milliseconds(step_ms)));
      ++events_;
    }
  }
  // Once a day the job flushes its memtables, as a checkpoint would.
  SW_RETURN_IF_ERROR(join_->Flush());
  SW_RETURN_IF_ERROR(aggregate_->Flush());
  ++day_;
  return Status::OK();
}

Result<std::map<std::string, int64_t>> CdcPipeline::RevenueBySegment() {
  std::map<std::string, int64_t> out;
  for (const char* segment : kSegments) {
    SW_RETURN_IF_ERROR(aggregate_->SetCurrentKey(std::string(segment)));
    auto v = revenue_->Get();
    if (v.ok()) {
      out[segment] = *v;
    } else if (!v.status().IsNotFound()) {
      return v.status();
    }
  }
  return out;
}

}  // namespace statewatch::examples
