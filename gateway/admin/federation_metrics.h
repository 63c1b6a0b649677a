// Prometheus families for the key store and outbound discovery counters (plain atomics owned by
// those components), built at scrape time. Every label value comes from a fixed set.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "gateway/discovery/discovery_metrics.h"
#include "gateway/keystore/key_store_metrics.h"

namespace bordergate {

// bordergate_key_lookups_total{result}, bordergate_key_fetches_total{result},
// bordergate_key_persisted_responses_total{result}.
void append_key_store_families(const keystore::KeyStoreMetrics& metrics,
                               std::vector<prometheus::MetricFamily>& out);
// bordergate_discovery_results_total{result} (a route or an error class),
// bordergate_discovery_well_known_total{source="fetched|cache"},
// bordergate_discovery_duration_seconds (summary: sum and count), summed over workers.
void append_discovery_families(const std::vector<const discovery::DiscoveryMetrics*>& workers,
                               std::vector<prometheus::MetricFamily>& out);

}  // namespace bordergate
