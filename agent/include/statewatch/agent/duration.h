// Durations in Prometheus notation: "30s", "5m", "1h30m", "7d", "2w", "250ms".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "statewatch/state/status.h"

namespace statewatch::agent {

// InvalidArgument naming the text for anything else (no unit, unknown unit, units out of
// order, overflow). "0s" is allowed; callers that need a positive duration check it.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The shortest Prometheus notation: 90000 ms → "1m30s".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace statewatch::agent
