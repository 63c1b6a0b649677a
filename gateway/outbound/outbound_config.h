// The `outbound:` configuration section: where the Core's proxy listeners are (plain CONNECT,
// CONNECT behind TLS, direct mode), who may use them, the interception CA and the egress allow
// list. Parsed from its YAML node into a plain struct; config_loader.cc hooks it into the
// configuration.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/discovery/ip_address.h"
#include "gateway/outbound/cert_minter.h"
#include "gateway/outbound/egress_allow_list.h"
#include "gateway/outbound/proxy_listener.h"

namespace bordergate::outbound {

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

// Error codes: "outbound_config_invalid" with "LINE:COL: message" (1-based) in the message.
// Unknown keys are errors, as everywhere in the configuration. Relative file paths are resolved
// against `base_dir` (the configuration file's directory).
Result<OutboundConfig> parse_outbound_config(const YAML::Node& node, const std::string& base_dir);

struct ProxyListenAddress {
  ProxyListener kind;
  std::string address;
  std::uint16_t port;
};
// The listeners `config` asks for, in opening order: connect, connect_tls, direct.
std::vector<ProxyListenAddress> proxy_listen_addresses(const OutboundConfig& config);

}  // namespace bordergate::outbound
