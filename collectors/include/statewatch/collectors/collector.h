// Collector: reads one source and turns it into canonical samples (DESIGN.md, "Data flow").
//
// Collectors never talk to rules: they append samples, and the agent stores them. A failing
// source returns a non-OK Status naming what failed; the agent then sets that collector's
// statewatch_collector_up to 0 and keeps the others running.
//
// Thread-safety: one Collect at a time per collector (the agent's scheduler guarantees it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::collectors {

class Collector {
 public:
  virtual ~Collector() = default;
  // The registry name ("engine", "rocksdb_dir", …); also the `collector` label of its health.
  virtual std::string_view name() const = 0;
  // Reads the source once and appends samples stamped `now_millis` to *out.
  virtual Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) = 0;
};

// Builds a sample with labels sorted by name (the canonical order).
rules::Sample MakeSample(std::string series, rules::Labels labels, int64_t t_millis, double value);

// Hit ratio over an interval from two readings of cumulative hit/miss counters: Δhit/(Δhit+Δmiss).
// False when there was no lookup in the interval or a counter went backwards (a restart): a
// ratio from lifetime totals would hide a recent drop, so none is reported instead.
bool RatioFromCounterDeltas(uint64_t hits_before, uint64_t misses_before, uint64_t hits_now,
                            uint64_t misses_now, double* ratio);

}  // namespace statewatch::collectors
