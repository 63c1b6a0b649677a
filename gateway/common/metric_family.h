// One Prometheus family with a single unlabelled sample: the shape of every gauge and counter the
// evidence stores and the body budget expose. Header-only: its users link prometheus-cpp already.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bordergate {

inline void append_single_sample(std::vector<prometheus::MetricFamily>& out, std::string name,
                                 std::string help, prometheus::MetricType type,
                                 std::uint64_t value) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = static_cast<double>(value);
  } else {
    m.gauge.value = static_cast<double>(value);
  }
  f.metric.push_back(std::move(m));
  out.push_back(std::move(f));
}

}  // namespace bordergate
