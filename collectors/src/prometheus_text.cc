#include "statewatch/collectors/prometheus_text.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

namespace statewatch::collectors {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}
bool IsLabelStart(char c) {
  return IsNameStart(c) && c != ':';
}
bool IsLabelChar(char c) {
  return IsNameChar(c) && c != ':';
}
bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

// A cursor over one line; every method leaves `rest` after what it consumed.
struct Line {
  std::string_view rest;
  size_t number;

  void SkipBlanks() {
    while (!rest.empty() && IsBlank(rest.front())) rest.remove_prefix(1);
  }
  // [a-zA-Z_:][a-zA-Z0-9_:]* (or, for labels, without ':'); empty when there is none.
  std::string_view Name(bool label) {
    size_t n = 0;
    if (!rest.empty() && (label ? IsLabelStart(rest[0]) : IsNameStart(rest[0]))) {
      n = 1;
      while (n < rest.size() && (label ? IsLabelChar(rest[n]) : IsNameChar(rest[n]))) ++n;
    }
    const std::string_view name = rest.substr(0, n);
    rest.remove_prefix(n);
    return name;
  }
  // The next run of non-blank characters.
  std::string_view Token() {
    size_t n = 0;
    while (n < rest.size() && !IsBlank(rest[n])) ++n;
    const std::string_view token = rest.substr(0, n);
    rest.remove_prefix(n);
    return token;
  }
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("line " + std::to_string(number) + ": " + what);
  }
};

// Go's strconv.ParseFloat as Prometheus uses it: decimal and hex floats, Inf and NaN in any case.
bool ParseValue(std::string_view token, double* out) {
  if (token.empty() || token.size() > 64) return false;
  const std::string copy(token);
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return false;
  // strtod reports overflow as ERANGE with ±HUGE_VAL; Go gives ±Inf too, so accept it.
  return true;
}

bool ParseTimestamp(std::string_view token, int64_t* out) {
  if (token.empty() || token.size() > 20) return false;
  const std::string copy(token);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(copy.c_str(), &end, 10);
  if (end != copy.c_str() + copy.size() || errno == ERANGE) return false;
  *out = v;
  return true;
}

// Reads a "…" label value with \\, \" and \n escapes.
Status QuotedValue(Line& line, std::string* out) {
  if (line.rest.empty() || line.rest.front() != '"') return line.Error("expected '\"'");
  line.rest.remove_prefix(1);
  while (!line.rest.empty()) {
    const char c = line.rest.front();
    line.rest.remove_prefix(1);
    if (c == '"') return Status::OK();
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (line.rest.empty()) break;
    const char e = line.rest.front();
    line.rest.remove_prefix(1);
    if (e == '\\' || e == '"') {
      out->push_back(e);
    } else if (e == 'n') {
      out->push_back('\n');
    } else {
      return line.Error(std::string("invalid escape '\\") + e + "' in label value");
    }
  }
  return line.Error("unterminated label value");
}

std::string UnescapeHelp(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == 'n')) {
      out.push_back(text[i + 1] == 'n' ? '\n' : '\\');
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class Parser {
 public:
  explicit Parser(size_t max_samples) : max_samples_(max_samples) {}

  Status ParseLine(Line line) {
    line.SkipBlanks();
    if (line.rest.empty()) return Status::OK();
    if (line.rest.front() == '#') return Comment(line);
    return SampleLine(line);
  }

  Exposition Take() { return std::move(out_); }

 private:
  Status Comment(Line& line) {
    line.rest.remove_prefix(1);
    line.SkipBlanks();
    const std::string_view keyword = line.Token();
    if (keyword != "HELP" && keyword != "TYPE") return Status::OK();  // any other comment
    line.SkipBlanks();
    const std::string_view name = line.Name(false);
    if (name.empty()) return line.Error("# " + std::string(keyword) + " without a metric name");
    if (!line.rest.empty() && !IsBlank(line.rest.front())) {
      return line.Error("invalid metric name in # " + std::string(keyword));
    }
    line.SkipBlanks();
    ExpositionFamily& family = FamilyNamed(name);
    if (keyword == "HELP") {
      if (!helped_.insert(std::string(name)).second) {
        return line.Error("second HELP line for " + std::string(name));
      }
      family.help = UnescapeHelp(line.rest);
      return Status::OK();
    }
    const std::string_view type = line.Token();
    line.SkipBlanks();
    static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram", "summary",
                                                      "untyped"};
    if (!kTypes.count(type) || !line.rest.empty()) {
      return line.Error("invalid metric type '" + std::string(type) + "' for " + std::string(name));
    }
    if (!typed_.insert(std::string(name)).second) {
      return line.Error("second TYPE line for " + std::string(name));
    }
    if (sampled_families_.count(std::string(name))) {
      return line.Error("TYPE line for " + std::string(name) + " after its samples");
    }
    family.type = type;
    return Status::OK();
  }

  Status SampleLine(Line& line) {
    ExpositionSample sample;
    sample.name = line.Name(false);
    if (sample.name.empty()) return line.Error("expected a metric name");
    const size_t before = line.rest.size();
    line.SkipBlanks();
    bool separated = line.rest.size() != before;
    if (!line.rest.empty() && line.rest.front() == '{') {
      line.rest.remove_prefix(1);
      SW_RETURN_IF_ERROR(Labels(line, &sample.labels));
      separated = false;
    }
    if (!separated && !line.rest.empty() && !IsBlank(line.rest.front())) {
      return line.Error("unexpected '" + std::string(1, line.rest.front()) + "' after " +
                        sample.name);
    }
    line.SkipBlanks();
    const std::string_view value = line.Token();
    if (value.empty()) return line.Error("missing value for " + sample.name);
    if (!ParseValue(value, &sample.value)) {
      return line.Error("invalid value '" + std::string(value) + "' for " + sample.name);
    }
    line.SkipBlanks();
    if (!line.rest.empty()) {
      const std::string_view ts = line.Token();
      int64_t t = 0;
      if (!ParseTimestamp(ts, &t)) return line.Error("invalid timestamp '" + std::string(ts) + "'");
      sample.timestamp_millis = t;
      line.SkipBlanks();
      if (!line.rest.empty()) return line.Error("unexpected text after the timestamp");
    }
    SW_RETURN_IF_ERROR(CheckTypedSample(line, sample));
    if (out_.samples.size() >= max_samples_) {
      return Status::ResourceExhausted("more than " + std::to_string(max_samples_) +
                                       " samples (at line " + std::to_string(line.number) + ")");
    }
    out_.samples.push_back(std::move(sample));
    return Status::OK();
  }

  Status Labels(Line& line, rules::Labels* labels) {
    std::set<std::string, std::less<>> names;
    for (;;) {
      line.SkipBlanks();
      if (!line.rest.empty() && line.rest.front() == '}') {
        line.rest.remove_prefix(1);
        return Status::OK();
      }
      const std::string_view name = line.Name(true);
      if (name.empty()) return line.Error("expected a label name or '}'");
      line.SkipBlanks();
      if (line.rest.empty() || line.rest.front() != '=') {
        return line.Error("expected '=' after label " + std::string(name));
      }
      line.rest.remove_prefix(1);
      line.SkipBlanks();
      std::string value;
      SW_RETURN_IF_ERROR(QuotedValue(line, &value));
      if (!names.insert(std::string(name)).second) {
        return line.Error("label " + std::string(name) + " given twice");
      }
      labels->emplace_back(std::string(name), std::move(value));
      line.SkipBlanks();
      if (line.rest.empty()) return line.Error("unterminated label set");
      if (line.rest.front() == ',') {
        line.rest.remove_prefix(1);
        continue;  // a '}' may follow: the trailing comma Flink writes
      }
      if (line.rest.front() != '}') return line.Error("expected ',' or '}' in the label set");
    }
  }

  // Histogram and summary samples need their le / quantile label; records which families have
  // samples (a TYPE line may not follow them).
  Status CheckTypedSample(const Line& line, const ExpositionSample& s) {
    const auto has = [&](const char* label) {
      for (const auto& [k, v] : s.labels) {
        if (k == label) return true;
      }
      return false;
    };
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!EndsWith(s.name, suffix)) continue;
      const std::string base = s.name.substr(0, s.name.size() - std::string_view(suffix).size());
      auto it = index_.find(base);
      if (it != index_.end()) {
        const std::string& type = out_.families[it->second].type;
        if (type == "histogram" || (type == "summary" && std::string_view(suffix) != "_bucket")) {
          family = base;
          if (type == "histogram" && std::string_view(suffix) == "_bucket" && !has("le")) {
            return line.Error("histogram bucket " + s.name + " without an le label");
          }
        }
      }
    }
    if (family == s.name) {
      auto it = index_.find(s.name);
      if (it != index_.end() && out_.families[it->second].type == "summary" && !has("quantile")) {
        return line.Error("summary sample " + s.name + " without a quantile label");
      }
      if (it != index_.end() && out_.families[it->second].type == "histogram") {
        return line.Error("histogram " + s.name + " has a sample without _bucket/_sum/_count");
      }
    }
    sampled_families_.insert(family);
    sampled_families_.insert(s.name);
    return Status::OK();
  }

  ExpositionFamily& FamilyNamed(std::string_view name) {
    auto [it, fresh] = index_.try_emplace(std::string(name), out_.families.size());
    if (fresh) out_.families.push_back({std::string(name), "untyped", ""});
    return out_.families[it->second];
  }

  const size_t max_samples_;
  Exposition out_;
  std::map<std::string, size_t, std::less<>> index_;  // family name → out_.families index
  std::set<std::string, std::less<>> helped_, typed_, sampled_families_;
};

}  // namespace

Result<Exposition> ParsePrometheusText(std::string_view text, size_t max_samples) {
  Parser parser(max_samples);
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    SW_RETURN_IF_ERROR(parser.ParseLine(Line{line, number}));
  }
  return parser.Take();
}

}  // namespace statewatch::collectors
