// The SSRF guard: decides whether the gateway may open a connection to an address that came from
// a peer-controlled source (a server name, a DNS answer, a well-known delegation, a redirect).
// Special-purpose ranges are refused unless the operator allows them with CIDR ranges.
#pragma once

#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/discovery/ip_address.h"

namespace bordergate::discovery {

// Why an address is special. kGlobal is the only class allowed without an operator exception.
enum class AddressClass {
  kGlobal,
  kUnspecified,      // 0.0.0.0, ::
  kThisNetwork,      // 0.0.0.0/8
  kLoopback,         // 127.0.0.0/8, ::1
  kPrivate,          // 10/8, 172.16/12, 192.168/16
  kSharedAddress,    // 100.64.0.0/10 (carrier-grade NAT)
  kLinkLocal,        // 169.254/16 (cloud metadata lives here), fe80::/10
  kMulticast,        // 224/4, ff00::/8
  kBroadcast,        // 255.255.255.255
  kDocumentation,    // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  kBenchmarking,     // 198.18/15, 2001:2::/48
  kReserved,         // 240/4, IETF protocol blocks, everything outside 2000::/3, ...
  kUniqueLocal,      // fc00::/7
  kSiteLocal,        // fec0::/10 (deprecated, still routed internally in places)
  kIpv4Compatible,   // ::a.b.c.d (deprecated; stacks may treat it as IPv4)
  kTeredo,           // 2001::/32 (tunnels to an obfuscated IPv4 the guard cannot vouch for)
};

std::string_view address_class_name(AddressClass c);  // "loopback", "link_local", ...

struct AddressClassification {
  AddressClass address_class = AddressClass::kGlobal;
  std::string_view range;  // the matched range, e.g. "169.254.0.0/16" (static storage)
  // For IPv4-mapped, NAT64 and 6to4 addresses the class is judged by the embedded IPv4.
  bool judged_by_embedded_v4 = false;
};

// Pure classification, no allow list.
AddressClassification classify_address(const IpAddress& address);

struct GuardVerdict {
  bool allowed = false;
  AddressClassification classification;
  bool allowed_by_operator = false;  // special, but inside an operator-allowed range
};

class AddressGuard {
 public:
  AddressGuard() = default;
  explicit AddressGuard(std::vector<Cidr> allowed) : allowed_(std::move(allowed)) {}
  // Parses "127.0.0.0/8"-style strings; the first bad one fails with "invalid_cidr".
  static Result<AddressGuard> from_strings(const std::vector<std::string>& allowed);

  GuardVerdict check(const IpAddress& address) const;
  // Convenience for logs and errors: "ssrf_refused" with the class and range in the message.
  Status admit(const IpAddress& address) const;

  const std::vector<Cidr>& allowed() const { return allowed_; }

 private:
  std::vector<Cidr> allowed_;
};

}  // namespace bordergate::discovery
