// Plain counters of outbound discovery, readable from any thread; the admin component exports
// them (bordergate_discovery_results_total{route|error}, a latency sum/count pair).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "gateway/discovery/resolution.h"

namespace bordergate::discovery {

struct DiscoveryMetrics {
  static constexpr std::size_t kRoutes = static_cast<std::size_t>(Route::kDefaultPort) + 1;
  static constexpr std::array<std::string_view, 6> kErrors = {
      "ssrf_refused", "dns_error", "no_address", "srv_service_unavailable", "invalid_server_name",
      "other"};

  std::array<std::atomic<std::uint64_t>, kRoutes> resolved{};       // by Route
  std::array<std::atomic<std::uint64_t>, kErrors.size()> failed{};  // by kErrors
  std::atomic<std::uint64_t> well_known_fetched{0};
  std::atomic<std::uint64_t> well_known_cache_hits{0};
  std::atomic<std::uint64_t> latency_ms_sum{0};
  std::atomic<std::uint64_t> latency_count{0};

  void record(const Result<ResolvedServer>& result, bool fetched_well_known, bool cached_well_known,
              std::uint64_t elapsed_ms);

  // fn(kind, label, value): kind is "resolved", "failed", or a plain counter name.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t i = 0; i < kRoutes; ++i) {
      fn("resolved", route_name(static_cast<Route>(i)), resolved[i].load());
    }
    for (std::size_t i = 0; i < kErrors.size(); ++i) fn("failed", kErrors[i], failed[i].load());
    fn("well_known_fetched", "", well_known_fetched.load());
    fn("well_known_cache_hits", "", well_known_cache_hits.load());
    fn("latency_ms_sum", "", latency_ms_sum.load());
    fn("latency_count", "", latency_count.load());
  }
};

}  // namespace bordergate::discovery
