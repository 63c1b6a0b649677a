// The well-known results of every worker, shared: one entry per server name with its expiry and
// failure count (for the backoff). Bounded: when full, the entry that expires first is evicted.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/discovery/well_known.h"

namespace bordergate::discovery {

class WellKnownCache {
 public:
  explicit WellKnownCache(std::size_t max_entries = 10000) : max_entries_(max_entries) {}

  // Also returns stale entries: the resolution decides about freshness and uses the failure count.
  std::optional<WellKnownCacheEntry> find(std::string_view server_name) const;
  void store(std::string_view server_name, WellKnownCacheEntry entry);
  std::size_t size() const;

 private:
  std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::map<std::string, WellKnownCacheEntry, std::less<>> entries_;
};

}  // namespace bordergate::discovery
