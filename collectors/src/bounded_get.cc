#include "bounded_get.h"

#include <httplib.h>

namespace statewatch::collectors::internal {

Result<HttpResponse> BoundedGet(const std::string& url, const BoundedGetOptions& options) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + options.timeout;
  const size_t scheme_end = url.find("://");
  const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  httplib::Client client(url.substr(0, path_start));
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - secs);
  client.set_connection_timeout(secs.count(), usecs.count());
  client.set_read_timeout(secs.count(), usecs.count());
  client.set_write_timeout(secs.count(), usecs.count());
  client.set_keep_alive(false);
  HttpResponse response;
  bool too_large = false, too_slow = false;
  httplib::Headers headers;
  if (!options.accept.empty()) headers.emplace("Accept", options.accept);
  httplib::Result result = client.Get(
      path, headers,
      [&](const httplib::Response& r) {
        response.status = r.status;
        return true;
      },
      [&](const char* data, size_t length) {
        if (response.body.size() + length > options.max_bytes) {
          too_large = true;
          return false;
        }
        // The read timeout bounds each read; this bounds the whole body (a slow drip).
        if (Clock::now() > deadline) {
          too_slow = true;
          return false;
        }
        response.body.append(data, length);
        return true;
      });
  const std::string what = "GET " + url;
  if (too_large) {
    return Status::ResourceExhausted(what + ": response larger than " +
                                     std::to_string(options.max_bytes) + " bytes (max_bytes)");
  }
  if (too_slow) {
    return Status::Unavailable(what + ": not complete within " +
                               std::to_string(options.timeout.count()) + " ms");
  }
  if (!result) return Status::Unavailable(what + ": " + httplib::to_string(result.error()));
  return response;
}

}  // namespace statewatch::collectors::internal
