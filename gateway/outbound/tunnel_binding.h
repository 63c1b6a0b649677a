// Holds each request inside an intercepted tunnel to what the CONNECT claimed: its Host and its
// X-Matrix destination name the CONNECT target, and its X-Matrix origin is the Core itself. A
// Core (or anything running on its host) cannot CONNECT to an allowed federation and then talk
// to another server through it.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/outbound/connect_target.h"

namespace bordergate::outbound {

struct BindingFailure {
  int status;                // 400 for malformed or missing headers, 403 for a mismatch
  std::string_view errcode;  // Matrix errcode for the response body
  Error error;               // stable code + sentence for audit and logs
};

// `host_values`: every Host header of the request (exactly one is required).
// `authorization_values`: every Authorization header; for federation tunnels at least one
// X-Matrix value is required, all naming the same origin and destination.
// Error codes: "host_missing", "host_invalid", "host_mismatch", "xmatrix_missing",
// "xmatrix_invalid", "xmatrix_destination_missing", "xmatrix_destination_mismatch",
// "xmatrix_origin_not_core".
// Host and destination match the target by host (ASCII case-insensitive, IPv6 in brackets);
// a port, when present, must be the CONNECT port.
std::optional<BindingFailure> check_tunnel_request(
    const ConnectTarget& target, bool federation_tunnel, std::string_view core_server_name,
    std::span<const std::string_view> host_values,
    std::span<const std::string_view> authorization_values);

}  // namespace bordergate::outbound
