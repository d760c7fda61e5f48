// Synthetic series for RuleEngine tests: minute-step feeds over simulated days (time is data,
// so a test moves weeks in milliseconds), the default rules by name, and a readable dump of
// transitions for failure messages.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "statewatch/rules/rule_engine.h"

namespace statewatch::rules::testing {

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr double kNoSample = std::numeric_limits<double>::quiet_NaN();

inline int64_t At(int64_t minute) {
  return kT0 + minute * kMinute;
}

// One synthetic series: value(minute), or kNoSample to send nothing that minute.
struct Feed {
  std::string series;
  Labels labels;
  std::function<double(int64_t minute)> value;
};

struct Recorded {
  int64_t minute;
  AlertTransition t;
};

// Feeds every series once per minute in [from, to) and evaluates after each minute.
inline std::vector<Recorded> Simulate(RuleEngine& engine, const std::vector<Feed>& feeds,
                                      int64_t from, int64_t to) {
  std::vector<Recorded> out;
  for (int64_t m = from; m < to; ++m) {
    for (const Feed& f : feeds) {
      const double v = f.value(m);
      if (!std::isnan(v)) engine.Observe(Sample{f.series, f.labels, At(m), v});
    }
    for (AlertTransition& t : engine.Evaluate(At(m))) out.push_back({m, std::move(t)});
  }
  return out;
}

inline RuleSpec Named(const std::string& alert) {
  for (RuleSpec& r : DefaultRules())
    if (r.alert == alert) return r;
  ADD_FAILURE() << alert;
  return {};
}

inline Labels StateLabels(const std::string& state) {
  return {{"job", "cdc"}, {"source", "engine"}, {"state", state}};
}

inline Feed Keys(const std::string& state, std::function<double(int64_t)> f) {
  return {"statewatch_state_keys", StateLabels(state), std::move(f)};
}
inline Feed Ttl(const std::string& state, double seconds) {
  return {"statewatch_state_ttl_seconds", StateLabels(state), [=](int64_t) { return seconds; }};
}

inline std::string Describe(const std::vector<Recorded>& rs) {
  std::string s;
  for (const Recorded& r : rs) {
    s += r.t.alert.rule + " " + AlertStateName(r.t.from) + "->" + AlertStateName(r.t.alert.state) +
         " at minute " + std::to_string(r.minute) + "\n";
  }
  return s;
}

}  // namespace statewatch::rules::testing
