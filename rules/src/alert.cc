#include "statewatch/rules/alert.h"

#include <cstdio>

namespace statewatch::rules {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t FnvAdd(uint64_t h, const std::string& bytes) {
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

uint64_t FnvSeparator(uint64_t h) {
  return (h ^ 0xFFu) * kFnvPrime;
}

}  // namespace

const char* AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "inactive";
}

uint64_t HashLabels(const Labels& labels) {
  uint64_t h = kFnvOffset;
  for (const auto& [name, value] : labels) {
    h = FnvSeparator(FnvAdd(h, name));
    h = FnvSeparator(FnvAdd(h, value));
  }
  return h;
}

std::string Fingerprint(const Labels& labels) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(HashLabels(labels)));
  return hex;
}

}  // namespace statewatch::rules
