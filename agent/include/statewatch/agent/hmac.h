// HMAC-SHA256 signatures for webhook bodies, so a receiver can tell our alerts from forgeries.
//
// The signed text is "<unix seconds>.<body>" and both go out as headers:
//   X-Statewatch-Timestamp: 1764000000
//   X-Statewatch-Signature: sha256=<64 hex digits>
// Signing the timestamp with the body lets a receiver reject replays of an old request (it
// checks the timestamp is recent) — the scheme GitHub's and Stripe's webhooks use.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace statewatch::agent {

// Lower-case hex HMAC-SHA256 of `data` under `key` (OpenSSL's libcrypto).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// The X-Statewatch-Signature value for `body` sent at `unix_seconds`: "sha256=<hex>".
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

}  // namespace statewatch::agent
