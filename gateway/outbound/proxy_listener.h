// Which of the Core's proxy listeners a connection came in on: plain CONNECT, CONNECT behind the
// gateway's own TLS (https_proxy=https://...), or direct mode. A fixed set: it is a metric label
// and part of the audit record of every proxy decision made on the TLS listener.
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

}  // namespace bordergate::outbound
