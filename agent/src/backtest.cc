#include "statewatch/agent/backtest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "backtest_csv.h"
#include "statewatch/agent/config.h"
#include "statewatch/agent/duration.h"
#include "statewatch/rules/rule_engine.h"
#include "statewatch/storage/labels_text.h"

namespace statewatch::agent {
namespace {

using rules::AlertState;

// ---- parsing one row ----

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What to show of a field in an error message: at most 80 bytes of it.
std::string Shown(std::string_view s) {
  return s.size() <= 80 ? std::string(s) : std::string(s.substr(0, 77)) + "...";
}

// Unix seconds, integer or decimal → milliseconds (rounded).
bool ParseTimestamp(std::string_view text, int64_t* millis) {
  text = Trim(text);
  if (text.empty()) return false;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(first, last, seconds);
  if (ec == std::errc() && end == last && seconds > -10'000'000'000'000 &&
      seconds < 10'000'000'000'000) {
    *millis = seconds * 1000;
    return true;
  }
  double s = 0;
  auto [dend, dec] = std::from_chars(first, last, s);
  if (dec != std::errc() || dend != last || !std::isfinite(s) || std::fabs(s) >= 1e13) {
    return false;
  }
  *millis = static_cast<int64_t>(std::llround(s * 1e3));
  return true;
}

// A float; "NaN", "+Inf", "-Inf", "Inf" (any case) included.
bool ParseValue(std::string_view text, double* value) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return false;
  }
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  // Out of range ("1e999") is an error too: from_chars leaves the value unset then.
  return ec == std::errc() && end == text.data() + text.size();
}

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TextIndex = std::unordered_map<std::string, uint32_t, TransparentHash, std::equal_to<>>;

// Series ids by their text: the text as written (the fast path, one hash per row) and the
// canonical `name{sorted labels}` (so that every spelling of a series is one series).
class SeriesTable {
 public:
  // The id of the series spelled `text`, or the problem with it.
  bool Intern(std::string_view text, uint32_t* id, std::string* problem) {
    if (auto it = by_text_.find(text); it != by_text_.end()) {
      *id = it->second;
      return true;
    }
    const size_t brace = text.find('{');
    const std::string_view name = text.substr(0, brace);
    if (!ValidMetricName(name)) {
      *problem = text.empty() ? std::string("series is empty")
                              : "series '" + Shown(text) + "': '" + Shown(name) +
                                    "' is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)";
      return false;
    }
    rules::Labels labels;
    if (brace != std::string_view::npos) {
      Result<rules::Labels> parsed = storage::LabelsFromText(text.substr(brace));
      if (!parsed.ok()) {
        *problem = "series '" + Shown(text) + "': " + parsed.status().message();
        return false;
      }
      labels = std::move(*parsed);
      for (size_t i = 1; i < labels.size(); ++i) {
        if (labels[i].first == labels[i - 1].first) {
          *problem = "series '" + Shown(text) + "': label '" + labels[i].first + "' twice";
          return false;
        }
      }
    }
    std::string canonical(name);
    if (!labels.empty()) canonical += storage::LabelsToText(labels);
    auto [it, inserted] = by_canonical_.try_emplace(std::move(canonical), 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(series_.size());
      rules::Sample s;
      s.series = std::string(name);
      s.labels = std::move(labels);
      series_.push_back(std::move(s));
    }
    by_text_.emplace(std::string(text), it->second);
    *id = it->second;
    return true;
  }

  size_t size() const { return series_.size(); }
  std::vector<rules::Sample> Take() { return std::move(series_); }

 private:
  TextIndex by_text_;
  TextIndex by_canonical_;
  std::vector<rules::Sample> series_;
};

// ---- sorting: chunks in memory, sorted runs on disk, k-way merge ----

struct Row {
  int64_t t;
  double v;
  uint32_t id;
};
constexpr size_t kDiskRowBytes = 20;  // t, v, id
constexpr size_t kRunBufferRows = 4096;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

class RunReader {
 public:
  RunReader(std::FILE* f, uint64_t rows)
      : f_(f), left_(rows), buffer_(kRunBufferRows * kDiskRowBytes) {}
  // The next row into *row; false at the end. *status set on a read error.
  bool Next(Row* row, Status* status) {
    if (at_ == have_) {
      if (left_ == 0) return false;
      const size_t want = static_cast<size_t>(std::min<uint64_t>(left_, kRunBufferRows));
      if (std::fread(buffer_.data(), kDiskRowBytes, want, f_) != want) {
        *status = Status::IOError(std::string("reading a sorted run back: ") +
                                  (std::ferror(f_) ? std::strerror(errno) : "file too short"));
        return false;
      }
      left_ -= want;
      have_ = want;
      at_ = 0;
    }
    const char* p = buffer_.data() + at_ * kDiskRowBytes;
    std::memcpy(&row->t, p, 8);
    std::memcpy(&row->v, p + 8, 8);
    std::memcpy(&row->id, p + 16, 4);
    ++at_;
    return true;
  }

 private:
  std::FILE* f_;
  uint64_t left_;
  std::vector<char> buffer_;
  size_t have_ = 0;
  size_t at_ = 0;
};

class Sorter {
 public:
  Sorter(size_t chunk_rows, std::string temp_dir)
      : chunk_rows_(std::max<size_t>(chunk_rows, 1)), temp_dir_(std::move(temp_dir)) {}

  Status Add(int64_t t, double v, uint32_t id) {
    if (chunk_.empty()) chunk_.reserve(chunk_rows_);
    chunk_.push_back({t, v, id});
    if (chunk_.size() == chunk_rows_) return Spill();
    return Status::OK();
  }

  size_t runs() const { return runs_.size(); }

  // Calls emit(row) for every row in (t, file order). Consumes the sorter.
  template <typename Emit>
  Status Drain(Emit&& emit) {
    SortChunk();
    if (runs_.empty()) {
      for (const Row& r : chunk_) emit(r);
      return Status::OK();
    }
    // Runs in file order; the chunk still in memory is the last. A min-heap of each run's
    // next row, ties broken by run index, so equal timestamps keep the file's order.
    std::vector<RunReader> readers;
    readers.reserve(runs_.size());
    for (size_t i = 0; i < runs_.size(); ++i) {
      if (std::fseek(runs_[i].get(), 0, SEEK_SET) != 0) {
        return Status::IOError(std::string("rewinding a sorted run: ") + std::strerror(errno));
      }
      readers.emplace_back(runs_[i].get(), run_rows_[i]);
    }
    const size_t memory_run = readers.size();
    size_t memory_at = 0;
    std::vector<Row> heads(readers.size() + 1);
    using Entry = std::pair<int64_t, size_t>;  // (t, run)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    Status status;
    for (size_t i = 0; i < readers.size(); ++i) {
      if (readers[i].Next(&heads[i], &status)) heap.emplace(heads[i].t, i);
      if (!status.ok()) return status;
    }
    if (memory_at < chunk_.size()) {
      heads[memory_run] = chunk_[memory_at++];
      heap.emplace(heads[memory_run].t, memory_run);
    }
    while (!heap.empty()) {
      const size_t run = heap.top().second;
      heap.pop();
      emit(heads[run]);
      if (run == memory_run) {
        if (memory_at < chunk_.size()) {
          heads[run] = chunk_[memory_at++];
          heap.emplace(heads[run].t, run);
        }
      } else {
        if (readers[run].Next(&heads[run], &status)) heap.emplace(heads[run].t, run);
        if (!status.ok()) return status;
      }
    }
    return Status::OK();
  }

 private:
  // Sorts the chunk by time, stably (equal timestamps keep the file's order): a file in time
  // order costs one pass; otherwise an LSD radix sort on t − the chunk's earliest t, 11 bits
  // per pass, through a second buffer (passes whose digit is the same for every row are
  // skipped: a day of milliseconds takes 3). Several times faster than std::sort on the rows,
  // and linear however the rows are interleaved.
  void SortChunk() {
    auto by_time = [](const Row& a, const Row& b) { return a.t < b.t; };
    if (std::is_sorted(chunk_.begin(), chunk_.end(), by_time)) return;
    constexpr int kBits = 11;
    constexpr size_t kBuckets = size_t{1} << kBits;
    const auto [lo, hi] = std::minmax_element(chunk_.begin(), chunk_.end(), by_time);
    const uint64_t base = static_cast<uint64_t>(lo->t);
    const uint64_t span = static_cast<uint64_t>(hi->t) - base;
    int passes = 0;
    while (passes * kBits < 64 && (span >> (passes * kBits)) != 0) ++passes;
    std::vector<uint32_t> counts(static_cast<size_t>(passes) * kBuckets);
    for (const Row& r : chunk_) {
      const uint64_t key = static_cast<uint64_t>(r.t) - base;
      for (int p = 0; p < passes; ++p)
        ++counts[p * kBuckets + ((key >> (p * kBits)) & (kBuckets - 1))];
    }
    aux_.resize(chunk_.size());
    for (int p = 0; p < passes; ++p) {
      uint32_t* count = counts.data() + p * kBuckets;
      const uint64_t first_digit =
          ((static_cast<uint64_t>(chunk_[0].t) - base) >> (p * kBits)) & (kBuckets - 1);
      if (count[first_digit] == chunk_.size()) continue;  // one digit for all: nothing to do
      uint32_t offset = 0;
      for (size_t b = 0; b < kBuckets; ++b) {
        const uint32_t n = count[b];
        count[b] = offset;
        offset += n;
      }
      for (const Row& r : chunk_) {
        aux_[count[((static_cast<uint64_t>(r.t) - base) >> (p * kBits)) & (kBuckets - 1)]++] = r;
      }
      chunk_.swap(aux_);
    }
  }

  Status Spill() {
    SortChunk();
    std::string dir = temp_dir_;
    if (dir.empty()) {
      const char* env = std::getenv("TMPDIR");
      dir = env != nullptr && *env != '\0' ? env : "/tmp";
    }
    std::string path = dir + "/statewatch-backtest-XXXXXX";
    const int fd = mkstemp(path.data());
    if (fd < 0) {
      return Status::IOError("cannot create a temporary file in " + dir + ": " +
                             std::strerror(errno));
    }
    ::unlink(path.c_str());  // gone when closed, or if the process dies
    File f(fdopen(fd, "w+b"));
    if (!f) {
      ::close(fd);
      return Status::IOError("cannot open a temporary file in " + dir + ": " +
                             std::strerror(errno));
    }
    std::vector<char> buffer(kRunBufferRows * kDiskRowBytes);
    size_t n = 0;
    for (const Row& r : chunk_) {
      char* p = buffer.data() + n * kDiskRowBytes;
      std::memcpy(p, &r.t, 8);
      std::memcpy(p + 8, &r.v, 8);
      std::memcpy(p + 16, &r.id, 4);
      if (++n == kRunBufferRows) {
        if (std::fwrite(buffer.data(), kDiskRowBytes, n, f.get()) != n) break;
        n = 0;
      }
    }
    if ((n > 0 && std::fwrite(buffer.data(), kDiskRowBytes, n, f.get()) != n) ||
        std::fflush(f.get()) != 0) {
      return Status::IOError("writing a sorted run to " + dir + ": " + std::strerror(errno));
    }
    run_rows_.push_back(chunk_.size());
    runs_.push_back(std::move(f));
    chunk_.clear();
    return Status::OK();
  }

  size_t chunk_rows_;
  std::string temp_dir_;
  std::vector<Row> chunk_;
  std::vector<Row> aux_;  // SortChunk's second buffer
  std::vector<File> runs_;
  std::vector<uint64_t> run_rows_;
};

// ---- rendering ----

std::string Rfc3339(int64_t millis) {
  int64_t seconds = millis / 1000;
  int64_t ms = millis % 1000;
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (ms != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
    out += frac;
  }
  return out + "Z";
}

nlohmann::ordered_json UnixSeconds(int64_t millis) {
  if (millis % 1000 == 0) return millis / 1000;
  return static_cast<double>(millis) / 1e3;
}

// `name{labels}` without the alertname label, for the timeline.
std::string AlertTitle(const BacktestAlert& a) {
  rules::Labels labels;
  for (const auto& l : a.labels) {
    if (l.first != "alertname") labels.push_back(l);
  }
  return a.alertname + storage::LabelsToText(std::move(labels));
}

std::string Plural(size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

// ---- BacktestReplay ----

struct BacktestReplay::Impl {
  rules::RuleEngine engine;
  std::vector<rules::Sample> series;
  int64_t step = 0;
  bool started = false;
  int64_t current = 0;    // no step: the timestamp being gathered
  int64_t next_eval = 0;  // step: the next evaluation time
  BacktestResult result;
  std::map<rules::Labels, size_t> index;  // alert labels → result.alerts

  Impl(std::vector<rules::RuleSpec> rules, std::vector<rules::Sample> s, int64_t step_millis)
      : engine(std::move(rules)), series(std::move(s)), step(step_millis) {}

  void Evaluate(int64_t now) {
    ++result.evaluations;
    for (rules::AlertTransition& tr : engine.Evaluate(now)) Record(now, tr);
  }

  void Record(int64_t now, rules::AlertTransition& tr) {
    auto [it, inserted] = index.try_emplace(tr.alert.labels, result.alerts.size());
    if (inserted) {
      BacktestAlert a;
      a.alertname = tr.alert.rule;
      a.labels = tr.alert.labels;
      a.first_pending_millis = now;
      a.annotations = tr.alert.annotations;
      result.alerts.push_back(std::move(a));
    }
    BacktestAlert& a = result.alerts[it->second];
    const AlertState to = tr.alert.state;
    if (to == AlertState::kFiring) {
      if (!a.first_firing_millis) {
        a.first_firing_millis = now;
        a.annotations = std::move(tr.alert.annotations);
      }
      a.intervals.push_back({now, std::nullopt});
    } else if (to == AlertState::kInactive && tr.from == AlertState::kFiring &&
               !a.intervals.empty()) {
      a.intervals.back().resolved_millis = tr.alert.resolved_at_millis;
    }
    result.timeline.push_back({now, it->second, tr.from, to});
  }
};

BacktestReplay::BacktestReplay(std::vector<rules::RuleSpec> rules,
                               std::vector<rules::Sample> series, std::chrono::milliseconds step)
    : impl_(std::make_unique<Impl>(std::move(rules), std::move(series), step.count())) {}

BacktestReplay::~BacktestReplay() = default;

void BacktestReplay::Add(uint32_t series, int64_t t_millis, double value) {
  Impl& m = *impl_;
  if (!m.started) {
    m.started = true;
    m.current = m.next_eval = t_millis;
    m.result.first_millis = t_millis;
  }
  if (m.step > 0) {
    while (t_millis > m.next_eval) {
      m.Evaluate(m.next_eval);
      m.next_eval += m.step;
    }
  } else if (t_millis != m.current) {
    m.Evaluate(m.current);
    m.current = t_millis;
  }
  rules::Sample& s = m.series[series];
  s.t_millis = t_millis;
  s.value = value;
  m.engine.Observe(s);
  ++m.result.samples;
  m.result.last_millis = t_millis;
}

BacktestResult BacktestReplay::Finish() {
  Impl& m = *impl_;
  if (m.started) m.Evaluate(m.step > 0 ? m.next_eval : m.current);
  m.result.series = m.series.size();
  m.result.ignored_samples = m.engine.ignored_out_of_order();
  return std::move(m.result);
}

// ---- Backtest ----

Result<BacktestResult> Backtest(std::vector<rules::RuleSpec> rules, const std::string& input,
                                const BacktestSettings& settings) {
  File owned;
  std::FILE* file = stdin;
  const std::string name = input == "-" ? std::string("<stdin>") : input;
  if (input != "-") {
    owned.reset(std::fopen(input.c_str(), "rb"));
    if (!owned) return Status::IOError("cannot open " + input + ": " + std::strerror(errno));
    file = owned.get();
  }
  internal::CsvReader reader(file);
  auto at_line = [&](int64_t line, const std::string& problem) {
    return name + ": line " + std::to_string(line) + ": " + problem;
  };

  // The header.
  internal::CsvReader::Outcome outcome = reader.Next();
  if (outcome == internal::CsvReader::Outcome::kEnd) {
    return Status::InvalidArgument(name + ": empty: expected the header timestamp,series,value");
  }
  if (outcome != internal::CsvReader::Outcome::kRecord) {
    return Status::InvalidArgument(at_line(reader.line(), reader.error()));
  }
  {
    const auto& f = reader.fields();
    if (f.size() != 3 || Trim(f[0]) != "timestamp" || Trim(f[1]) != "series" ||
        Trim(f[2]) != "value") {
      std::string found;
      for (size_t i = 0; i < f.size(); ++i) found += (i > 0 ? "," : "") + Shown(f[i]);
      return Status::InvalidArgument(at_line(
          reader.line(), "expected the header timestamp,series,value, found '" + found + "'"));
    }
  }

  BacktestResult skipped;
  SeriesTable table;
  Sorter sorter(settings.chunk_rows, settings.temp_dir);
  int64_t first = 0, last = 0;
  size_t rows = 0;
  std::string problem;
  // A bad row: fatal, or counted and skipped.
  auto bad_row = [&](const std::string& what) -> bool {
    if (!settings.skip_bad_rows) return false;
    ++skipped.skipped_rows;
    if (skipped.skipped_examples.size() < kMaxReportedBadRows) {
      skipped.skipped_examples.push_back("line " + std::to_string(reader.line()) + ": " + what);
    }
    return true;
  };
  for (;;) {
    outcome = reader.Next();
    if (outcome == internal::CsvReader::Outcome::kEnd) break;
    if (outcome == internal::CsvReader::Outcome::kFatal) {
      return Status::InvalidArgument(at_line(reader.line(), reader.error()));
    }
    if (outcome == internal::CsvReader::Outcome::kBadRecord) {
      if (!bad_row(reader.error())) {
        return Status::InvalidArgument(at_line(reader.line(), reader.error()));
      }
      continue;
    }
    const auto& f = reader.fields();
    int64_t t = 0;
    double v = 0;
    uint32_t id = 0;
    if (f.size() != 3) {
      problem = "expected 3 fields (timestamp,series,value), found " + std::to_string(f.size());
    } else if (!ParseTimestamp(f[0], &t)) {
      problem = "timestamp '" + Shown(f[0]) + "' is not unix seconds (an integer or decimal)";
    } else if (!ParseValue(f[2], &v)) {
      problem = "value '" + Shown(f[2]) + "' is not a number (NaN, +Inf and -Inf are allowed)";
    } else if (!table.Intern(f[1], &id, &problem)) {
      // problem set
    } else {
      if (rows == 0 || t < first) first = t;
      if (rows == 0 || t > last) last = t;
      ++rows;
      SW_RETURN_IF_ERROR(sorter.Add(t, v, id));
      continue;
    }
    if (!bad_row(problem)) return Status::InvalidArgument(at_line(reader.line(), problem));
  }

  if (settings.step.count() > 0 && rows > 0) {
    const uint64_t span = static_cast<uint64_t>(last - first);
    const uint64_t step = static_cast<uint64_t>(settings.step.count());
    const uint64_t evaluations = (span + step - 1) / step + 1;
    if (evaluations > kMaxBacktestEvaluations) {
      return Status::InvalidArgument(
          "--step " + FormatDuration(settings.step) + " gives " + std::to_string(evaluations) +
          " evaluations from " + Rfc3339(first) + " to " + Rfc3339(last) + "; at most " +
          std::to_string(kMaxBacktestEvaluations) + ": use a longer step");
    }
  }

  const size_t runs = sorter.runs();
  BacktestReplay replay(std::move(rules), table.Take(), settings.step);
  SW_RETURN_IF_ERROR(sorter.Drain([&](const Row& r) { replay.Add(r.id, r.t, r.v); }));
  BacktestResult result = replay.Finish();
  result.skipped_rows = skipped.skipped_rows;
  result.skipped_examples = std::move(skipped.skipped_examples);
  result.sorted_runs = runs;
  return result;
}

// ---- output ----

std::string BacktestJson(const BacktestResult& r) {
  using nlohmann::ordered_json;
  ordered_json alerts = ordered_json::array();
  for (const BacktestAlert& a : r.alerts) {
    ordered_json labels = ordered_json::object();
    for (const auto& [k, v] : a.labels) labels[k] = v;
    ordered_json annotations = ordered_json::object();
    for (const auto& [k, v] : a.annotations) annotations[k] = v;
    ordered_json intervals = ordered_json::array();
    for (const BacktestInterval& i : a.intervals) {
      ordered_json interval;
      interval["firing"] = UnixSeconds(i.firing_millis);
      interval["resolved"] =
          i.resolved_millis ? UnixSeconds(*i.resolved_millis) : ordered_json(nullptr);
      intervals.push_back(std::move(interval));
    }
    ordered_json alert;
    alert["alertname"] = a.alertname;
    alert["labels"] = std::move(labels);
    alert["annotations"] = std::move(annotations);
    alert["first_pending"] = UnixSeconds(a.first_pending_millis);
    alert["first_firing"] =
        a.first_firing_millis ? UnixSeconds(*a.first_firing_millis) : ordered_json(nullptr);
    alert["intervals"] = std::move(intervals);
    alerts.push_back(std::move(alert));
  }
  ordered_json out;
  out["series"] = r.series;
  out["samples"] = r.samples;
  out["evaluations"] = r.evaluations;
  out["alerts"] = std::move(alerts);
  // Label values come from the input: replace invalid UTF-8 rather than fail.
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string BacktestText(const BacktestResult& r) {
  std::string out = "Replayed " + Plural(r.samples, "sample") + " of " + std::to_string(r.series) +
                    " series in " + Plural(r.evaluations, "evaluation");
  if (r.samples > 0) out += ", " + Rfc3339(r.first_millis) + " to " + Rfc3339(r.last_millis);
  out += ".\n";
  if (r.timeline.empty()) return out + "No alert went pending or fired.\n";
  out += "\n";
  for (const BacktestEvent& e : r.timeline) {
    const BacktestAlert& a = r.alerts[e.alert];
    std::string what;
    std::string note;
    if (e.to == AlertState::kPending) {
      what = "pending";
    } else if (e.to == AlertState::kFiring) {
      what = "FIRING";
      auto summary = a.annotations.find("summary");
      if (summary != a.annotations.end()) note = summary->second;
    } else if (e.from == AlertState::kFiring) {
      what = "resolved";
      for (const BacktestInterval& i : a.intervals) {
        if (i.resolved_millis == e.t_millis) {
          note = "fired for " +
                 FormatDuration(std::chrono::milliseconds(e.t_millis - i.firing_millis));
        }
      }
    } else {
      what = "inactive";
      note = "condition stopped holding before it fired";
    }
    what.resize(std::max<size_t>(what.size(), 10), ' ');
    out += Rfc3339(e.t_millis) + "  " + what + AlertTitle(a) + "\n";
    if (!note.empty()) out += std::string(24, ' ') + note + "\n";
  }
  size_t fired = 0;
  size_t still = 0;
  for (const BacktestAlert& a : r.alerts) {
    if (a.first_firing_millis) ++fired;
    if (!a.intervals.empty() && !a.intervals.back().resolved_millis) ++still;
  }
  out += "\n" + Plural(r.alerts.size(), "alert") +
         " went pending or fired: " + std::to_string(fired) + " fired (" + std::to_string(still) +
         " still firing at the end), " + std::to_string(r.alerts.size() - fired) +
         " only pending.\n";
  for (const BacktestAlert& a : r.alerts) {
    out += "  " + AlertTitle(a) + ": first pending " + Rfc3339(a.first_pending_millis);
    if (a.first_firing_millis) {
      out += ", first firing " + Rfc3339(*a.first_firing_millis) + ", fired " +
             Plural(a.intervals.size(), "time");
    }
    out += "\n";
  }
  return out;
}

int RunBacktest(const BacktestOptions& options, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "statewatch backtest: " << message << "\n";
    return 1;
  };
  if (options.input.empty()) return fail("--input is required");
  if (options.output != "json" && options.output != "text") {
    return fail("--output must be json or text, not '" + options.output + "'");
  }
  BacktestSettings settings;
  settings.skip_bad_rows = options.skip_bad_rows;
  settings.chunk_rows = options.chunk_rows;
  settings.temp_dir = options.temp_dir;
  if (!options.step.empty()) {
    Result<std::chrono::milliseconds> step = ParseDuration(options.step);
    if (!step.ok()) return fail("--step: " + step.status().message());
    if (step->count() <= 0) return fail("--step must be positive, not '" + options.step + "'");
    settings.step = *step;
  }
  std::vector<rules::RuleSpec> rules;
  if (options.config_file.empty()) {
    rules = rules::DefaultRules();
  } else {
    Result<Config> config = LoadConfigFile(options.config_file);
    if (!config.ok()) return fail(config.status().message());
    rules = std::move(config->rules);
  }
  Result<BacktestResult> result = Backtest(std::move(rules), options.input, settings);
  if (!result.ok()) return fail(result.status().message());
  if (result->skipped_rows > 0) {
    err << "statewatch backtest: skipped " << Plural(result->skipped_rows, "bad row") << "\n";
    for (const std::string& e : result->skipped_examples) err << "  " << e << "\n";
    if (result->skipped_rows > result->skipped_examples.size()) {
      err << "  (" << result->skipped_rows - result->skipped_examples.size() << " more)\n";
    }
  }
  if (result->ignored_samples > 0) {
    err << "statewatch backtest: ignored " << Plural(result->ignored_samples, "sample")
        << " for a series and timestamp that already had one (the first in the file counts)\n";
  }
  out << (options.output == "json" ? BacktestJson(*result) : BacktestText(*result));
  out.flush();
  if (!out) return fail("writing the result failed");
  return 0;
}

}  // namespace statewatch::agent
