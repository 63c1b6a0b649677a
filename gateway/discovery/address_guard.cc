#include "gateway/discovery/address_guard.h"

#include <array>

namespace bordergate::discovery {
namespace {

struct SpecialRange {
  std::string_view text;
  AddressClass address_class;
};

// First match wins, so narrower ranges come before the blocks that contain them.
constexpr std::array kV4Ranges = {
    SpecialRange{"0.0.0.0/32", AddressClass::kUnspecified},
    SpecialRange{"0.0.0.0/8", AddressClass::kThisNetwork},
    SpecialRange{"10.0.0.0/8", AddressClass::kPrivate},
    SpecialRange{"100.64.0.0/10", AddressClass::kSharedAddress},
    SpecialRange{"127.0.0.0/8", AddressClass::kLoopback},
    SpecialRange{"169.254.0.0/16", AddressClass::kLinkLocal},
    SpecialRange{"172.16.0.0/12", AddressClass::kPrivate},
    SpecialRange{"192.0.0.0/24", AddressClass::kReserved},     // IETF protocol assignments
    SpecialRange{"192.0.2.0/24", AddressClass::kDocumentation},
    SpecialRange{"192.88.99.0/24", AddressClass::kReserved},   // deprecated 6to4 relay anycast
    SpecialRange{"192.168.0.0/16", AddressClass::kPrivate},
    SpecialRange{"198.18.0.0/15", AddressClass::kBenchmarking},
    SpecialRange{"198.51.100.0/24", AddressClass::kDocumentation},
    SpecialRange{"203.0.113.0/24", AddressClass::kDocumentation},
    SpecialRange{"224.0.0.0/4", AddressClass::kMulticast},
    SpecialRange{"255.255.255.255/32", AddressClass::kBroadcast},
    SpecialRange{"240.0.0.0/4", AddressClass::kReserved},
};

constexpr std::array kV6Ranges = {
    SpecialRange{"::/128", AddressClass::kUnspecified},
    SpecialRange{"::1/128", AddressClass::kLoopback},
    SpecialRange{"::/96", AddressClass::kIpv4Compatible},
    SpecialRange{"64:ff9b:1::/48", AddressClass::kReserved},   // local-use NAT64
    SpecialRange{"100::/64", AddressClass::kReserved},         // discard-only
    SpecialRange{"2001::/32", AddressClass::kTeredo},
    SpecialRange{"2001:2::/48", AddressClass::kBenchmarking},
    SpecialRange{"2001:db8::/32", AddressClass::kDocumentation},
    SpecialRange{"2001::/23", AddressClass::kReserved},        // IETF protocol assignments, ORCHID
    SpecialRange{"3fff::/20", AddressClass::kDocumentation},
    SpecialRange{"5f00::/16", AddressClass::kReserved},        // SRv6 SIDs
    SpecialRange{"fc00::/7", AddressClass::kUniqueLocal},
    SpecialRange{"fe80::/10", AddressClass::kLinkLocal},
    SpecialRange{"fec0::/10", AddressClass::kSiteLocal},
    SpecialRange{"ff00::/8", AddressClass::kMulticast},
};

template <std::size_t N>
std::array<Cidr, N> compile(const std::array<SpecialRange, N>& ranges) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<Cidr, N>{Cidr::parse(ranges[I].text).value()...};
  }(std::make_index_sequence<N>{});
}

const std::array<Cidr, kV4Ranges.size()>& v4_cidrs() {
  static const auto cidrs = compile(kV4Ranges);
  return cidrs;
}
const std::array<Cidr, kV6Ranges.size()>& v6_cidrs() {
  static const auto cidrs = compile(kV6Ranges);
  return cidrs;
}

AddressClassification classify_v4(const IpAddress& address) {
  const auto& cidrs = v4_cidrs();
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    if (cidrs[i].contains(address)) return {kV4Ranges[i].address_class, kV4Ranges[i].text, false};
  }
  return {AddressClass::kGlobal, {}, false};
}

AddressClassification embedded(const std::uint8_t* v4_bytes) {
  AddressClassification inner = classify_v4(IpAddress::v4_from_bytes(v4_bytes));
  inner.judged_by_embedded_v4 = true;
  return inner;
}

const Cidr& nat64_prefix() {
  static const Cidr prefix = Cidr::parse("64:ff9b::/96").value();
  return prefix;
}
const Cidr& six_to_four_prefix() {
  static const Cidr prefix = Cidr::parse("2002::/16").value();
  return prefix;
}
const Cidr& global_unicast() {
  static const Cidr prefix = Cidr::parse("2000::/3").value();
  return prefix;
}

}  // namespace

std::string_view address_class_name(AddressClass c) {
  switch (c) {
    case AddressClass::kGlobal: return "global";
    case AddressClass::kUnspecified: return "unspecified";
    case AddressClass::kThisNetwork: return "this_network";
    case AddressClass::kLoopback: return "loopback";
    case AddressClass::kPrivate: return "private";
    case AddressClass::kSharedAddress: return "shared_address";
    case AddressClass::kLinkLocal: return "link_local";
    case AddressClass::kMulticast: return "multicast";
    case AddressClass::kBroadcast: return "broadcast";
    case AddressClass::kDocumentation: return "documentation";
    case AddressClass::kBenchmarking: return "benchmarking";
    case AddressClass::kReserved: return "reserved";
    case AddressClass::kUniqueLocal: return "unique_local";
    case AddressClass::kSiteLocal: return "site_local";
    case AddressClass::kIpv4Compatible: return "ipv4_compatible";
    case AddressClass::kTeredo: return "teredo";
  }
  return "unknown";
}

AddressClassification classify_address(const IpAddress& address) {
  if (address.is_v4()) return classify_v4(address);
  const auto& bytes = address.bytes();
  // Translation schemes whose real destination is an IPv4 address: judge that address.
  if (address.mapped_v4()) return embedded(bytes.data() + 12);
  if (nat64_prefix().contains(address)) return embedded(bytes.data() + 12);
  if (six_to_four_prefix().contains(address)) return embedded(bytes.data() + 2);
  const auto& cidrs = v6_cidrs();
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    if (cidrs[i].contains(address)) return {kV6Ranges[i].address_class, kV6Ranges[i].text, false};
  }
  if (!global_unicast().contains(address)) return {AddressClass::kReserved, "outside 2000::/3", false};
  return {AddressClass::kGlobal, {}, false};
}

Result<AddressGuard> AddressGuard::from_strings(const std::vector<std::string>& allowed) {
  std::vector<Cidr> ranges;
  ranges.reserve(allowed.size());
  for (const auto& text : allowed) {
    auto range = Cidr::parse(text);
    if (!range) return range.error();
    ranges.push_back(*range);
  }
  return AddressGuard(std::move(ranges));
}

GuardVerdict AddressGuard::check(const IpAddress& address) const {
  GuardVerdict verdict;
  verdict.classification = classify_address(address);
  if (verdict.classification.address_class == AddressClass::kGlobal) {
    verdict.allowed = true;
    return verdict;
  }
  // ::ffff:a.b.c.d reaches a.b.c.d, so an allowed IPv4 range covers its mapped form too.
  const IpAddress unwrapped = address.unmapped();
  for (const auto& range : allowed_) {
    if (range.contains(address) || range.contains(unwrapped)) {
      verdict.allowed = true;
      verdict.allowed_by_operator = true;
      break;
    }
  }
  return verdict;
}

Status AddressGuard::admit(const IpAddress& address) const {
  const GuardVerdict verdict = check(address);
  if (verdict.allowed) return {};
  std::string message = "refusing to connect to " + address.to_string() + ": " +
                        std::string(address_class_name(verdict.classification.address_class));
  if (verdict.classification.judged_by_embedded_v4) message += " (embedded IPv4)";
  if (!verdict.classification.range.empty()) {
    message += " range " + std::string(verdict.classification.range);
  }
  return make_error("ssrf_refused", std::move(message));
}

}  // namespace bordergate::discovery
