// Internal: an HTTP GET bounded in time and size, shared by the collectors that poll HTTP
// endpoints (prometheus, flink_rest): a target that hangs, drips, or sends gigabytes costs at
// most `timeout` and `max_bytes`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "statewatch/collectors/collector_options.h"
#include "statewatch/state/status.h"

namespace statewatch::collectors::internal {

struct BoundedGetOptions {
  std::chrono::milliseconds timeout{10'000};  // the whole request: connect, headers, body
  uint64_t max_bytes = 10 << 20;
  std::string accept;  // the Accept header; empty: none
};

struct HttpResponse {
  int status = 0;
  std::string body;  // read for every status (an error body says why), up to max_bytes
};

// GET `url` (http://host[:port]/path). Unavailable "GET url: why" when it could not be sent or
// took longer than the timeout; ResourceExhausted when the body exceeds max_bytes. Any HTTP
// status is a response: the caller decides what a 404 means.
Result<HttpResponse> BoundedGet(const std::string& url, const BoundedGetOptions& options);

// The options every HTTP-polling collector takes: url (required, http://…), timeout, max_bytes.
// `*url`, `*timeout` and `*max_bytes` hold the defaults on entry. Calls reader.Finish().
Status ReadHttpSourceOptions(OptionReader& reader, std::string* url,
                             std::chrono::milliseconds* timeout, uint64_t* max_bytes);

}  // namespace statewatch::collectors::internal
