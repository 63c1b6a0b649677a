// Counters of the Core's proxy listeners (CONNECT, CONNECT behind TLS, direct mode): every
// decision by listener, result and reason, the connections open on them, and the bytes spliced
// through egress tunnels. Relaxed atomics written from every worker; label values come from fixed
// lists.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/outbound/proxy_listener.h"

namespace bordergate {

class ProxyMetrics {
 public:
  // One audited proxy decision (TunnelFront::decide). An unknown reason counts as "other".
  void decision(outbound::ProxyListener listener, bool allowed, std::string_view reason);
  void connection_opened() { open_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_.fetch_sub(1, std::memory_order_relaxed); }
  void spliced(bool to_destination, std::uint64_t bytes) {
    spliced_[to_destination ? 0 : 1].fetch_add(bytes, std::memory_order_relaxed);
  }
  // Prometheus text exposition: bordergate_outbound_proxy_decisions_total{listener,result,
  // reason}, bordergate_outbound_proxy_connections_open, bordergate_outbound_spliced_bytes_total
  // {direction}.
  std::string serialize() const;

  static constexpr std::array<std::string_view, 31> kReasons = {"federation_destination",
                                                                "egress_tunnel",
                                                                "egress_intercept",
                                                                "destination_in_no_federation",
                                                                "no_outbound_rule",
                                                                "destination_is_core",
                                                                "ssrf_blocked_address",
                                                                "ssrf_refused",
                                                                "plain_http_proxy_refused",
                                                                "method_not_connect",
                                                                "proxy_credentials_missing",
                                                                "proxy_credentials_invalid",
                                                                "connect_target_invalid",
                                                                "malformed_proxy_request",
                                                                "no_policy",
                                                                "not_tls",
                                                                "malformed_client_hello",
                                                                "client_hello_too_large",
                                                                "bad_server_name_extension",
                                                                "sni_missing",
                                                                "sni_mismatch",
                                                                "sni_on_ip_target",
                                                                "sni_invalid",
                                                                "direct_not_federation",
                                                                "tunnel_timeout",
                                                                "early_data_too_large",
                                                                "destination_unresolved",
                                                                "destination_unreachable",
                                                                "leaf_unavailable",
                                                                "proxy_tls_failed",
                                                                "other"};

 private:
  static constexpr std::size_t kListeners = 3;  // outbound::ProxyListener
  static constexpr std::size_t kCells = kListeners * 2 * kReasons.size();
  std::array<std::atomic<std::uint64_t>, kCells> decisions_{};
  std::atomic<std::int64_t> open_{0};
  std::array<std::atomic<std::uint64_t>, 2> spliced_{};
};

}  // namespace bordergate
