// The gateway's Prometheus metrics. Counters and gauges live in a
// prometheus::Registry; request latency uses per-worker histogram shards of
// relaxed atomics (prometheus-cpp's Histogram takes a mutex per observation,
// which would put a shared lock on the data path) and is merged when scraped.
// Every label value comes from a small fixed set.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/common/endpoint_class.h"

namespace bordergate {

enum class UpstreamErrorKind : unsigned char {
  connect_refused,
  connect_timeout,
  reset,
  response_timeout,
  tls,
  protocol,
  other
};
inline constexpr size_t kUpstreamErrorKinds = 7;

class Metrics;

// One worker's view: caches counter pointers so the data path never takes
// the registry's family mutex after warm-up, and owns its histogram shard.
class WorkerMetrics {
 public:
  WorkerMetrics(Metrics& metrics, unsigned index);
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  void request_done(Direction d, EndpointClass e, int status, std::chrono::nanoseconds latency,
                    std::uint64_t bytes_in, std::uint64_t bytes_out);
  void connection_opened();
  void connection_closed();
  void tls_handshake_failed();
  void upstream_error(UpstreamErrorKind kind);
  void connection_rejected();

 private:
  Metrics& m_;
  unsigned index_;
  // [endpoint][status 100..599]
  std::vector<prometheus::Counter*> requests_;
};

class Metrics {
 public:
  static constexpr size_t kBuckets = 14;
  static constexpr std::array<double, kBuckets> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  explicit Metrics(unsigned workers);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  WorkerMetrics& worker(unsigned i) { return *workers_[i]; }
  void config_reload(bool ok);
  // Prometheus text exposition format.
  std::string serialize() const;

 private:
  friend class WorkerMetrics;
  struct alignas(64) Shard {
    std::array<std::array<std::atomic<std::uint64_t>, kBuckets + 1>, kEndpointClassCount> buckets{};
    std::array<std::atomic<std::uint64_t>, kEndpointClassCount> sum_ns{};
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Gauge& open_connections_;
  prometheus::Counter& bytes_in_;
  prometheus::Counter& bytes_out_;
  prometheus::Counter& tls_failures_;
  prometheus::Counter& rejected_connections_;
  std::array<prometheus::Counter*, kUpstreamErrorKinds> upstream_errors_{};
  prometheus::Counter* reloads_ok_ = nullptr;
  prometheus::Counter* reloads_failed_ = nullptr;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
};

}  // namespace bordergate
