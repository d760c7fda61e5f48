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

Status ReadHttpSourceOptions(OptionReader& reader, std::string* url,
                             std::chrono::milliseconds* timeout, uint64_t* max_bytes) {
  Result<std::string> u = reader.Required("url");
  if (!u.ok()) return u.status();
  *url = *u;
  Result<std::chrono::milliseconds> t = reader.Duration("timeout", *timeout);
  if (!t.ok()) return t.status();
  *timeout = *t;
  Result<uint64_t> m = reader.Bytes("max_bytes", *max_bytes);
  if (!m.ok()) return m.status();
  *max_bytes = *m;
  SW_RETURN_IF_ERROR(reader.Finish());
  if (url->rfind("http://", 0) != 0 || url->size() <= 7) {
    return reader.Error("url", "must be an http:// URL, got '" + *url + "'");
  }
  return Status::OK();
}

}  // namespace statewatch::collectors::internal
