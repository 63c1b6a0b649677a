#include "gateway/quarantine/quarantine_metrics.h"

#include "gateway/common/metric_family.h"

namespace bordergate::quarantine {

void append_quarantine_metrics(const StoreStats& s, std::vector<prometheus::MetricFamily>& out) {
  auto gauge = [&out](const char* name, const char* help, std::uint64_t value) {
    append_single_sample(out, name, help, prometheus::MetricType::Gauge, value);
  };
  gauge("bordergate_quarantine_held", "Quarantined requests waiting for release or drop",
        s.held_count);
  gauge("bordergate_quarantine_denied", "Denied transactions waiting for release or drop",
        s.denied_count);
  gauge("bordergate_quarantine_held_bytes",
        "Bytes of held and denied transactions waiting for a person (counted against max_bytes)",
        s.held_bytes);
  gauge("bordergate_quarantine_evidence",
        "Originals of events delivered redacted in answers, kept as evidence", s.evidence_count);
  gauge("bordergate_quarantine_evidence_bytes",
        "Bytes of evidence entries (their own budget of max_bytes)", s.evidence_bytes);
  gauge("bordergate_quarantine_entries", "Entries in the quarantine store, any status",
        s.total_count);
}

}  // namespace bordergate::quarantine
