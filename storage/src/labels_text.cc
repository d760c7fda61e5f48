#include "statewatch/storage/labels_text.h"

#include <algorithm>

namespace statewatch::storage {

namespace {

void AppendSorted(const rules::Labels& labels, std::string* out) {
  *out += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) *out += ',';
    *out += labels[i].first;
    *out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"') {
        *out += '\\';
        *out += c;
      } else if (c == '\n') {
        *out += "\\n";
      } else {
        *out += c;
      }
    }
    *out += '"';
  }
  *out += '}';
}

}  // namespace

std::string LabelsToText(rules::Labels labels) {
  std::sort(labels.begin(), labels.end());
  std::string out;
  AppendSorted(labels, &out);
  return out;
}

void AppendLabelsText(const rules::Labels& labels, std::string* out) {
  if (std::is_sorted(labels.begin(), labels.end())) {
    AppendSorted(labels, out);
  } else {
    rules::Labels sorted = labels;
    std::sort(sorted.begin(), sorted.end());
    AppendSorted(sorted, out);
  }
}

Result<rules::Labels> LabelsFromText(std::string_view text) {
  auto bad = [&](size_t at, const char* what) {
    return Status::InvalidArgument("labels '" + std::string(text) + "': " + what + " at offset " +
                                   std::to_string(at));
  };
  rules::Labels labels;
  size_t i = 0;
  if (text.empty() || text[i] != '{') return bad(i, "expected '{'");
  ++i;
  while (i < text.size() && text[i] != '}') {
    const size_t name_start = i;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
      ++i;
    if (i == name_start) return bad(i, "expected a label name");
    std::string name(text.substr(name_start, i - name_start));
    if (i + 1 >= text.size() || text[i] != '=' || text[i + 1] != '"')
      return bad(i, "expected '=\"'");
    i += 2;
    std::string value;
    for (;; ++i) {
      if (i >= text.size()) return bad(i, "unterminated value");
      if (text[i] == '"') break;
      if (text[i] == '\\') {
        if (++i >= text.size()) return bad(i, "unterminated escape");
        if (text[i] == 'n') {
          value += '\n';
        } else if (text[i] == '\\' || text[i] == '"') {
          value += text[i];
        } else {
          return bad(i, "unknown escape");
        }
      } else {
        value += text[i];
      }
    }
    ++i;  // closing quote
    labels.emplace_back(std::move(name), std::move(value));
    if (i < text.size() && text[i] == ',') ++i;
  }
  if (i >= text.size()) return bad(i, "expected '}'");
  if (i + 1 != text.size()) return bad(i + 1, "trailing characters");
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace statewatch::storage
