// Server-name helpers for matching peers (federation-notes §1.1, §8): ports are never
// matched, DNS names compare case-insensitively, IP literals are told apart so that a
// policy can refuse them unless a federation explicitly allows them.
#pragma once

#include <string_view>

namespace bordergate::policy {

// "host:port" -> "host"; "[v6]:port" -> "[v6]". Returns the input when there is no port.
std::string_view strip_port(std::string_view server_name);
// Dotted-quad IPv4 (each part 0..255) or a bracketed IPv6 literal.
bool is_ip_literal(std::string_view host);
// A syntactically valid server name (host[:port]) per the grammar in §1.1.
bool is_valid_server_name(std::string_view server_name);
// A valid server-name glob: DNS characters plus `*` and `?`, or an IP literal; no port.
bool is_valid_server_pattern(std::string_view pattern);
// The domain of `@user:server` / `!room:server` / `$event:server` (after the first ':'),
// or empty when the id carries none (rooms v12+ ids, v3+ event ids).
std::string_view id_domain(std::string_view id);

}  // namespace bordergate::policy
