// RateLimiter: burst, refill, retry-after, eviction, case folding, and state that
// survives a policy reload (the limiter is independent of the policy object).
#include "policy/rate_limiter.h"

#include <gtest/gtest.h>

#include "policy/store.h"
#include "test_util.h"

namespace bordergate::policy {
namespace {

using namespace std::chrono_literals;
const RateLimiter::Clock::time_point t0{};

TEST(RateLimiter, BurstThenRefill) {
  RateLimiter rl;
  const RateLimit rate{2.0, 5.0};  // 2 tokens per second, bucket of 5
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.acquire("a.example", rate, t0).admitted) << i;
  auto refused = rl.acquire("a.example", rate, t0);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, 500ms);
  EXPECT_FALSE(rl.acquire("a.example", rate, t0 + 400ms).admitted);  // 0.8 tokens
  EXPECT_TRUE(rl.acquire("a.example", rate, t0 + 500ms).admitted);   // 1.0 token
  EXPECT_FALSE(rl.acquire("a.example", rate, t0 + 500ms).admitted);
  // A long pause refills only up to the burst.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.acquire("a.example", rate, t0 + 1h).admitted);
  EXPECT_FALSE(rl.acquire("a.example", rate, t0 + 1h).admitted);
}

TEST(RateLimiter, OriginsAreIndependentAndCaseFolded) {
  RateLimiter rl;
  const RateLimit rate{1.0, 1.0};
  EXPECT_TRUE(rl.acquire("a.example", rate, t0).admitted);
  EXPECT_FALSE(rl.acquire("A.Example", rate, t0).admitted);
  EXPECT_TRUE(rl.acquire("b.example", rate, t0).admitted);
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, UnlimitedKeepsNoState) {
  RateLimiter rl;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(rl.acquire("a.example", RateLimit{}, t0).admitted);
  EXPECT_EQ(rl.size(), 0u);
}

TEST(RateLimiter, MemoryIsBoundedByEviction) {
  RateLimiter rl(64);
  const RateLimit rate{1.0, 1.0};
  for (int i = 0; i < 10000; ++i) {
    rl.acquire("s" + std::to_string(i) + ".example", rate, t0);
  }
  EXPECT_LE(rl.size(), rl.capacity());
  EXPECT_EQ(rl.capacity(), 64u);
}

TEST(RateLimiter, RecentlyUsedOriginsSurviveEviction) {
  RateLimiter rl(32);  // two buckets per shard
  const RateLimit rate{0.001, 1.0};
  EXPECT_TRUE(rl.acquire("busy.example", rate, t0).admitted);
  // A flood of new origins evicts the least recently used bucket, never the busy one: had
  // it been evicted, it would come back full and be admitted.
  for (int i = 0; i < 1000; ++i) {
    rl.acquire("other" + std::to_string(i) + ".example", rate, t0);
    ASSERT_FALSE(rl.acquire("busy.example", rate, t0).admitted) << i;
  }
  EXPECT_LE(rl.size(), 32u);
}

TEST(RateLimiter, StateSurvivesPolicyReload) {
  const char* v1 =
      "version: 1\nserver_name: c.example\nfederations: {p: {servers: [p.example]}}\n"
      "settings:\n  - {id: s, federation: p, limits: {rate: {per_second: 1, burst: 3}}}\n";
  const char* v2 =
      "version: 1\nserver_name: c.example\nfederations: {p: {servers: [p.example]}}\n"
      "settings:\n  - {id: s, federation: p, limits: {rate: {per_second: 1, burst: 2}}}\n";
  PolicyStore store(testing::must_load(v1));
  RateLimiter rl;
  auto rate_now = [&] {
    return resolve_settings(*store.snapshot(), std::string("p.example"), Direction::inbound).rate;
  };
  EXPECT_TRUE(rl.acquire("p.example", rate_now(), t0).admitted);
  EXPECT_TRUE(rl.acquire("p.example", rate_now(), t0).admitted);
  store.replace(testing::must_load(v2));
  EXPECT_EQ(rate_now().burst, 2);
  // One token left from before the reload: the bucket was not reset by it.
  EXPECT_TRUE(rl.acquire("p.example", rate_now(), t0).admitted);
  EXPECT_FALSE(rl.acquire("p.example", rate_now(), t0).admitted);
  // The lower burst caps the refill.
  EXPECT_TRUE(rl.acquire("p.example", rate_now(), t0 + 10s).admitted);
  EXPECT_TRUE(rl.acquire("p.example", rate_now(), t0 + 10s).admitted);
  EXPECT_FALSE(rl.acquire("p.example", rate_now(), t0 + 10s).admitted);
}

}  // namespace
}  // namespace bordergate::policy
