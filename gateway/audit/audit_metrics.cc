#include "gateway/audit/audit_metrics.h"

#include "gateway/common/metric_family.h"

namespace bordergate::audit {
namespace {

void add(std::vector<prometheus::MetricFamily>& out, const char* name, const char* help,
         prometheus::MetricType type, std::uint64_t value) {
  append_single_sample(out, name, help, type, value);
}

}  // namespace

void append_audit_metrics(const AuditStats& s, std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  add(out, "bordergate_audit_records_written_total",
      "Lines appended to the audit chain (bookkeeping records included)", MetricType::Counter,
      s.records_written);
  add(out, "bordergate_audit_records_dropped_total",
      "Audit records lost because the queue stayed full or writes kept failing",
      MetricType::Counter, s.records_dropped);
  add(out, "bordergate_audit_write_errors_total", "Failed writes or fsyncs of the audit file",
      MetricType::Counter, s.write_errors);
  add(out, "bordergate_audit_refused_total",
      "Requests refused (503) because the audit log could not take their record",
      MetricType::Counter, s.reservations_refused);
  add(out, "bordergate_audit_accepting",
      "1 while the audit log takes records; 0 while writes fail or the queue is full (the "
      "gateway then refuses new work)",
      MetricType::Gauge, s.accepting ? 1 : 0);
  add(out, "bordergate_audit_reserved", "Places in the audit queue held for requests in flight",
      MetricType::Gauge, s.reserved);
  add(out, "bordergate_audit_queue_depth", "Audit records waiting for the writer thread",
      MetricType::Gauge, s.queue_depth);
  add(out, "bordergate_audit_queue_capacity", "Capacity of the audit queue", MetricType::Gauge,
      s.queue_capacity);
  add(out, "bordergate_audit_last_seq", "seq of the last record in the audit chain",
      MetricType::Gauge, s.last_seq);
}

}  // namespace bordergate::audit
