// ProxyMetrics: decisions land in their (listener, result, reason) cell, unknown reasons count
// as "other" (label values stay a fixed set), the gauge and the byte counters serialize.
#include "gateway/proxy/proxy_metrics.h"

#include <gtest/gtest.h>

namespace bordergate {
namespace {

TEST(ProxyMetricsTest, DecisionsByListenerResultAndReason) {
  ProxyMetrics m;
  m.decision(false, true, "federation_destination");
  m.decision(false, true, "federation_destination");
  m.decision(true, false, "sni_missing");
  m.decision(true, false, "a reason from nowhere\"}");  // never becomes a label value
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
