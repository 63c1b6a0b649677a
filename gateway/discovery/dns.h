// The DNS vocabulary shared by the resolution state machine and the c-ares resolver: questions,
// SRV records and answers as plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/discovery/ip_address.h"

namespace bordergate::discovery {

enum class DnsType { kA, kAaaa, kSrv };
std::string_view dns_type_name(DnsType type);  // "A", "AAAA", "SRV"

struct DnsQuestion {
  std::string name;
  DnsType type = DnsType::kA;
  friend bool operator==(const DnsQuestion&, const DnsQuestion&) = default;
};

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;  // without the trailing dot
};

// Error codes used by resolvers: "nxdomain" and "no_data" (the name has no such record: the
// algorithm falls through to the next step), anything else ("timeout", "servfail", "refused",
// "dns_error", "cancelled") is a failure that must not be mistaken for "no record".
struct DnsAnswer {
  std::vector<IpAddress> addresses;  // A / AAAA
  std::vector<SrvRecord> srv;        // SRV
  std::optional<Error> error;

  bool no_record() const {
    return error && (error->code == "nxdomain" || error->code == "no_data");
  }
};

}  // namespace bordergate::discovery
