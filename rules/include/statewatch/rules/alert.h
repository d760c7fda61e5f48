// Alert: one alerting rule's verdict about one series, as the alert state machine carries it
// (DESIGN.md "Rules": inactive → pending → firing → resolved, Prometheus' states).
//
// Thread-safety: values; copy freely.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "statewatch/rules/sample.h"

namespace statewatch::rules {

enum class AlertState { kInactive, kPending, kFiring };

// "inactive" | "pending" | "firing" (Prometheus' spelling, used in the HTTP API and storage).
const char* AlertStateName(AlertState state);

struct Alert {
  std::string rule;  // alertname
  // Series labels + rule labels (rule labels win on a clash) + {alertname}, sorted by name.
  Labels labels;
  std::map<std::string, std::string> annotations;  // expanded templates
  std::map<std::string, double> values;            // rule-specific numbers (RuleSpec, rule.h)
  AlertState state = AlertState::kInactive;
  double value = 0;                // $value
  int64_t active_at_millis = 0;    // when the condition started holding
  int64_t fired_at_millis = 0;     // 0 until firing
  int64_t resolved_at_millis = 0;  // set when a firing alert resolves
  int64_t last_active_millis = 0;  // last evaluation at which the condition held
  std::string fingerprint;         // Fingerprint(labels)
};

// 16 lowercase hex digits of FNV-1a 64 over the labels in the given (sorted) order, each as
// name, 0xFF, value, 0xFF: the same bytes on every run and machine, so receivers can
// deduplicate and the alert log can key on it. (0xFF never occurs in UTF-8, so no two label
// sets share a byte string.)
std::string Fingerprint(const Labels& labels);

// FNV-1a 64 of those bytes, the number behind Fingerprint (also the engine's label hash).
uint64_t HashLabels(const Labels& labels);

}  // namespace statewatch::rules
