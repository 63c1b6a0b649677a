// Which of the Core's proxy listeners a connection came in on: plain CONNECT, CONNECT behind the
// gateway's own TLS (https_proxy=https://...), or direct mode. A fixed set: it is a metric label
// and, for the TLS listener and direct mode, part of every audit record of their connections.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/outbound_config.h"

namespace bordergate::outbound {

enum class ProxyListener { connect, connect_tls, direct };

constexpr std::string_view proxy_listener_name(ProxyListener listener) {
  switch (listener) {
    case ProxyListener::connect:
      return "connect";
    case ProxyListener::connect_tls:
      return "connect_tls";
    case ProxyListener::direct:
      return "direct";
  }
  return "connect";
}

// The listener an audit record names ("listener=<name>" in its note), for the admission and
// gate records and for every inner request of the tunnel alike: the TLS listener and direct
// mode are named, so a record without the note came through the plain CONNECT listener (whose
// records stay as they were before the others existed).
constexpr std::string_view audited_listener(ProxyListener listener) {
  return listener == ProxyListener::connect ? std::string_view() : proxy_listener_name(listener);
}

struct ProxyListenAddress {
  ProxyListener kind;
  std::string address;
  std::uint16_t port;
};
// The listeners `config` asks for, in opening order: connect, connect_tls, direct.
std::vector<ProxyListenAddress> proxy_listen_addresses(const OutboundConfig& config);

}  // namespace bordergate::outbound
