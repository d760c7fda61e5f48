// HMAC-SHA256 signatures for webhook bodies, so a receiver can tell our alerts from forgeries.
//
// The signed text is "<unix seconds>.<body>" and both go out as headers:
//   X-Statewatch-Timestamp: 1764000000
//   X-Statewatch-Signature: sha256=<64 hex digits>
// Signing the timestamp with the body lets a receiver reject replays of an old request (it
// checks the timestamp is recent: VerifyWebhookSignature) — the scheme GitHub's and Stripe's
// webhooks use. Each delivery attempt is signed when it is sent, so a retry carries a fresh
// timestamp and only a copy replayed by someone else goes stale.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "statewatch/state/status.h"

namespace statewatch::agent {

// Lower-case hex HMAC-SHA256 of `data` under `key` (OpenSSL's libcrypto).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// The X-Statewatch-Signature value for `body` sent at `unix_seconds`: "sha256=<hex>".
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

// How far a receiver lets a request's timestamp lie from its own clock, either way (the
// tolerance Stripe's libraries default to).
constexpr int64_t kWebhookSignatureToleranceSeconds = 300;

// What a receiver checks (webhook_echo --hmac.secret-file does): `signature` is the
// X-Statewatch-Signature of `body` sent at `timestamp` (X-Statewatch-Timestamp) under `secret`,
// compared in constant time, and `timestamp` lies within `tolerance_seconds` of the receiver's
// `now_unix_seconds`. A request recorded and replayed later is refused, and so is one claiming
// a time to come. InvalidArgument naming the header at fault; never containing the secret.
Status VerifyWebhookSignature(std::string_view secret, std::string_view timestamp,
                              std::string_view signature, std::string_view body,
                              int64_t now_unix_seconds,
                              int64_t tolerance_seconds = kWebhookSignatureToleranceSeconds);

}  // namespace statewatch::agent
