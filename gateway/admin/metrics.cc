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
      open_connections_(prometheus::BuildGauge()
                            .Name("bordergate_open_connections")
                            .Help("Client connections currently open")
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

namespace {

prometheus::ClientMetric counter_metric(std::vector<prometheus::ClientMetric::Label> labels,
                                        std::uint64_t value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = static_cast<double>(value);
  return m;
}

}  // namespace

void Metrics::append_shard_families(std::vector<prometheus::MetricFamily>& out) const {
  auto load = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };

  prometheus::MetricFamily requests;
  requests.name = "bordergate_requests_total";
  requests.help = "HTTP requests handled, by direction, endpoint class and status";
  requests.type = prometheus::MetricType::Counter;
  prometheus::MetricFamily hist;
  hist.name = "bordergate_request_duration_seconds";
  hist.help = "Time from the first byte of a request to the end of its response";
  hist.type = prometheus::MetricType::Histogram;
  for (size_t series = 0; series < kSeries; ++series) {
    const std::string direction(direction_label(series / kPathClassCount));
    const std::string endpoint(kPathClassNames[series % kPathClassCount]);
    for (size_t code = 0; code < kCodes; ++code) {
      std::uint64_t n = 0;
      for (const auto& s : shards_) n += load(s->requests[series][code]);
      if (n == 0) continue;  // only combinations that occurred are exposed
      int status = static_cast<int>(code) + 100;
      requests.metric.push_back(counter_metric({{"direction", direction},
                                                {"endpoint", endpoint},
                                                {"status_class", status_class(status)},
                                                {"code", std::to_string(status)}},
                                               n));
    }
    std::array<std::uint64_t, kBuckets + 1> counts{};
    std::uint64_t sum_ns = 0;
    for (const auto& s : shards_) {
      for (size_t b = 0; b <= kBuckets; ++b) counts[b] += load(s->buckets[series][b]);
      sum_ns += load(s->sum_ns[series]);
    }
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    // Outbound series appear once the Core has sent traffic through the proxy.
    if (series >= kPathClassCount && total == 0) continue;
    prometheus::ClientMetric m;
    m.label = {{"direction", direction}, {"endpoint", endpoint}};
    std::uint64_t cumulative = 0;
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

  prometheus::MetricFamily in;
  in.name = "bordergate_request_body_bytes_total";
  in.help = "Request body bytes received";
  in.type = prometheus::MetricType::Counter;
  prometheus::MetricFamily outb;
  outb.name = "bordergate_response_body_bytes_total";
  outb.help = "Response body bytes sent";
  outb.type = prometheus::MetricType::Counter;
  for (size_t d = 0; d < kDirections; ++d) {
    std::uint64_t bi = 0;
    std::uint64_t bo = 0;
    for (const auto& s : shards_) {
      bi += load(s->bytes_in[d]);
      bo += load(s->bytes_out[d]);
    }
    if (d != 0 && bi == 0 && bo == 0) continue;
    const std::string direction(direction_label(d));
    in.metric.push_back(counter_metric({{"direction", direction}}, bi));
    outb.metric.push_back(counter_metric({{"direction", direction}}, bo));
  }
  out.push_back(std::move(requests));
  out.push_back(std::move(hist));
  out.push_back(std::move(in));
  out.push_back(std::move(outb));
}

std::string Metrics::serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  append_shard_families(families);
  if (extra_source_) extra_source_(families);
  return prometheus::TextSerializer().Serialize(families);
}

WorkerMetrics::WorkerMetrics(Metrics& metrics, unsigned index) : m_(metrics), index_(index) {}

void WorkerMetrics::request_done(Direction d, PathClass e, int status,
                                 std::chrono::nanoseconds latency, std::uint64_t bytes_in,
                                 std::uint64_t bytes_out) {
  if (status < 100 || status > 599) status = 599;
  Metrics::Shard& s = *m_.shards_[index_];
  size_t series = direction_index(d) * kPathClassCount + static_cast<size_t>(e);
  // Only this worker writes its shard: relaxed adds never contend.
  constexpr auto relaxed = std::memory_order_relaxed;
  s.requests[series][static_cast<size_t>(status - 100)].fetch_add(1, relaxed);
  double seconds = static_cast<double>(latency.count()) / 1e9;
  size_t b = 0;
  while (b < Metrics::kBuckets && seconds > Metrics::kBounds[b]) ++b;
  s.buckets[series][b].fetch_add(1, relaxed);
  s.sum_ns[series].fetch_add(static_cast<std::uint64_t>(latency.count()), relaxed);
  s.bytes_in[direction_index(d)].fetch_add(bytes_in, relaxed);
  s.bytes_out[direction_index(d)].fetch_add(bytes_out, relaxed);
}

void WorkerMetrics::connection_opened() { m_.open_connections_.Increment(); }
void WorkerMetrics::connection_closed() { m_.open_connections_.Decrement(); }
void WorkerMetrics::tls_handshake_failed() { m_.tls_failures_.Increment(); }
void WorkerMetrics::connection_rejected() { m_.rejected_connections_.Increment(); }
void WorkerMetrics::upstream_error(UpstreamErrorKind kind) {
  m_.upstream_errors_[static_cast<size_t>(kind)]->Increment();
}

}  // namespace bordergate
