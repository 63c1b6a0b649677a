#include "gateway/keystore/key_cache.h"

#include <functional>

namespace bordergate::keystore {

ServerKeyCache::ServerKeyCache(std::size_t max_servers)
    : max_per_shard_(std::max<std::size_t>(1, (max_servers + kShards - 1) / kShards)) {}

ServerKeyCache::Shard& ServerKeyCache::shard_for(std::string_view server) {
  return shards_[std::hash<std::string_view>{}(server) % kShards];
}
const ServerKeyCache::Shard& ServerKeyCache::shard_for(std::string_view server) const {
  return shards_[std::hash<std::string_view>{}(server) % kShards];
}

std::optional<CachedLookup> ServerKeyCache::find(std::string_view server, std::string_view key_id,
                                                 std::int64_t valid_at_ms) {
  Shard& shard = shard_for(server);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(std::string(server));
  if (it == shard.entries.end()) return std::nullopt;
  shard.order.splice(shard.order.begin(), shard.order, it->second.lru);
  const ServerKeySet& keys = it->second.keys;
  return CachedLookup{keys.find(key_id, valid_at_ms), keys.valid_until_ms(), keys.fetched_at_ms()};
}

void ServerKeyCache::merge(std::string_view server, const matrix::ServerKeys& keys,
                           std::int64_t fetched_at_ms) {
  Shard& shard = shard_for(server);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(std::string(server));
  if (it == shard.entries.end()) {
    while (shard.entries.size() >= max_per_shard_ && !shard.order.empty()) {
      shard.entries.erase(shard.order.back());
      shard.order.pop_back();
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    shard.order.emplace_front(server);
    it = shard.entries.emplace(std::string(server), Entry{ServerKeySet{}, shard.order.begin()}).first;
  } else {
    shard.order.splice(shard.order.begin(), shard.order, it->second.lru);
  }
  it->second.keys.merge(keys, fetched_at_ms);
}

std::optional<ServerKeySet> ServerKeyCache::snapshot(std::string_view server) const {
  const Shard& shard = shard_for(server);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(std::string(server));
  if (it == shard.entries.end()) return std::nullopt;
  return it->second.keys;
}

std::size_t ServerKeyCache::size() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.entries.size();
  }
  return total;
}

}  // namespace bordergate::keystore
