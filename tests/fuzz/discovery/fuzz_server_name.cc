// Server names, hosts, addresses and CIDR ranges from hostile input: no crash, and every accepted
// name survives a round trip through its authority form with the same meaning.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/discovery/address_guard.h"
#include "gateway/discovery/server_name.h"

using namespace bordergate::discovery;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto name = parse_server_name(text)) {
    auto again = parse_server_name(name->authority());
    if (!again || again->host != name->host || again->port != name->port ||
        again->kind != name->kind || again->ip != name->ip) {
      std::abort();
    }
    if (name->ip) (void)AddressGuard().check(*name->ip);
  }
  (void)parse_host(text);
  if (auto range = Cidr::parse(text)) {
    if (!range->contains(range->base())) std::abort();
    if (!Cidr::parse(range->to_string())) std::abort();
  }
  if (auto address = IpAddress::parse(text)) {
    (void)classify_address(*address);
    if (IpAddress::parse(address->to_string()).value() != *address) std::abort();
  }
  return 0;
}
