// The order connection targets are tried in: SRV records by priority and weighted random choice
// (RFC 2782), and resolved addresses with the two families interleaved (RFC 8305).
#pragma once

#include <random>
#include <vector>

#include "gateway/discovery/dns.h"
#include "gateway/discovery/ip_address.h"

namespace bordergate::discovery {

enum class AddressOrder { kIpv6First, kIpv4First };

// Ascending priority; within one priority a weighted random order in which zero-weight records
// are picked only when the draw is exactly 0 (RFC 2782's running-sum selection).
std::vector<SrvRecord> order_srv_records(std::vector<SrvRecord> records, std::mt19937_64& random);

// v6, v4, v6, v4, ... (or starting with v4); order within a family is kept.
std::vector<IpAddress> interleave_families(std::vector<IpAddress> addresses, AddressOrder order);

}  // namespace bordergate::discovery
