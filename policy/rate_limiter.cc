// Token bucket arithmetic: refill continuously at per_second up to burst, then spend.
#include "policy/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "policy/glob.h"

namespace bordergate::policy {

RateLimiter::RateLimiter(std::size_t max_origins)
    : per_shard_(std::max<std::size_t>(1, max_origins / kShards)) {}

RateLimiter::Verdict RateLimiter::acquire(std::string_view origin_in, const RateLimit& rate,
                                          Clock::time_point now, double cost) {
  if (rate.per_second <= 0) return {};
  // Server names are case-insensitive: one bucket per name however it is spelled.
  const std::string origin = ascii_lower(origin_in);
  Shard& shard = shards_[std::hash<std::string_view>{}(origin) % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);

  auto it = shard.buckets.find(origin);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_) {
      shard.buckets.erase(shard.lru.back());
      shard.lru.pop_back();
    }
    shard.lru.push_front(origin);
    it = shard.buckets.emplace(origin, Bucket{rate.burst, now, shard.lru.begin()}).first;
  } else {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
  }
  Bucket& b = it->second;
  if (now > b.last) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(rate.burst, b.tokens + elapsed * rate.per_second);
    b.last = now;
  }
  // A reload may have lowered the burst: never keep more than the new burst.
  b.tokens = std::min(b.tokens, rate.burst);
  if (b.tokens >= cost) {
    b.tokens -= cost;
    return {};
  }
  const double wait = (cost - b.tokens) / rate.per_second;
  return {false, std::chrono::milliseconds(static_cast<long long>(std::ceil(wait * 1000.0)))};
}

std::size_t RateLimiter::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mutex);
    n += s.buckets.size();
  }
  return n;
}

}  // namespace bordergate::policy
