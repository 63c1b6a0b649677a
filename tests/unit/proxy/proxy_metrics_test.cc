// ProxyMetrics: decisions land in their (listener, result, reason) cell, unknown reasons count
// as "other" (label values stay a fixed set), the gauge and the byte counters serialize.
#include "gateway/proxy/proxy_metrics.h"

#include <gtest/gtest.h>

namespace bordergate {
namespace {

TEST(ProxyMetricsTest, DecisionsByListenerResultAndReason) {
  ProxyMetrics m;
  m.decision(outbound::ProxyListener::connect, true, "federation_destination");
  m.decision(outbound::ProxyListener::connect, true, "federation_destination");
  m.decision(outbound::ProxyListener::direct, false, "sni_missing");
  m.decision(outbound::ProxyListener::direct, false,
             "a reason from nowhere\"}");  // never becomes a label value
  m.decision(outbound::ProxyListener::connect_tls, false, "proxy_tls_failed");
  m.decision(outbound::ProxyListener::connect_tls, true, "federation_destination");
  m.connection_opened();
  m.connection_opened();
  m.connection_closed();
  m.spliced(true, 100);
  m.spliced(false, 7);
  const std::string text = m.serialize();
  EXPECT_NE(std::string::npos,
            text.find("bordergate_outbound_proxy_decisions_total{listener=\"connect\",result=\""
                      "allowed\",reason=\"federation_destination\"} 2\n"));
  EXPECT_NE(std::string::npos,
            text.find("bordergate_outbound_proxy_decisions_total{listener=\"direct\",result=\""
                      "refused\",reason=\"sni_missing\"} 1\n"));
  EXPECT_NE(std::string::npos,
            text.find("bordergate_outbound_proxy_decisions_total{listener=\"direct\",result=\""
                      "refused\",reason=\"other\"} 1\n"));
  EXPECT_NE(std::string::npos,
            text.find("bordergate_outbound_proxy_decisions_total{listener=\"connect_tls\",result=\""
                      "refused\",reason=\"proxy_tls_failed\"} 1\n"));
  EXPECT_NE(std::string::npos,
            text.find("bordergate_outbound_proxy_decisions_total{listener=\"connect_tls\",result=\""
                      "allowed\",reason=\"federation_destination\"} 1\n"));
  EXPECT_EQ(std::string::npos, text.find("nowhere"));
  EXPECT_NE(std::string::npos, text.find("bordergate_outbound_proxy_connections_open 1\n"));
  EXPECT_NE(
      std::string::npos,
      text.find("bordergate_outbound_spliced_bytes_total{direction=\"to_destination\"} 100\n"));
  EXPECT_NE(std::string::npos,
            text.find("bordergate_outbound_spliced_bytes_total{direction=\"to_core\"} 7\n"));
  // Cells never hit are left out; the families' headers are always there.
  EXPECT_EQ(std::string::npos, text.find("reason=\"not_tls\""));
  EXPECT_NE(std::string::npos,
            text.find("# TYPE bordergate_outbound_proxy_decisions_total counter"));
}

}  // namespace
}  // namespace bordergate
