// The status page's static files (agent/web/), compiled into the binary by
// agent/cmake/embed_assets.cmake so that `/` works with no files installed and no network.
//
// Thread-safety: immutable after first use.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace statewatch::agent::internal {

struct WebAsset {
  const char* path;  // "/index.html", "/status.js", …
  const unsigned char* data;
  size_t size;
  std::string_view view() const { return {reinterpret_cast<const char*>(data), size}; }
};

const std::vector<WebAsset>& WebAssets();

// The asset served at `path` ("/" is /index.html), or nullptr.
const WebAsset* FindWebAsset(std::string_view path);

// Content-Type by extension (.html, .js, .css, .svg; else application/octet-stream).
std::string WebContentType(std::string_view path);

}  // namespace statewatch::agent::internal
