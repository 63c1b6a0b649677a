// The syntax of the values the configuration names: DNS names, IP literals, Matrix server names,
// ed25519 keys, CIDR ranges and resolver addresses. Text checks only; the libraries that use the
// values parse them into their own types when the runtime is built.
#pragma once

#include <string>
#include <string_view>

namespace bordergate {

// A DNS name (optionally "*.name" when `allow_wildcard`), labels of [A-Za-z0-9-], at most 253.
bool valid_dns_name(std::string_view name, bool allow_wildcard);
// An IPv4 or IPv6 literal (inet_pton).
bool valid_ip(const std::string& text);
// A Matrix server name: DNS name or IP literal, optionally with ":port".
bool valid_server_name(const std::string& name);
// An ed25519 public key in unpadded standard base64.
bool valid_base64_key(const std::string& text);
// An address or CIDR range ("10.0.0.0/8", "::1/128", "127.0.0.1").
bool plausible_cidr(const std::string& text);
// A DNS resolver: an IP literal with an optional port ("127.0.0.1:53", "[::1]:5353").
bool plausible_resolver(const std::string& text);

}  // namespace bordergate
