// Fuzzes what the HTTP API parses from a request: the time parameters of /api/v1/query
// (ParseApiTime), the series selector's label set (storage::LabelsFromText, as the API's
// selector parser splits "name{…}"), and the --web.listen-address value (ParseListenAddress).
// The whole input is given to each; all are pure functions (no server is started).
//
// Invariants beyond "does not crash":
//   - every parse is deterministic;
//   - ParseApiTime: a numeric time is the input in milliseconds (rounded), and any time it
//     returns lies within RFC 3339's years 0000–9999; for a time derived from the input,
//     FormatRfc3339 → ParseApiTime and whole seconds → ParseApiTime give it back;
//   - LabelsFromText: sorted, valid names; LabelsToText of the result reads back equal, and
//     AppendLabelsText writes the same text;
//   - ParseListenAddress: port in [0, 65535], a host; "[host]:port" reads back the same.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "statewatch/agent/http_api.h"
#include "statewatch/agent/webhook_payload.h"
#include "statewatch/storage/labels_text.h"

namespace {

using statewatch::Result;
using statewatch::Status;

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in Unix milliseconds.
constexpr int64_t kMinRfc3339Millis = -62167219200000;
constexpr int64_t kMaxRfc3339Millis = 253402300799999;

void CheckApiTime(const std::string& text) {
  const Result<int64_t> t = statewatch::agent::ParseApiTime(text);
  const Result<int64_t> again = statewatch::agent::ParseApiTime(text);
  FUZZ_CHECK(t.ok() == again.ok() && (!t.ok() || *t == *again));
  if (!t.ok()) {
    FUZZ_CHECK(t.status().IsInvalidArgument(), t.status().ToString());
    return;
  }
  FUZZ_CHECK(*t >= kMinRfc3339Millis && *t <= kMaxRfc3339Millis,
             "'" + text + "' read as " + std::to_string(*t) + " ms, outside years 0000-9999");
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size()) {
    const long double expected = static_cast<long double>(seconds) * 1000;
    FUZZ_CHECK(std::fabs(static_cast<long double>(*t) - expected) <= 1,
               "'" + text + "' read as " + std::to_string(*t) + " ms");
  }
}

void CheckTimeRoundTrip(const uint8_t* data, size_t size) {
  uint64_t bits = 0;
  std::memcpy(&bits, data, std::min(size, sizeof bits));
  const uint64_t span = static_cast<uint64_t>(kMaxRfc3339Millis - kMinRfc3339Millis) + 1;
  // Years 0001–9999: the formatter writes year 0 as "0000", which strptime reads too, but
  // timegm's year 0 is fine either way; keep to the common range.
  const int64_t millis =
      kMinRfc3339Millis + 31622400000 + static_cast<int64_t>(bits % (span - 31622400000));
  const std::string rfc3339 = statewatch::agent::FormatRfc3339(millis);
  const Result<int64_t> back = statewatch::agent::ParseApiTime(rfc3339);
  FUZZ_CHECK(back.ok() && *back == millis,
             rfc3339 + " of " + std::to_string(millis) + " read back as " +
                 (back.ok() ? std::to_string(*back) : back.status().ToString()));
  const int64_t whole = millis / 1000;
  const Result<int64_t> unix_seconds = statewatch::agent::ParseApiTime(std::to_string(whole));
  FUZZ_CHECK(unix_seconds.ok() && *unix_seconds == whole * 1000, std::to_string(whole));
}

bool ValidLabelName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

void CheckLabels(std::string_view text) {
  const Result<statewatch::rules::Labels> labels = statewatch::storage::LabelsFromText(text);
  const Result<statewatch::rules::Labels> again = statewatch::storage::LabelsFromText(text);
  FUZZ_CHECK(labels.ok() == again.ok() && (!labels.ok() || *labels == *again));
  if (!labels.ok()) {
    FUZZ_CHECK(labels.status().IsInvalidArgument());
    FUZZ_CHECK(labels.status().message().find("at offset ") != std::string::npos);
    return;
  }
  FUZZ_CHECK(std::is_sorted(labels->begin(), labels->end()));
  for (const auto& [name, value] : *labels) FUZZ_CHECK(ValidLabelName(name), name);
  const std::string canonical = statewatch::storage::LabelsToText(*labels);
  std::string appended;
  statewatch::storage::AppendLabelsText(*labels, &appended);
  FUZZ_CHECK(appended == canonical);
  const Result<statewatch::rules::Labels> back = statewatch::storage::LabelsFromText(canonical);
  FUZZ_CHECK(back.ok(), canonical + ": " + back.status().ToString());
  FUZZ_CHECK(*back == *labels, canonical);
}

// The API's selector: "name" or "name{…}", the braces being a label set (http_api.cc).
void CheckSelector(const std::string& text) {
  const size_t brace = text.find('{');
  if (brace == std::string::npos || brace == 0) return;
  CheckLabels(std::string_view(text).substr(brace));
}

void CheckListenAddress(const std::string& text) {
  std::string host;
  int port = -1;
  const Status s = statewatch::agent::ParseListenAddress(text, &host, &port);
  std::string host2;
  int port2 = -1;
  const Status s2 = statewatch::agent::ParseListenAddress(text, &host2, &port2);
  FUZZ_CHECK(s.ok() == s2.ok());
  if (!s.ok()) {
    FUZZ_CHECK(s.IsInvalidArgument());
    return;
  }
  FUZZ_CHECK(host == host2 && port == port2);
  FUZZ_CHECK(port >= 0 && port <= 65535, std::to_string(port));
  FUZZ_CHECK(!host.empty());
  const std::string rebuilt = "[" + host + "]:" + std::to_string(port);
  std::string host3;
  int port3 = -1;
  const Status s3 = statewatch::agent::ParseListenAddress(rebuilt, &host3, &port3);
  FUZZ_CHECK(s3.ok() && host3 == host && port3 == port, rebuilt + " from " + text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = statewatch::fuzz::AsString(data, size);
  CheckApiTime(text);
  CheckTimeRoundTrip(data, size);
  CheckLabels(text);
  CheckSelector(text);
  CheckListenAddress(text);
  return 0;
}
