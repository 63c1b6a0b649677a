#include "gateway/admin/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <limits>

namespace bordergate {
namespace {

constexpr std::array<const char*, kUpstreamErrorKinds> kUpstreamErrorNames = {
    "connect_refused", "connect_timeout", "reset", "response_timeout", "tls", "protocol", "other"};

const char* status_class(int status) {
  switch (status / 100) {
    case 1:
      return "1xx";
    case 2:
      return "2xx";
    case 3:
      return "3xx";
    case 4:
      return "4xx";
    default:
      return "5xx";
  }
}

}  // namespace

Metrics::Metrics(unsigned workers)
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("bordergate_requests_total")
                    .Help("HTTP requests handled, by direction, endpoint class and status")
                    .Register(*registry_)),
      open_connections_(prometheus::BuildGauge()
                            .Name("bordergate_open_connections")
                            .Help("Client connections currently open")
                            .Register(*registry_)
                            .Add({{"direction", "inbound"}})),
      bytes_in_(prometheus::BuildCounter()
                    .Name("bordergate_request_body_bytes_total")
                    .Help("Request body bytes received from clients")
                    .Register(*registry_)
                    .Add({{"direction", "inbound"}})),
      bytes_out_(prometheus::BuildCounter()
                     .Name("bordergate_response_body_bytes_total")
                     .Help("Response body bytes sent to clients")
                     .Register(*registry_)
                     .Add({{"direction", "inbound"}})),
      tls_failures_(prometheus::BuildCounter()
                        .Name("bordergate_tls_handshake_failures_total")
                        .Help("TLS handshakes with clients that failed")
                        .Register(*registry_)
                        .Add({{"direction", "inbound"}})),
      rejected_connections_(prometheus::BuildCounter()
                                .Name("bordergate_rejected_connections_total")
                                .Help("Connections closed at accept because a worker was full")
                                .Register(*registry_)
                                .Add({})) {
  auto& reloads = prometheus::BuildCounter()
                      .Name("bordergate_config_reloads_total")
                      .Help("Configuration reloads by result")
                      .Register(*registry_);
  reloads_ok_ = &reloads.Add({{"result", "success"}});
  reloads_failed_ = &reloads.Add({{"result", "failure"}});
  auto& upstream = prometheus::BuildCounter()
                       .Name("bordergate_upstream_errors_total")
                       .Help("Failed exchanges with the Core upstream, by kind")
                       .Register(*registry_);
  for (size_t i = 0; i < kUpstreamErrorKinds; ++i) {
    upstream_errors_[i] = &upstream.Add({{"kind", kUpstreamErrorNames[i]}});
  }
  for (unsigned i = 0; i < workers; ++i) shards_.push_back(std::make_unique<Shard>());
  for (unsigned i = 0; i < workers; ++i)
    workers_.push_back(std::make_unique<WorkerMetrics>(*this, i));
}

void Metrics::config_reload(bool ok) { (ok ? reloads_ok_ : reloads_failed_)->Increment(); }

std::string Metrics::serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  prometheus::MetricFamily hist;
  hist.name = "bordergate_request_duration_seconds";
  hist.help = "Time from the first byte of a request to the end of its response";
  hist.type = prometheus::MetricType::Histogram;
  for (size_t e = 0; e < kEndpointClassCount; ++e) {
    prometheus::ClientMetric m;
    m.label = {{"direction", "inbound"}, {"endpoint", std::string(kEndpointClassNames[e])}};
    std::uint64_t cumulative = 0;
    std::uint64_t sum_ns = 0;
    std::array<std::uint64_t, kBuckets + 1> counts{};
    for (const auto& s : shards_) {
      for (size_t b = 0; b <= kBuckets; ++b)
        counts[b] += s->buckets[e][b].load(std::memory_order_relaxed);
      sum_ns += s->sum_ns[e].load(std::memory_order_relaxed);
    }
    for (size_t b = 0; b < kBuckets; ++b) {
      cumulative += counts[b];
      m.histogram.bucket.push_back({cumulative, kBounds[b]});
    }
    cumulative += counts[kBuckets];
    m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = static_cast<double>(sum_ns) / 1e9;
    hist.metric.push_back(std::move(m));
  }
  families.push_back(std::move(hist));
  return prometheus::TextSerializer().Serialize(families);
}

WorkerMetrics::WorkerMetrics(Metrics& metrics, unsigned index)
    : m_(metrics), index_(index), requests_(kEndpointClassCount * 500, nullptr) {}

void WorkerMetrics::request_done(Direction d, EndpointClass e, int status,
                                 std::chrono::nanoseconds latency, std::uint64_t bytes_in,
                                 std::uint64_t bytes_out) {
  if (status < 100 || status > 599) status = 599;
  size_t slot = static_cast<size_t>(e) * 500 + static_cast<size_t>(status - 100);
  prometheus::Counter*& c = requests_[slot];
  if (c == nullptr) {
    // First request of this kind on this worker: the only mutex taken.
    c = &m_.requests_.Add({{"direction", std::string(direction_name(d))},
                           {"endpoint", std::string(endpoint_class_name(e))},
                           {"status_class", status_class(status)},
                           {"code", std::to_string(status)}});
  }
  c->Increment();
  double seconds = static_cast<double>(latency.count()) / 1e9;
  size_t b = 0;
  while (b < Metrics::kBuckets && seconds > Metrics::kBounds[b]) ++b;
  Metrics::Shard& s = *m_.shards_[index_];
  s.buckets[static_cast<size_t>(e)][b].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns[static_cast<size_t>(e)].fetch_add(static_cast<std::uint64_t>(latency.count()),
                                             std::memory_order_relaxed);
  if (bytes_in) m_.bytes_in_.Increment(static_cast<double>(bytes_in));
  if (bytes_out) m_.bytes_out_.Increment(static_cast<double>(bytes_out));
}

void WorkerMetrics::connection_opened() { m_.open_connections_.Increment(); }
void WorkerMetrics::connection_closed() { m_.open_connections_.Decrement(); }
void WorkerMetrics::tls_handshake_failed() { m_.tls_failures_.Increment(); }
void WorkerMetrics::connection_rejected() { m_.rejected_connections_.Increment(); }
void WorkerMetrics::upstream_error(UpstreamErrorKind kind) {
  m_.upstream_errors_[static_cast<size_t>(kind)]->Increment();
}

}  // namespace bordergate
