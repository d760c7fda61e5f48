#include "statewatch/rules/template.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>

namespace statewatch::rules {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}

// A Prometheus label name / Go identifier: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsName(std::string_view s) {
  if (s.empty() || !IsNameStart(s[0])) return false;
  for (char c : s)
    if (!IsNameChar(c)) return false;
  return true;
}

// Go's %.4g, which Prometheus' humanize functions use; NaN and infinities as Go prints them.
std::string Format4g(double v, const char* suffix) {
  if (std::isnan(v)) return std::string("NaN") + suffix;
  if (std::isinf(v)) return std::string(v > 0 ? "+Inf" : "-Inf") + suffix;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g%s", v, suffix);
  return buf;
}

// Scales |v| < 1 up by thousands: 0.005 → 5 with "m".
std::string SmallSi(double v, const char* unit) {
  const char* prefix = "";
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Format4g(v, (std::string(prefix) + unit).c_str());
}

std::vector<std::string> Tokenize(std::string_view action) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : action) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '|') {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
      if (c == '|') tokens.emplace_back("|");
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

Status ParseError(std::string_view what, size_t offset) {
  return Status::InvalidArgument(std::string(what) + " at offset " + std::to_string(offset));
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Go's %v is strconv 'g' with the shortest digits that round-trip, written as %e when the
  // decimal exponent is < -4 or ≥ 6 (a fixed 6 in shortest mode, not the digit count).
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view s(buf, static_cast<size_t>(sci.ptr - buf));
  const int exponent = std::atoi(std::string(s.substr(s.find('e') + 1)).c_str());
  if (exponent < -4 || exponent >= 6) return std::string(s);
  auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, static_cast<size_t>(fixed.ptr - buf));
}

// The four functions follow Prometheus' template functions (template/template.go).
std::string Humanize(double v) {
  if (v == 0 || !std::isfinite(v)) return Format4g(v, "");
  if (std::fabs(v) >= 1) {
    const char* prefix = "";
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return Format4g(v, prefix);
  }
  return SmallSi(v, "");
}

std::string Humanize1024(double v) {
  if (std::fabs(v) <= 1 || !std::isfinite(v)) return Format4g(v, "");
  const char* prefix = "";
  for (const char* p : {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return Format4g(v, prefix);
}

std::string HumanizeDuration(double seconds) {
  if (!std::isfinite(seconds)) return Format4g(seconds, "");
  if (seconds == 0) return "0s";
  if (std::fabs(seconds) < 1) return SmallSi(seconds, "s");
  const char* sign = seconds < 0 ? "-" : "";
  const double magnitude = std::fabs(seconds);
  // Beyond int64 seconds (~292 billion years) a duration means nothing; print it plainly.
  if (magnitude >= 9.2e18) return Format4g(seconds, "s");
  const auto total = static_cast<int64_t>(magnitude);
  const int64_t s = total % 60, m = total / 60 % 60, h = total / 3600 % 24, d = total / 86400;
  char buf[96];
  if (d != 0) {
    std::snprintf(buf, sizeof buf, "%s%lldd %lldh %lldm %llds", sign, static_cast<long long>(d),
                  static_cast<long long>(h), static_cast<long long>(m), static_cast<long long>(s));
  } else if (h != 0) {
    std::snprintf(buf, sizeof buf, "%s%lldh %lldm %llds", sign, static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s));
  } else if (m != 0) {
    std::snprintf(buf, sizeof buf, "%s%lldm %llds", sign, static_cast<long long>(m),
                  static_cast<long long>(s));
  } else {
    return sign + Format4g(magnitude, "s");
  }
  return buf;
}

std::string HumanizePercentage(double ratio) {
  return Format4g(ratio * 100, "%");
}

Template Template::Literal(std::string text) {
  Template t;
  t.parts_.push_back({Source::kLiteral, Function::kNone, std::move(text)});
  return t;
}

Result<Template> Template::Parse(std::string_view text) {
  Template t;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back({Source::kLiteral, Function::kNone, std::string(text.substr(pos))});
      break;
    }
    if (open > pos) {
      t.parts_.push_back(
          {Source::kLiteral, Function::kNone, std::string(text.substr(pos, open - pos))});
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return ParseError("unclosed {{", open);
    const std::vector<std::string> tokens = Tokenize(text.substr(open + 2, close - open - 2));

    auto function_of = [](const std::string& name, Function* f) {
      if (name == "humanize")
        *f = Function::kHumanize;
      else if (name == "humanize1024")
        *f = Function::kHumanize1024;
      else if (name == "humanizeDuration")
        *f = Function::kHumanizeDuration;
      else if (name == "humanizePercentage")
        *f = Function::kHumanizePercentage;
      else
        return false;
      return true;
    };
    Part part;
    std::string term;
    if (tokens.size() == 1) {
      term = tokens[0];
    } else if (tokens.size() == 3 && tokens[1] == "|") {
      term = tokens[0];
      if (!function_of(tokens[2], &part.function)) {
        return ParseError("unknown function \"" + tokens[2] + "\"", open);
      }
    } else if (tokens.size() == 2 && tokens[0] != "|" && tokens[1] != "|") {
      term = tokens[1];
      if (!function_of(tokens[0], &part.function)) {
        return ParseError("unknown function \"" + tokens[0] + "\"", open);
      }
    } else {
      return ParseError(
          "expected {{ $var }}, {{ $var | function }} or {{ function $var }}, got {{" +
              std::string(text.substr(open + 2, close - open - 2)) + "}}",
          open);
    }

    auto label_name = [&](std::string_view prefix) -> std::optional<std::string> {
      if (term.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
      return term.substr(prefix.size());
    };
    if (term == "$value" || term == ".Value") {
      part.source = Source::kValue;
    } else if (auto name =
                   label_name("$labels.") ? label_name("$labels.") : label_name(".Labels.")) {
      if (!IsName(*name)) return ParseError("invalid label name \"" + *name + "\"", open);
      part.source = Source::kLabel;
      part.text = *name;
    } else if (term.size() > 1 && term[0] == '$' && IsName(term.substr(1)) && term != "$labels") {
      part.source = Source::kNamed;
      part.text = term.substr(1);
    } else {
      return ParseError("unknown variable \"" + term +
                            "\" (expected $value, $labels.NAME or $NAME of a rule value)",
                        open);
    }
    t.parts_.push_back(std::move(part));
    pos = close + 2;
  }
  return t;
}

std::vector<std::string> Template::ValueNames() const {
  std::set<std::string> names;
  for (const Part& p : parts_)
    if (p.source == Source::kNamed) names.insert(p.text);
  return {names.begin(), names.end()};
}

bool Template::is_literal() const {
  for (const Part& p : parts_)
    if (p.source != Source::kLiteral) return false;
  return true;
}

std::string Template::Expand(const Labels& labels, double value,
                             const std::map<std::string, double>& values) const {
  auto apply = [](Function f, double v) {
    switch (f) {
      case Function::kNone:
        return FormatValue(v);
      case Function::kHumanize:
        return Humanize(v);
      case Function::kHumanize1024:
        return Humanize1024(v);
      case Function::kHumanizeDuration:
        return HumanizeDuration(v);
      case Function::kHumanizePercentage:
        return HumanizePercentage(v);
    }
    return FormatValue(v);
  };
  std::string out;
  for (const Part& p : parts_) {
    switch (p.source) {
      case Source::kLiteral:
        out += p.text;
        break;
      case Source::kValue:
        out += apply(p.function, value);
        break;
      case Source::kNamed: {
        // A value the rule did not produce this time (seconds_to_limit of a line that does not
        // reach its limit) expands to nothing, like a missing label.
        auto it = values.find(p.text);
        if (it != values.end()) out += apply(p.function, it->second);
        break;
      }
      case Source::kLabel: {
        for (const auto& [name, label_value] : labels) {
          if (name != p.text) continue;
          if (p.function == Function::kNone) {
            out += label_value;
          } else {
            // A numeric label formats as a number; any other text passes through unchanged
            // (Prometheus would fail the whole expansion; an alert with raw text is better).
            char* end = nullptr;
            const double v = std::strtod(label_value.c_str(), &end);
            const bool numeric =
                !label_value.empty() && end == label_value.c_str() + label_value.size();
            out += numeric ? apply(p.function, v) : label_value;
          }
          break;
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace statewatch::rules
