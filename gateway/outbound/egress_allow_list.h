// Non-federation destinations the Core may reach through the proxy (push gateways, URL previews,
// OpenID Connect providers...). Default deny: a CONNECT to a host that is neither in an allowed
// federation nor matched here is refused. Patterns are compiled once at configuration load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/outbound_config.h"  // EgressEntrySpec, check_egress_entry
#include "gateway/outbound/connect_target.h"

namespace bordergate::outbound {

enum class EgressMode {
  kTunnel,     // raw TCP splice after the ClientHello/SNI check; no TLS termination
  kIntercept,  // TLS terminated with a minted leaf, each inner request logged
};

struct EgressRule {
  std::string pattern;  // as configured: the rule's id in audit records
  EgressMode mode = EgressMode::kIntercept;
};

class EgressAllowList {
 public:
  // Error codes: "egress_bad_pattern", "egress_bad_mode".
  // "*.example.org" matches any name strictly below example.org (any depth), never example.org
  // itself; a "*" anywhere else, or a bare "*", is refused. IP entries match that address only.
  static Result<EgressAllowList> compile(const std::vector<EgressEntrySpec>& specs);

  // The first entry matching the target's host and port, or nullopt (deny).
  std::optional<EgressRule> match(const ConnectTarget& target) const;

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    EgressRule rule;
    bool wildcard = false;
    std::string host;  // lower-case; for a wildcard the suffix including the leading '.'
    bool is_ip = false;
    std::vector<std::uint16_t> ports;
  };
  std::vector<Entry> entries_;
};

}  // namespace bordergate::outbound
