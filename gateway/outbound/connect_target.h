// The target of an HTTP CONNECT from the Core (RFC 9110 §9.3.6): authority-form only,
// `host ":" port` with the port required, the host held to the Matrix server-name grammar so the
// same value feeds policy, the SSRF guard and the certificate minter without re-parsing.
#pragma once

#include <cstdint>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/discovery/server_name.h"

namespace bordergate::outbound {

struct ConnectTarget {
  discovery::ServerName name;  // name.port is always set
  std::uint16_t port() const { return *name.port; }
  // The server name as policy and X-Matrix see it: the host alone for the federation default port
  // 8448, otherwise host:port (Matrix server names carry an explicit port only when it differs).
  std::string matrix_server_name() const;
};

// Error codes: "connect_target_not_authority" (empty, a path, a scheme, userinfo, whitespace),
// "connect_port_missing", plus the server-name grammar codes from parse_server_name.
Result<ConnectTarget> parse_connect_target(std::string_view request_target);

}  // namespace bordergate::outbound
