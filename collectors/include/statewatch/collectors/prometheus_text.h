// A parser for the Prometheus text exposition format (version 0.0.4): what a Flink
// PrometheusReporter, a node_exporter or another statewatchd serves on /metrics.
//
//   # HELP name text with \\ and \n escapes
//   # TYPE name counter|gauge|histogram|summary|untyped
//   name{label="value with \" \\ \n escapes",other="x",} 1.5e3 1700000000000
//
// Accepted as Prometheus accepts them: any other comment, blank lines, a trailing comma in the
// label set (Flink's simpleclient writes one), values NaN, +Inf, -Inf and Go float syntax, an
// optional integer timestamp in milliseconds, histogram and summary samples (_bucket with le,
// _sum, _count, quantile). Rejected, with "line N: what" (as promtool rejects them): a bad metric
// or label name, an unterminated or badly escaped label value, a repeated label name, a missing
// or malformed value or timestamp, text after the timestamp, an unknown TYPE, a second TYPE for
// the same family or a TYPE after that family's samples, a _bucket without le and a summary
// sample other than _sum/_count without quantile.
//
// Bounded: at most `max_samples` samples (ResourceExhausted beyond), so a huge target cannot
// take the agent's memory; input size is bounded by the caller (the collector's max_bytes).
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::collectors {

struct ExpositionSample {
  std::string name;
  rules::Labels labels;  // in the order they were written
  double value = 0;
  std::optional<int64_t> timestamp_millis;
};

struct ExpositionFamily {
  std::string name;
  std::string type = "untyped";  // as declared by # TYPE, else untyped
  std::string help;
};

struct Exposition {
  std::vector<ExpositionSample> samples;
  std::vector<ExpositionFamily> families;  // those with a HELP or TYPE line, in order
};

// InvalidArgument "line N: …" for malformed text; ResourceExhausted past max_samples.
Result<Exposition> ParsePrometheusText(std::string_view text, size_t max_samples = 1'000'000);

}  // namespace statewatch::collectors
