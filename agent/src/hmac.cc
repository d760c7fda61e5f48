#include "statewatch/agent/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "statewatch/agent/secret_file.h"

namespace statewatch::agent {

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string signed_text = std::to_string(unix_seconds);
  signed_text.push_back('.');
  signed_text.append(body);
  return "sha256=" + HmacSha256Hex(secret, signed_text);
}

Status VerifyWebhookSignature(std::string_view secret, std::string_view timestamp,
                              std::string_view signature, std::string_view body,
                              int64_t now_unix_seconds, int64_t tolerance_seconds) {
  int64_t sent = 0;
  const auto [end, ec] =
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), sent);
  if (timestamp.empty() || ec != std::errc() || end != timestamp.data() + timestamp.size() ||
      sent < 0) {
    return Status::InvalidArgument("X-Statewatch-Timestamp '" +
                                   std::string(timestamp.substr(0, 32)) + "' is not unix seconds");
  }
  // Checked before the signature: a stale request is refused for being stale whether or not
  // someone altered it, and the cheaper check goes first.
  const int64_t skew = sent > now_unix_seconds ? sent - now_unix_seconds : now_unix_seconds - sent;
  if (skew > tolerance_seconds) {
    return Status::InvalidArgument(
        "X-Statewatch-Timestamp " + std::to_string(sent) + " is " + std::to_string(skew) + " s " +
        (sent < now_unix_seconds ? "old" : "ahead") + " (at most " +
        std::to_string(tolerance_seconds) + " s): a replayed or forged request");
  }
  const std::string expected = WebhookSignature(secret, sent, body);
  if (!SecretEquals(std::string(signature), expected)) {
    return Status::InvalidArgument(
        "X-Statewatch-Signature does not match the body and timestamp under the shared secret");
  }
  return Status::OK();
}

}  // namespace statewatch::agent
