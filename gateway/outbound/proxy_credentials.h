// The one set of credentials the Core presents in Proxy-Authorization (RFC 9110 §11.7.1, Basic).
// Loaded from a file so the secret stays out of the main configuration and its backups; compared
// in constant time so response timing does not reveal how much of a guess was right.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/common/result.h"

namespace bordergate::outbound {

class ProxyCredentials {
 public:
  // File format: the first non-empty line is `username:password` (the username has no ':'; the
  // password is everything after the first ':'). Both must be non-empty. Trailing CR/LF ignored.
  // Error codes: "credentials_unreadable", "credentials_invalid".
  static Result<ProxyCredentials> load(const std::string& path);
  static Result<ProxyCredentials> parse(std::string_view file_text);

  // True when `header_value` (a Proxy-Authorization value) is `Basic <base64(user:password)>`
  // with exactly the configured pair. Scheme case-insensitive, strict padded base64.
  bool accepts(std::string_view header_value) const;

  const std::string& username() const { return username_; }

 private:
  ProxyCredentials(std::string username, const std::array<std::uint8_t, 32>& digest)
      : username_(std::move(username)), digest_(digest) {}
  std::string username_;
  std::array<std::uint8_t, 32> digest_;  // BLAKE2b-256 of "user:password"; the secret itself
                                         // is not kept in memory after loading
};

// The Proxy-Authenticate challenge sent with 407.
inline constexpr std::string_view kProxyAuthenticateChallenge =
    "Basic realm=\"bordergate outbound\", charset=\"UTF-8\"";

}  // namespace bordergate::outbound
