#include "statewatch/agent/export.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <system_error>

#include "statewatch/agent/http_api.h"
#include "statewatch/storage/labels_text.h"

namespace statewatch::agent {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

}  // namespace

std::string CsvTimestamp(int64_t millis) {
  const bool negative = millis < 0;
  // Magnitudes in unsigned arithmetic: INT64_MIN has no positive counterpart.
  const uint64_t magnitude =
      negative ? uint64_t{0} - static_cast<uint64_t>(millis) : static_cast<uint64_t>(millis);
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / 1000);
  uint64_t ms = magnitude % 1000;
  if (ms != 0) {
    char frac[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                    static_cast<char>('0' + ms % 10), '\0'};
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out;
}

std::string CsvValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";  // cannot happen: 32 bytes hold any double
  return std::string(buf, end);
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

Status ExportCsv(storage::SampleStore& store, int64_t from_millis, int64_t to_millis,
                 std::ostream& out, uint64_t* rows) {
  std::string buffer = "timestamp,series,value\n";
  uint64_t written = 0;
  bool write_failed = false;
  // The series text of the previous sample: consecutive samples mostly share it (grouped).
  std::string last_name;
  rules::Labels last_labels;
  std::string series_field;
  auto flush = [&] {
    out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    buffer.clear();
    if (!out) write_failed = true;
  };
  Status s = store.ForEachSample(from_millis, to_millis, [&](const rules::Sample& sample) {
    if (write_failed) return;
    if (series_field.empty() || sample.series != last_name || sample.labels != last_labels) {
      last_name = sample.series;
      last_labels = sample.labels;
      std::string text = sample.series;
      if (!sample.labels.empty()) text += storage::LabelsToText(sample.labels);
      series_field = CsvField(text);
    }
    buffer += CsvTimestamp(sample.t_millis);
    buffer += ',';
    buffer += series_field;
    buffer += ',';
    buffer += CsvValue(sample.value);
    buffer += '\n';
    ++written;
    if (buffer.size() >= kFlushBytes) flush();
  });
  if (!s.ok()) return s;
  if (!write_failed) flush();
  out.flush();
  if (write_failed || !out) return Status::IOError("writing the CSV failed");
  if (rows != nullptr) *rows = written;
  return Status::OK();
}

int RunExport(const ExportOptions& options, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "statewatch export: " << message << "\n";
    return 1;
  };
  if (options.storage_path.empty()) return fail("--storage.path is required");
  int64_t from = std::numeric_limits<int64_t>::min();
  int64_t to = std::numeric_limits<int64_t>::max();
  if (!options.from.empty()) {
    Result<int64_t> t = ParseApiTime(options.from);
    if (!t.ok()) return fail("--from: " + t.status().message());
    from = *t;
  }
  if (!options.to.empty()) {
    Result<int64_t> t = ParseApiTime(options.to);
    if (!t.ok()) return fail("--to: " + t.status().message());
    to = *t;
  }
  if (from > to) return fail("--from is after --to");
  // Open only an existing store: SampleStore::Open would create an empty one.
  const std::string path = options.storage_path + "/samples.db";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail("no samples.db in " + options.storage_path +
                " (--storage.path is statewatchd's storage directory)");
  }
  Result<std::unique_ptr<storage::SampleStore>> store = storage::SampleStore::Open(path);
  if (!store.ok()) return fail(store.status().ToString());
  Status s = ExportCsv(**store, from, to, out);
  if (!s.ok()) return fail(s.ToString());
  return 0;
}

}  // namespace statewatch::agent
