// Shared by the fuzz targets: invariant checks that turn a violation into a crash libFuzzer
// records (with the input saved as an artifact), and small helpers.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace statewatch::fuzz {

[[noreturn]] inline void InvariantFailed(const char* condition, const char* file, int line,
                                         const std::string& detail) {
  std::fprintf(stderr, "\n==== invariant failed at %s:%d: %s\n", file, line, condition);
  if (!detail.empty()) std::fprintf(stderr, "     %s\n", detail.c_str());
  std::abort();
}

// The input as text (the parsers under test take std::string / std::string_view).
inline std::string AsString(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace statewatch::fuzz

// FUZZ_CHECK(condition) or FUZZ_CHECK(condition, detail): aborts (a libFuzzer crash) when the
// condition is false, printing it and the detail (a std::string expression).
#define FUZZ_CHECK(condition, ...)                                        \
  do {                                                                    \
    if (!(condition)) {                                                   \
      ::statewatch::fuzz::InvariantFailed(#condition, __FILE__, __LINE__, \
                                          std::string(__VA_ARGS__));      \
    }                                                                     \
  } while (0)
