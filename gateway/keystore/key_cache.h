// The fetched server keys of every worker in one place: thread-safe (sharded locks, so workers
// rarely contend) and bounded (least recently used servers are evicted per shard).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/keystore/key_set.h"

namespace bordergate::keystore {

struct CachedLookup {
  Result<matrix::VerifyKey> key;    // the ServerKeySet::find answer
  std::int64_t valid_until_ms = 0;  // of the server's key list (decides whether to refetch)
  std::int64_t fetched_at_ms = 0;
};

class ServerKeyCache {
 public:
  explicit ServerKeyCache(std::size_t max_servers = 100000);

  // nullopt: nothing cached for the server at all.
  std::optional<CachedLookup> find(std::string_view server, std::string_view key_id,
                                   std::int64_t valid_at_ms);
  void merge(std::string_view server, const matrix::ServerKeys& keys, std::int64_t fetched_at_ms);
  std::optional<ServerKeySet> snapshot(std::string_view server) const;

  std::size_t size() const;
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    ServerKeySet keys;
    std::list<std::string>::iterator lru;  // position in Shard::order (front = most recent)
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> order;
  };
  Shard& shard_for(std::string_view server);
  const Shard& shard_for(std::string_view server) const;

  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace bordergate::keystore
