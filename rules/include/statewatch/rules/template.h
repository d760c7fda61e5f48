// Template: the Prometheus-style text templates of alert annotations and label values.
//
// Only the subset alert texts need, so it can be checked completely when a rule is loaded:
//   {{ $labels.NAME }}  {{ .Labels.NAME }}   a label of the series ("" when absent, as Prometheus)
//   {{ $value }}        {{ .Value }}          the alert's $value
//   {{ $NAME }}                               an entry of the alert's `values` ("" when absent)
// each optionally formatted by one function, piped or called:
//   {{ $value | humanize }}   {{ humanize $value }}
// humanize            SI prefixes, 4 significant digits: 1234 → "1.234k", 0.005 → "5m"
// humanize1024        binary prefixes: 1536 → "1.5Ki", 34359738368 → "32Gi"
//                     (IEC "Ki"; Prometheus itself writes "ki")
// humanizeDuration    seconds → "2d 3h 4m 5s", "1h 0m 0s", "42.5s", "250ms"
// humanizePercentage  ratio → percent: 0.85 → "85%"
// Everything else in {{ }} is a parse error (unknown function, pipelines of two functions,
// printf, …), reported with its offset, so a typo fails at load time rather than in a page.
// A plain number prints like Go's %v (shortest form; exponent from 1e+06 and below 1e-04).
//
// Thread-safety: a parsed Template is immutable; Expand may run concurrently.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::rules {

class Template {
 public:
  // An empty template (expands to "").
  Template() = default;

  // InvalidArgument "<what is wrong> at offset N" for an unclosed {{, an unknown function or
  // variable form, or an invalid label name.
  static Result<Template> Parse(std::string_view text);
  // A template that expands to `text` as written, {{ }} included.
  static Template Literal(std::string text);

  // The names used as {{ $NAME }} (value names; not $value or $labels), for validation.
  std::vector<std::string> ValueNames() const;

  // Expands against series labels (sorted by name), $value and the named values.
  std::string Expand(const Labels& labels, double value,
                     const std::map<std::string, double>& values) const;

  // True when the text has no {{ }} at all (a literal label value needs no expansion).
  bool is_literal() const;

 private:
  enum class Source { kLiteral, kLabel, kValue, kNamed };
  enum class Function { kNone, kHumanize, kHumanize1024, kHumanizeDuration, kHumanizePercentage };
  struct Part {
    Source source = Source::kLiteral;
    Function function = Function::kNone;
    std::string text;  // the literal, or the label / value name
  };
  std::vector<Part> parts_;
};

// The formatting functions, usable directly (the daemon's API and logs use them too).
std::string FormatValue(double v);  // Go's %v for a float64
std::string Humanize(double v);
std::string Humanize1024(double v);
std::string HumanizeDuration(double seconds);
std::string HumanizePercentage(double ratio);

}  // namespace statewatch::rules
