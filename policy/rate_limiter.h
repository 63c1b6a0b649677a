// Token buckets per origin server. The state lives here, outside the immutable policy, so
// it survives reloads; the bucket parameters come from the policy in force at each call.
// Thread-safe: one instance is shared by all workers, sharded by origin to keep lock
// contention low. Memory is bounded: each shard evicts its least recently used origin.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "policy/policy.h"
#include "policy/server_index.h"

namespace bordergate::policy {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `max_origins` bounds the number of buckets kept (at least one per shard).
  explicit RateLimiter(std::size_t max_origins = 65536);

  struct Verdict {
    bool admitted = true;
    std::chrono::milliseconds retry_after{0};  // for Retry-After / retry_after_ms when refused
  };

  // Takes `cost` tokens from `origin`'s bucket at time `now` (passed in: the limiter never
  // reads a clock). rate.per_second == 0 means unlimited. A new origin starts full.
  Verdict acquire(std::string_view origin, const RateLimit& rate, Clock::time_point now,
                  double cost = 1.0);

  std::size_t size() const;
  std::size_t capacity() const { return kShards * per_shard_; }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
    std::list<std::string>::iterator lru;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket, StringHash, std::equal_to<>> buckets;
    std::list<std::string> lru;  // front = most recently used
  };
  static constexpr std::size_t kShards = 16;
  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace bordergate::policy
