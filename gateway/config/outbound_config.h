// The `outbound:` configuration section as plain data: where the Core's proxy listeners are (plain
// CONNECT, CONNECT behind TLS, direct mode), who may use them, the interception CA and the egress
// allow list. Read and validated with the rest of the file (config_loader.cc); gateway/outbound
// and gateway/proxy build the running proxy (CA, credentials, matchers) from it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/discovery/ip_address.h"

namespace YAML {
class Node;
}

namespace bordergate {
class ConfigReader;
}

namespace bordergate::outbound {

// Leaves minted for intercepted TLS (gateway/outbound/cert_minter.h).
struct CertMinterOptions {
  std::chrono::seconds lifetime{std::chrono::hours(24)};
  // notBefore lies this far in the past so a Core whose clock is slightly behind accepts the leaf.
  std::chrono::seconds backdate{std::chrono::minutes(5)};
  // A cached context is replaced once less than this much validity is left, so no handshake is
  // ever served with a leaf about to expire mid-connection.
  std::chrono::seconds renew_before{std::chrono::hours(1)};
  std::size_t cache_capacity = 1024;
};

// One entry of `outbound.egress` (compiled by gateway/outbound/egress_allow_list.h).
struct EgressEntrySpec {
  std::string host;  // "push.example.org", "*.example.org", "192.0.2.10", "[2001:db8::1]"
  std::string mode;  // "tunnel" | "intercept"
  // Ports the entry allows; empty means 443 only (the only port these HTTPS services use).
  std::vector<std::uint16_t> ports;
};

// The grammar of the section's patterns, checked at load (so a bad one is an error with a
// position) and again by the matchers compiled from them.
// Error codes: "egress_bad_mode", "egress_bad_pattern".
Status check_egress_entry(const EgressEntrySpec& spec);
// Error code: "delegation_bad_pattern" (IP literals, a bare "*", "*" elsewhere than in front).
Status check_delegation_host(std::string_view pattern);

struct OutboundConfig {
  bool enabled = false;
  // `listen`: CONNECT over plain HTTP. On by default; off when the section writes `listen_tls`
  // without `listen` (the credentials then never cross the network in the clear).
  bool plain = true;
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8450;
  // `listen_tls`: the same proxy behind TLS with the gateway's proxy certificate (the Core's
  // https_proxy=https://...). tls_listen.certificates holds exactly one entry (no server_names:
  // there is nothing to choose by SNI); its `location` is set by the configuration loader.
  bool tls = false;
  std::string tls_address;
  std::uint16_t tls_port = 8451;
  ListenerTlsConfig tls_listen;
  std::vector<discovery::Cidr> clients;  // default: 127.0.0.0/8 and ::1
  // Direct mode (`direct_listen`): a TLS listener without CONNECT that the Core's DNS or hosts
  // file points federation names at; the ClientHello's SNI names the destination.
  bool direct = false;
  std::string direct_address;
  std::uint16_t direct_port = 8448;
  std::string credentials_file;     // required when enabled
  std::string ca_certificate_file;  // interception_ca.certificate (required)
  std::string ca_key_file;          // interception_ca.key (required)
  CertMinterOptions leaf;
  std::vector<EgressEntrySpec> egress;
  // Names federation members delegate to (well-known m.server hosts, SRV targets) that lie outside
  // every federation: a CONNECT to one opens a pending-delegation tunnel (delegation_binding.h).
  // Default: empty, every such CONNECT is refused.
  std::vector<std::string> delegation_hosts;
  // Limits of the running listener. The CONNECT head and the tunnelled TLS handshake each get
  // head_timeout; a tunnel with no byte in either direction for idle_timeout is closed.
  std::chrono::milliseconds head_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  // Every dial towards an external server (forwarded requests and spliced egress tunnels) gets
  // this long per target address for the TCP connect (and, for forwarded requests, the TLS
  // handshake); then the next target is tried. A destination that never answers a SYN would
  // otherwise hold the Core's request until the kernel gives up (minutes).
  std::chrono::milliseconds connect_timeout{10000};
  // Largest response body taken from an external server for one inner request (buffered whole:
  // it is checked before the Core sees it). Remote media needs more than key answers.
  std::uint64_t max_response_bytes = 64ULL << 20;
};

// Reads the `outbound:` node into `out`, reporting every mistake through `reader` with its
// position. Unknown keys are errors, as everywhere in the configuration. Relative file paths are
// resolved against `base_dir` (the configuration file's directory). The checks across keys (the
// required keys, listeners that must differ, renew_before below lifetime) run only when the keys
// themselves were read without error. Returns whether the section is free of errors.
bool load_outbound_config(ConfigReader& reader, const YAML::Node& node, const std::string& base_dir,
                          OutboundConfig& out);

}  // namespace bordergate::outbound
