// Prometheus families built by hand: one unlabelled sample (the shape of most gauges and counters
// the evidence stores and the body budget expose), or one sample per value of a single label.
// Header-only: its users link prometheus-cpp already.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bordergate {

inline prometheus::ClientMetric sample(prometheus::MetricType type, std::uint64_t value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = static_cast<double>(value);
  } else {
    m.gauge.value = static_cast<double>(value);
  }
  return m;
}

inline void append_single_sample(std::vector<prometheus::MetricFamily>& out, std::string name,
                                 std::string help, prometheus::MetricType type,
                                 std::uint64_t value) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.metric.push_back(sample(type, value));
  out.push_back(std::move(f));
}

// `samples`: (label value, value) pairs of the one label `label`.
inline void append_labelled_samples(
    std::vector<prometheus::MetricFamily>& out, std::string name, std::string help,
    prometheus::MetricType type, const std::string& label,
    const std::vector<std::pair<std::string, std::uint64_t>>& samples) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  for (const auto& [value_of_label, value] : samples) {
    prometheus::ClientMetric m = sample(type, value);
    m.label.push_back(prometheus::ClientMetric::Label{label, value_of_label});
    f.metric.push_back(std::move(m));
  }
  out.push_back(std::move(f));
}

}  // namespace bordergate
