// The gateway's Prometheus metrics. Per-request metrics (request counts,
// body bytes, latency histogram) live in per-worker shards of relaxed atomics
// that only their worker writes and that are summed when scraped: no lock and
// no cache line shared between cores on the data path (prometheus-cpp's
// Histogram takes a mutex per observation). Rare events use prometheus-cpp
// counters in a Registry. Every label value comes from a small fixed set.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/common/path_class.h"

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

// One worker's view: writes only its own shard.
class WorkerMetrics {
 public:
  WorkerMetrics(Metrics& metrics, unsigned index);
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  void request_done(Direction d, PathClass e, int status, std::chrono::nanoseconds latency,
                    std::uint64_t bytes_in, std::uint64_t bytes_out);
  void connection_opened();
  void connection_closed();
  void tls_handshake_failed();
  void upstream_error(UpstreamErrorKind kind);
  void connection_rejected();

 private:
  Metrics& m_;
  unsigned index_;
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
  // Families owned by other components (key store, discovery), appended at every scrape. Set
  // before the admin listener starts; the function must stay valid while scrapes can happen.
  void set_extra_source(std::function<void(std::vector<prometheus::MetricFamily>&)> source) {
    extra_source_ = std::move(source);
  }
  // Prometheus text exposition format.
  std::string serialize() const;

 private:
  friend class WorkerMetrics;
  static constexpr size_t kDirections = kDirectionCount;
  static constexpr size_t kSeries = kDirections * kPathClassCount;  // direction x endpoint
  static constexpr size_t kCodes = 500;                             // status 100..599
  struct alignas(64) Shard {
    std::array<std::array<std::atomic<std::uint64_t>, kCodes>, kSeries> requests{};
    std::array<std::array<std::atomic<std::uint64_t>, kBuckets + 1>, kSeries> buckets{};
    std::array<std::atomic<std::uint64_t>, kSeries> sum_ns{};
    std::array<std::atomic<std::uint64_t>, kDirections> bytes_in{};
    std::array<std::atomic<std::uint64_t>, kDirections> bytes_out{};
  };
  void append_shard_families(std::vector<prometheus::MetricFamily>& out) const;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge& open_connections_;
  prometheus::Counter& tls_failures_;
  prometheus::Counter& rejected_connections_;
  std::array<prometheus::Counter*, kUpstreamErrorKinds> upstream_errors_{};
  prometheus::Counter* reloads_ok_ = nullptr;
  prometheus::Counter* reloads_failed_ = nullptr;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  std::function<void(std::vector<prometheus::MetricFamily>&)> extra_source_;
};

}  // namespace bordergate
