// Release of a quarantined request: a one-shot blocking HTTP/1.1 exchange
// with the Core (plain or TLS per the upstream configuration), for the CLI.
// The request is written exactly as the proxy would have forwarded it live
// (same header rules, see gateway/http/headers.h), from the stored bytes, so
// the X-Matrix signature the Core checks still verifies.
#pragma once

#include <chrono>
#include <string>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/quarantine/quarantine_store.h"

namespace bordergate::quarantine {

// The bytes sent to the Core for a stored request: request line, head and body.
std::string release_request_bytes(const HeldRequest& request, std::string_view fallback_host);

struct CoreAnswer {
  int status = 0;
  std::string body;  // the first 64 KiB of the Core's response body
};

// Connects, sends, reads the whole response. Errors: core_connect,
// core_tls, core_io, core_timeout, core_protocol.
Result<CoreAnswer> send_to_core(const UpstreamConfig& upstream, std::string_view request_bytes,
                                std::chrono::milliseconds timeout);

}  // namespace bordergate::quarantine
