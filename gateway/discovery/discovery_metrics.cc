#include "gateway/discovery/discovery_metrics.h"

namespace bordergate::discovery {

void DiscoveryMetrics::record(const Result<ResolvedServer>& result, bool fetched_well_known,
                              bool cached_well_known, std::uint64_t elapsed_ms) {
  if (result.ok()) {
    resolved[static_cast<std::size_t>(result->route)].fetch_add(1, std::memory_order_relaxed);
  } else {
    const std::string& code = result.error().code;
    std::size_t slot = kErrors.size() - 1;  // "other"
    for (std::size_t i = 0; i + 1 < kErrors.size(); ++i) {
      if (code == kErrors[i]) slot = i;
    }
    // The grammar errors all count as one label (their codes are many and stable elsewhere).
    if (code.rfind("invalid_", 0) == 0 || code == "empty_server_name" ||
        code == "server_name_too_long") {
      slot = 4;
    }
    failed[slot].fetch_add(1, std::memory_order_relaxed);
  }
  if (fetched_well_known) well_known_fetched.fetch_add(1, std::memory_order_relaxed);
  if (cached_well_known) well_known_cache_hits.fetch_add(1, std::memory_order_relaxed);
  latency_ms_sum.fetch_add(elapsed_ms, std::memory_order_relaxed);
  latency_count.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace bordergate::discovery
