// Matrix server names (federation-notes §1.1): `hostname [":" port]` where the hostname is an
// IPv4 literal, a bracketed IPv6 literal or a DNS name. Parsed once into a value that the
// resolution algorithm and the SSRF guard can reason about without re-parsing text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/discovery/ip_address.h"

namespace bordergate::discovery {

enum class HostKind { kDnsName, kIpv4, kIpv6 };

struct ServerName {
  std::string text;                  // exactly as written (identity comparisons use this)
  std::string host;                  // without brackets: "matrix.org", "1.2.3.4", "::1"
  HostKind kind = HostKind::kDnsName;
  std::optional<IpAddress> ip;       // set for IPv4/IPv6 literals
  std::optional<std::uint16_t> port;

  bool is_ip_literal() const { return kind != HostKind::kDnsName; }
  // The host as it appears in a URL authority or Host header: IPv6 in brackets.
  std::string host_for_authority() const;
  // host_for_authority() plus ":port" when a port was given.
  std::string authority() const;
};

// Error codes: "empty_server_name", "server_name_too_long", "invalid_port",
// "invalid_ipv4", "invalid_ipv6", "invalid_dns_name".
// Stricter than the ABNF where the ABNF is ambiguous: a host made only of digits and dots must be
// a dotted-quad IPv4 without leading zeros (so "127.1" or "010.0.0.1" can never be read as an
// address by some other parser), and DNS names need non-empty labels of at most 63 characters.
Result<ServerName> parse_server_name(std::string_view text);

// Only the host part (no port): for SRV targets and redirect hosts.
Result<ServerName> parse_host(std::string_view text);

}  // namespace bordergate::discovery
