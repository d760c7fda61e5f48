#include "ttl_compaction_filter.h"

#include <string_view>

#include "statewatch/state/internal/encoding.h"

namespace statewatch::internal {

TtlCompactionFilter::TtlCompactionFilter(const TtlCompactionFilterConfig& config)
    : config_(config),
      ttl_(TtlConfig::Of(config.ttl)),
      // Start "due", so the first entry reads the clock.
      entries_since_clock_read_(config.query_time_after) {}

int64_t TtlCompactionFilter::Now() const {
  if (entries_since_clock_read_ >= config_.query_time_after) {
    now_ = config_.clock->NowMillis();
    entries_since_clock_read_ = 0;
  }
  ++entries_since_clock_read_;
  return now_;
}

void TtlCompactionFilter::CountRemoved(uint64_t n) const {
  if (config_.removed != nullptr && n != 0) {
    config_.removed->fetch_add(n, std::memory_order_relaxed);
  }
}

rocksdb::CompactionFilter::Decision TtlCompactionFilter::FilterV2(
    int /*level*/, const rocksdb::Slice& /*key*/, ValueType value_type,
    const rocksdb::Slice& existing_value, std::string* new_value,
    std::string* /*skip_until*/) const {
  if (config_.kind == StateKind::kList) {
    // List merge operands are element sequences just like list values: filter both.
    if (value_type != ValueType::kValue && value_type != ValueType::kMergeOperand) {
      return Decision::kKeep;
    }
    return FilterList(existing_value, new_value);
  }
  // Other kinds never merge; leave anything but plain values alone.
  if (value_type != ValueType::kValue) return Decision::kKeep;
  return FilterValue(existing_value);
}

rocksdb::CompactionFilter::Decision TtlCompactionFilter::FilterValue(
    const rocksdb::Slice& value) const {
  if (value.size() < kTimestampBytes) return Decision::kKeep;  // not ours to judge
  const auto ts = static_cast<int64_t>(GetFixed64BE(value.data()));
  if (!ttl_.IsExpired(ts, Now())) return Decision::kKeep;
  CountRemoved(1);
  return Decision::kRemove;
}

rocksdb::CompactionFilter::Decision TtlCompactionFilter::FilterList(const rocksdb::Slice& value,
                                                                    std::string* new_value) const {
  const int64_t now = Now();
  // First pass: validate the whole value and count expired elements, without allocating.
  std::string_view rest(value.data(), value.size());
  size_t total = 0;
  size_t expired = 0;
  while (!rest.empty()) {
    std::string_view element;
    if (!GetLengthPrefixed(&rest, &element) || element.size() < kTimestampBytes) {
      return Decision::kKeep;  // malformed: keep everything
    }
    ++total;
    if (ttl_.IsExpired(static_cast<int64_t>(GetFixed64BE(element.data())), now)) ++expired;
  }
  if (expired == 0) return Decision::kKeep;
  CountRemoved(expired);
  if (expired == total) return Decision::kRemove;
  // Second pass: copy the framed bytes of live elements unchanged.
  new_value->clear();
  new_value->reserve(value.size());
  rest = std::string_view(value.data(), value.size());
  while (!rest.empty()) {
    const char* frame_start = rest.data();
    std::string_view element;
    GetLengthPrefixed(&rest, &element);  // validated above
    if (ttl_.IsExpired(static_cast<int64_t>(GetFixed64BE(element.data())), now)) continue;
    new_value->append(frame_start, static_cast<size_t>(rest.data() - frame_start));
  }
  return Decision::kChangeValue;
}

std::unique_ptr<rocksdb::CompactionFilter> TtlCompactionFilterFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& /*context*/) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!enabled_) return nullptr;  // RocksDB then compacts without a filter
  return std::make_unique<TtlCompactionFilter>(config_);
}

void TtlCompactionFilterFactory::Reconfigure(std::chrono::milliseconds ttl, int query_time_after,
                                             bool enabled) {
  std::lock_guard<std::mutex> lock(mu_);
  config_.ttl = ttl;
  config_.query_time_after = query_time_after;
  enabled_ = enabled;
}

}  // namespace statewatch::internal
