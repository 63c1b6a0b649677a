// Prometheus families for the audit log's counters, for the admin endpoint to
// append to its exposition (prometheus-cpp types; values come from a stats
// snapshot, so scraping never touches the writer's queue lock for long).
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "gateway/audit/audit_log.h"

namespace bordergate::audit {

// bordergate_audit_records_written_total, _records_dropped_total,
// _write_errors_total, _refused_total (counters);
// bordergate_audit_accepting, _reserved, _queue_depth, _queue_capacity, _last_seq (gauges).
void append_audit_metrics(const AuditStats& stats, std::vector<prometheus::MetricFamily>& out);

}  // namespace bordergate::audit
