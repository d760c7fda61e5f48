// Sample types: what collectors emit, storage keeps and rules read (DESIGN.md, "Data flow").
//
// Thread-safety: values; copy freely.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace statewatch::rules {

// Label pairs sorted by name, as Prometheus keeps them (job, source, state, cf, …).
using Labels = std::vector<std::pair<std::string, std::string>>;

// One observation of one series: a canonical metric name (statewatch_state_keys, …), its
// labels, the time in milliseconds since the Unix epoch and the value.
struct Sample {
  std::string series;
  Labels labels;
  int64_t t_millis = 0;
  double value = 0;
};

// A point of one series' history, as rules read it.
struct Point {
  int64_t t_millis = 0;
  double value = 0;
};

}  // namespace statewatch::rules
