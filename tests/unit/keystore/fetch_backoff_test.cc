// Negative caching: exponential backoff per server, reset on success, bounded memory.
#include "gateway/keystore/fetch_backoff.h"

#include <gtest/gtest.h>

namespace bordergate::keystore {
namespace {

TEST(FetchBackoffTest, DoublesUpToTheCapAndResets) {
  FetchBackoff backoff({1000, 8000, 100});
  EXPECT_EQ(backoff.blocked_until("s", 0), 0);
  backoff.record_failure("s", 0);
  EXPECT_EQ(backoff.blocked_until("s", 0), 1000);
  EXPECT_EQ(backoff.blocked_until("s", 999), 1000);
  EXPECT_EQ(backoff.blocked_until("s", 1000), 0);
  backoff.record_failure("s", 1000);
  EXPECT_EQ(backoff.blocked_until("s", 1000), 3000);
  backoff.record_failure("s", 3000);
  EXPECT_EQ(backoff.blocked_until("s", 3000), 7000);
  backoff.record_failure("s", 7000);
  EXPECT_EQ(backoff.blocked_until("s", 7000), 15000);
  for (int i = 0; i < 100; ++i) backoff.record_failure("s", 20000);
  EXPECT_EQ(backoff.blocked_until("s", 20000), 28000);
  EXPECT_EQ(backoff.blocked_until("other", 20000), 0);
  backoff.record_success("s");
  EXPECT_EQ(backoff.blocked_until("s", 20000), 0);
  EXPECT_EQ(backoff.failures("s"), 0);
}

TEST(FetchBackoffTest, BoundedNumberOfServers) {
  FetchBackoff backoff({1000, 8000, 10});
  for (int i = 0; i < 1000; ++i) backoff.record_failure("s" + std::to_string(i), i);
  EXPECT_EQ(backoff.size(), 10u);
  EXPECT_NE(backoff.blocked_until("s999", 999), 0);  // the newest survive
}

}  // namespace
}  // namespace bordergate::keystore
