// Prometheus families for the quarantine's size, for the admin endpoint to
// append to its exposition. The caller refreshes the StoreStats snapshot
// (QuarantineStore::stats() is one indexed SQL query) off the event loop.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "gateway/quarantine/quarantine_store.h"

namespace bordergate::quarantine {

// bordergate_quarantine_held (entries held), bordergate_quarantine_denied (denied entries),
// bordergate_quarantine_held_bytes (held + denied),
// bordergate_quarantine_entries (all entries, any status).
void append_quarantine_metrics(const StoreStats& stats, std::vector<prometheus::MetricFamily>& out);

}  // namespace bordergate::quarantine
