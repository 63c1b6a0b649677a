// Release of a quarantined *outbound* request (the Core's /send to an external server): sent to
// its destination the way the gateway reaches external servers, through its own discovery
// (static routes, well-known, SRV, the SSRF guard) and verified HTTPS client, on a private loop.
// Blocking, for the CLI. The stored request line, end-to-end headers and body go out unchanged,
// so the Core's X-Matrix signature still verifies at the destination.
#pragma once

#include <chrono>
#include <string>

#include "gateway/common/result.h"
#include "gateway/config/discovery_config.h"
#include "gateway/quarantine/quarantine_store.h"

namespace bordergate::quarantine {

struct PeerAnswer {
  int status = 0;
  std::string body;  // the first 64 KiB of the answer
  std::string peer;  // the address that answered
};

// Errors: "not_outbound" (an inbound entry), the discovery codes (e.g. "ssrf_refused",
// "dns_error", "no_address"), the HTTPS client codes ("connect_failed", "tls_failed",
// "timeout", "bad_response", ...), "setup_failed" (resolver or TLS context).
Result<PeerAnswer> send_to_destination(const DiscoveryConfig& discovery, const HeldRequest& request,
                                       std::chrono::milliseconds timeout);

}  // namespace bordergate::quarantine
