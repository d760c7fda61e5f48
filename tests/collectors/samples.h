// Looking samples up by series and labels in the collectors' tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "statewatch/rules/sample.h"

namespace statewatch::collectors::testing {

inline bool HasLabels(const rules::Sample& s, const std::map<std::string, std::string>& want) {
  return std::all_of(want.begin(), want.end(), [&](const auto& kv) {
    return std::find(s.labels.begin(), s.labels.end(), std::make_pair(kv.first, kv.second)) !=
           s.labels.end();
  });
}

// The value of the one sample of `series` whose labels include every pair of `want`; a second
// match is a test failure.
inline std::optional<double> Find(const std::vector<rules::Sample>& samples,
                                  const std::string& series,
                                  const std::map<std::string, std::string>& want) {
  std::optional<double> found;
  for (const auto& s : samples) {
    if (s.series != series || !HasLabels(s, want)) continue;
    EXPECT_FALSE(found.has_value()) << "two samples of " << series;
    found = s.value;
  }
  return found;
}

// How many samples of `series` carry every pair of `want`.
inline size_t Count(const std::vector<rules::Sample>& samples, const std::string& series,
                    const std::map<std::string, std::string>& want = {}) {
  return static_cast<size_t>(std::count_if(samples.begin(), samples.end(), [&](const auto& s) {
    return s.series == series && HasLabels(s, want);
  }));
}

}  // namespace statewatch::collectors::testing
