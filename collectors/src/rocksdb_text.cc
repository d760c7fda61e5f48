// Pure parsers for what a RocksDB directory says in text: its OPTIONS files and its info LOG.
#include <charconv>
#include <string>

#include "statewatch/collectors/rocksdb_dir.h"

namespace statewatch::collectors {
namespace {

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool ParseUint(std::string_view s, uint64_t* out) {
  s = Trim(s);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

// RocksDB escapes special characters in names and values with a backslash.
std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  return out;
}

// "Name" → Name; "{id=Name;ttl=3600;}" (a Customizable with options, as RocksDB 7 writes e.g.
// DBWithTTL's factory) → Name. Only the outermost level's `id` counts: nested objects have ids
// of their own.
std::string CustomizableId(std::string_view value) {
  value = Trim(value);
  if (value.empty() || value.front() != '{') return Unescape(value);
  int depth = 0;
  size_t field_start = 1;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      --depth;
    }
    const bool field_end = depth == 1 && c == ';';
    const bool object_end = depth == 0 && c == '}';
    if (field_end || object_end) {
      std::string_view field = Trim(value.substr(field_start, i - field_start));
      if (field.substr(0, 3) == "id=") return Unescape(Trim(field.substr(3)));
      field_start = i + 1;
      if (object_end) break;
    }
  }
  return Unescape(value);  // no id: keep the text, it will not match a known name
}

// The column family of a stall line: the bracketed name just before the message. RocksDB puts
// the source location first ("[db/column_family.cc:1001] [name] Stalling…"), so the name starts
// after the first "] [" that closes a ":<line>" tag; names may themselves contain brackets.
std::string StallColumnFamily(std::string_view prefix) {
  prefix = Trim(prefix);
  if (prefix.empty() || prefix.back() != ']') return {};
  size_t from = 0;
  while (true) {
    const size_t sep = prefix.find("] [", from);
    if (sep == std::string_view::npos) break;
    size_t d = sep;
    while (d > 0 && prefix[d - 1] >= '0' && prefix[d - 1] <= '9') --d;
    if (d < sep && d > 0 && prefix[d - 1] == ':' && sep + 3 <= prefix.size() - 1) {
      return std::string(prefix.substr(sep + 3, prefix.size() - 1 - (sep + 3)));
    }
    from = sep + 1;
  }
  const size_t open = prefix.rfind('[');  // no location tag: the last bracket group
  if (open == std::string_view::npos) return {};
  return std::string(prefix.substr(open + 1, prefix.size() - 2 - open));
}

}  // namespace

const std::vector<std::string>& KnownTtlCompactionFilterNames() {
  static const std::vector<std::string> names = {
      "statewatch.TtlCompactionFilterFactory",
      "FlinkCompactionFilterFactory",
      "FlinkCompactionFilter",
      "TtlCompactionFilterFactory",
      "TtlCompactionFilter",
      "Delete By TTL",
  };
  return names;
}

bool IsTtlCompactionFilterName(std::string_view name) {
  for (const std::string& known : KnownTtlCompactionFilterNames()) {
    if (name == known) return true;
  }
  return false;
}

bool CfOptionsSummary::has_ttl_compaction_filter() const {
  return IsTtlCompactionFilterName(compaction_filter) ||
         IsTtlCompactionFilterName(compaction_filter_factory);
}

OptionsSections ParseOptionsSections(std::string_view text) {
  OptionsSections out;
  std::map<std::string, std::string>* current = nullptr;
  constexpr std::string_view kCfSection = "[CFOptions \"";
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = Trim(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      current = nullptr;
      if (line == "[Version]" || line == "[DBOptions]") {
        current = &out[std::string(line.substr(1, line.size() - 2))];
      } else if (line.substr(0, kCfSection.size()) == kCfSection &&
                 line.size() >= kCfSection.size() + 2 && line.substr(line.size() - 2) == "\"]") {
        const std::string_view name =
            line.substr(kCfSection.size(), line.size() - kCfSection.size() - 2);
        current = &out["CFOptions:" + Unescape(name)];
      }
      continue;
    }
    if (current == nullptr) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    (*current)[std::string(Trim(line.substr(0, eq)))] = std::string(Trim(line.substr(eq + 1)));
  }
  return out;
}

std::map<std::string, CfOptionsSummary> ParseOptionsFile(std::string_view text) {
  std::map<std::string, CfOptionsSummary> out;
  constexpr std::string_view kCf = "CFOptions:";
  for (const auto& [section, options] : ParseOptionsSections(text)) {
    if (section.compare(0, kCf.size(), kCf) != 0) continue;
    CfOptionsSummary& summary = out[section.substr(kCf.size())];
    if (auto it = options.find("compaction_filter"); it != options.end()) {
      summary.compaction_filter = CustomizableId(it->second);
    }
    if (auto it = options.find("compaction_filter_factory"); it != options.end()) {
      summary.compaction_filter_factory = CustomizableId(it->second);
    }
    if (auto it = options.find("num_levels"); it != options.end()) {
      uint64_t n = 0;
      if (ParseUint(it->second, &n) && n < 1000) summary.num_levels = static_cast<int>(n);
    }
  }
  return out;
}

LogLine ParseLogLine(std::string_view line) {
  LogLine out;
  line = Trim(line);
  constexpr std::string_view kDelayed = "Stalling writes because ";
  constexpr std::string_view kStopped = "Stopping writes because ";
  constexpr std::string_view kHit = "rocksdb.block.cache.hit COUNT : ";
  constexpr std::string_view kMiss = "rocksdb.block.cache.miss COUNT : ";
  constexpr std::string_view kStatistics = "STATISTICS:";

  if (size_t p = line.find(kDelayed); p != std::string_view::npos) {
    out.kind = LogLine::Kind::kWritesDelayed;
    out.cf = StallColumnFamily(line.substr(0, p));
    // "... rate 13421772" ends every delayed-write message (the pending-compaction variant has
    // another number before it, hence the last " rate ").
    if (size_t r = line.rfind(" rate "); r != std::string_view::npos && r > p) {
      uint64_t rate = 0;
      if (ParseUint(line.substr(r + 6), &rate)) out.value = rate;
    }
    return out;
  }
  if (size_t p = line.find(kStopped); p != std::string_view::npos) {
    out.kind = LogLine::Kind::kWritesStopped;
    out.cf = StallColumnFamily(line.substr(0, p));
    return out;
  }
  // Ticker lines of a dump stand alone on their line (the first one after a leading space).
  if (line.substr(0, kHit.size()) == kHit) {
    if (ParseUint(line.substr(kHit.size()), &out.value)) out.kind = LogLine::Kind::kBlockCacheHit;
    return out;
  }
  if (line.substr(0, kMiss.size()) == kMiss) {
    if (ParseUint(line.substr(kMiss.size()), &out.value)) out.kind = LogLine::Kind::kBlockCacheMiss;
    return out;
  }
  if (line.size() >= kStatistics.size() &&
      line.substr(line.size() - kStatistics.size()) == kStatistics &&
      (line.size() == kStatistics.size() || line[line.size() - kStatistics.size() - 1] == ' ')) {
    out.kind = LogLine::Kind::kStatisticsHeader;
  }
  return out;
}

}  // namespace statewatch::collectors
