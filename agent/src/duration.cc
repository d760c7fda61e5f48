#include "statewatch/agent/duration.h"

#include <cctype>
#include <cstdint>

namespace statewatch::agent {
namespace {
struct Unit {
  std::string_view name;
  int64_t millis;
};
// Largest first: Prometheus requires units in this order ("1h30m", not "30m1h").
constexpr Unit kUnits[] = {{"y", 365LL * 86400000},
                           {"w", 7LL * 86400000},
                           {"d", 86400000},
                           {"h", 3600000},
                           {"m", 60000},
                           {"s", 1000},
                           {"ms", 1}};
}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("duration '" + std::string(text) + "': " + why +
                                   " (expected e.g. 30s, 5m, 1h30m, 7d)");
  };
  if (text.empty()) return bad("empty");
  int64_t total = 0;
  size_t i = 0;
  int last_unit = -1;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return bad("expected a number");
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > (INT64_MAX - 9) / 10) return bad("too large");
      n = n * 10 + (text[i++] - '0');
    }
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    const std::string_view unit = text.substr(i, j - i);
    int found = -1;
    for (int u = 0; u < static_cast<int>(std::size(kUnits)); ++u) {
      if (kUnits[u].name == unit) found = u;
    }
    if (unit.empty()) return bad("missing unit");
    if (found < 0) return bad("unknown unit '" + std::string(unit) + "'");
    if (found <= last_unit) return bad("units out of order or repeated");
    last_unit = found;
    if (n > (INT64_MAX - total) / kUnits[found].millis) return bad("too large");
    total += n * kUnits[found].millis;
    i = j;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  for (const Unit& u : kUnits) {
    if (ms >= u.millis) {
      out += std::to_string(ms / u.millis) + std::string(u.name);
      ms %= u.millis;
    }
  }
  return out;
}

}  // namespace statewatch::agent
