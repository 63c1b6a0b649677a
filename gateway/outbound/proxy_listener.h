// Which of the Core's proxy listeners a connection came in on: plain CONNECT, CONNECT behind the
// gateway's own TLS (https_proxy=https://...), or direct mode. A fixed set: it is a metric label
// and part of the audit record of every decision made on the TLS listener.
#pragma once

#include <string_view>

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

// The listener an audit record names ("listener=<name>" in its note), for the CONNECT and gate
// records and for every inner request of the tunnel alike. Only the TLS listener is named: the
// records of the plain and direct listeners stay as they were before it existed (empty).
constexpr std::string_view audited_listener(ProxyListener listener) {
  return listener == ProxyListener::connect_tls ? proxy_listener_name(listener)
                                                : std::string_view();
}

}  // namespace bordergate::outbound
