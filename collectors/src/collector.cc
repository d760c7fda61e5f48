#include "statewatch/collectors/collector.h"

#include <algorithm>

namespace statewatch::collectors {

rules::Sample MakeSample(std::string series, rules::Labels labels, int64_t t_millis, double value) {
  std::sort(labels.begin(), labels.end());
  return rules::Sample{std::move(series), std::move(labels), t_millis, value};
}

bool RatioFromCounterDeltas(uint64_t hits_before, uint64_t misses_before, uint64_t hits_now,
                            uint64_t misses_now, double* ratio) {
  if (hits_now < hits_before || misses_now < misses_before) return false;
  const uint64_t hits = hits_now - hits_before, misses = misses_now - misses_before;
  if (hits + misses == 0) return false;
  *ratio = static_cast<double>(hits) / static_cast<double>(hits + misses);
  return true;
}

}  // namespace statewatch::collectors
