#include "gateway/proxy/proxy_metrics.h"

namespace bordergate {

void ProxyMetrics::decision(outbound::ProxyListener listener, bool allowed,
                            std::string_view reason) {
  std::size_t r = kReasons.size() - 1;  // "other"
  for (std::size_t i = 0; i < kReasons.size(); ++i) {
    if (kReasons[i] == reason) {
      r = i;
      break;
    }
  }
  const std::size_t cell =
      (static_cast<std::size_t>(listener) * 2 + (allowed ? 1 : 0)) * kReasons.size() + r;
  decisions_[cell].fetch_add(1, std::memory_order_relaxed);
}

std::string ProxyMetrics::serialize() const {
  std::string out;
  out +=
      "# HELP bordergate_outbound_proxy_decisions_total Decisions of the Core's proxy listeners "
      "(CONNECT admission, tunnel gate, direct-mode admission, the TLS listener's handshake).\n"
      "# TYPE bordergate_outbound_proxy_decisions_total counter\n";
  for (std::size_t l = 0; l < kListeners; ++l) {
    for (std::size_t a = 0; a < 2; ++a) {
      for (std::size_t r = 0; r < kReasons.size(); ++r) {
        const std::uint64_t n =
            decisions_[(l * 2 + a) * kReasons.size() + r].load(std::memory_order_relaxed);
        if (n == 0) continue;  // a bounded set, but only the ones seen are worth a line
        out += "bordergate_outbound_proxy_decisions_total{listener=\"";
        out += outbound::proxy_listener_name(static_cast<outbound::ProxyListener>(l));
        out += "\",result=\"";
        out += a == 1 ? "allowed" : "refused";
        out += "\",reason=\"";
        out += kReasons[r];
        out += "\"} " + std::to_string(n) + "\n";
      }
    }
  }
  out +=
      "# HELP bordergate_outbound_proxy_connections_open Connections open on the Core's proxy "
      "listeners.\n"
      "# TYPE bordergate_outbound_proxy_connections_open gauge\n"
      "bordergate_outbound_proxy_connections_open " +
      std::to_string(open_.load(std::memory_order_relaxed)) + "\n";
  out +=
      "# HELP bordergate_outbound_spliced_bytes_total Bytes moved through spliced egress "
      "tunnels.\n"
      "# TYPE bordergate_outbound_spliced_bytes_total counter\n"
      "bordergate_outbound_spliced_bytes_total{direction=\"to_destination\"} " +
      std::to_string(spliced_[0].load(std::memory_order_relaxed)) +
      "\n"
      "bordergate_outbound_spliced_bytes_total{direction=\"to_core\"} " +
      std::to_string(spliced_[1].load(std::memory_order_relaxed)) + "\n";
  return out;
}

}  // namespace bordergate
