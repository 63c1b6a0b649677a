#include "gateway/discovery/well_known_cache.h"

#include <algorithm>

namespace bordergate::discovery {

std::optional<WellKnownCacheEntry> WellKnownCache::find(std::string_view server_name) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(server_name);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void WellKnownCache::store(std::string_view server_name, WellKnownCacheEntry entry) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(server_name);
  if (it != entries_.end()) {
    it->second = std::move(entry);
    return;
  }
  if (max_entries_ == 0) return;
  if (entries_.size() >= max_entries_) {
    // Linear scan: eviction only happens when an attacker floods us with names, and then the
    // cost is bounded by max_entries per insert, far below the fetch it replaces.
    auto victim = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_at_ms < b.second.expires_at_ms;
    });
    entries_.erase(victim);
  }
  entries_.emplace(std::string(server_name), std::move(entry));
}

std::size_t WellKnownCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace bordergate::discovery
