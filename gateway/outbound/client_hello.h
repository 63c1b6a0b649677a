// The first bytes inside a CONNECT tunnel must be a TLS ClientHello whose SNI is the CONNECT host:
// these functions look at those bytes before any TLS library does, so a tunnel can never carry
// anything else (plain HTTP, SSLv2, some other protocol) past the gateway uninspected.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "gateway/common/result.h"
#include "gateway/outbound/connect_target.h"

namespace bordergate::outbound {

enum class HelloSniff {
  kNeedMore,     // every byte so far is consistent with a ClientHello record
  kClientHello,  // record header 0x16 0x03 0x01..0x03, sane length, handshake type 1
  kNotTls,       // anything else: close the connection
};

// Looks at the first 6 bytes only (record header + handshake type).
HelloSniff sniff_client_hello(std::span<const std::uint8_t> bytes);

struct ClientHelloInfo {
  std::optional<std::string> server_name;  // the host_name from server_name, if sent
  std::size_t consumed = 0;                // bytes of records holding the ClientHello
};

// Parses the whole ClientHello (it may span several handshake records, up to 64 KiB) and returns
// nullopt while more bytes are needed. Error codes: "not_tls", "malformed_client_hello",
// "client_hello_too_large", "bad_server_name_extension".
Result<std::optional<ClientHelloInfo>> parse_client_hello(std::span<const std::uint8_t> bytes);

// The tunnel rule: a DNS target needs an SNI equal to its host (ASCII case-insensitive); an IP
// target must carry no SNI (RFC 6066 forbids IP literals in server_name). Error codes:
// "sni_missing", "sni_mismatch", "sni_on_ip_target".
Status check_sni_matches(const ConnectTarget& target, const std::optional<std::string>& sni);

// The tunnel gate: what the listener does with the bytes received after `200 Connection
// established`, until it decides. kClose carries the error code (not_tls, sni_mismatch, ...)
// for the audit record; on kPass the buffered bytes go unchanged to the TLS terminator (or, for
// an egress tunnel, to the splice).
struct TunnelGateVerdict {
  enum class Action { kNeedMore, kPass, kClose } action = Action::kNeedMore;
  std::string reason;  // error code when kClose
  std::optional<std::string> server_name;
};
TunnelGateVerdict gate_tunnel(const ConnectTarget& target, std::span<const std::uint8_t> bytes);

// The gate of a pending-delegation tunnel: Synapse sends the delegated host as SNI while it
// CONNECTs to an SRV target, so the SNI is not compared with the CONNECT host here; it must be
// present and a DNS name ("sni_missing", "sni_invalid"). The caller holds it to the operator's
// delegation hosts now and to the destination's discovered tls_name at the first request.
// Direct mode (no CONNECT at all) uses the same gate: there the SNI is the destination.
TunnelGateVerdict gate_delegated_tunnel(std::span<const std::uint8_t> bytes);

}  // namespace bordergate::outbound
