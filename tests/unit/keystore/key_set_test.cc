// Validity rules of federation-notes §3.3 on ServerKeySet, and the LRU bound of the shared cache.
#include "gateway/keystore/key_set.h"

#include <gtest/gtest.h>

#include "gateway/keystore/key_cache.h"
#include "tests/unit/keystore/test_keys.h"

namespace bordergate::keystore {
namespace {

using testing::kDay;
using testing::kNow;

matrix::ServerKeys parsed(const matrix::JsonObject& object) {
  auto keys = matrix::parse_server_keys(matrix::Json(object));
  EXPECT_TRUE(keys.ok()) << keys.error().message;
  return std::move(keys).value();
}

class KeySetTest : public ::testing::Test {
 protected:
  matrix::SigningKey a = matrix::SigningKey::generate("a");
  matrix::SigningKey b = matrix::SigningKey::generate("b");
  matrix::SigningKey c = matrix::SigningKey::generate("c");
};

TEST_F(KeySetTest, CurrentKeyValidUntilValidUntilTs) {
  ServerKeySet set;
  set.merge(parsed(testing::key_object("s.example", {&a}, kNow + kDay)), kNow);
  EXPECT_EQ(set.find("ed25519:a", kNow).value(), a.verify_key());
  EXPECT_TRUE(set.find("ed25519:a", kNow + kDay).ok());
  EXPECT_EQ(set.find("ed25519:a", kNow + kDay + 1).error().code, "key_expired");
  EXPECT_TRUE(set.find("ed25519:a", kNow - 1000 * kDay).ok());  // rooms v5+: old events fine
  EXPECT_TRUE(set.find("ed25519:a", matrix::kAnyTime).ok());
  EXPECT_EQ(set.find("ed25519:zz", kNow).error().code, "unknown_key");
}

TEST_F(KeySetTest, SevenDayCapFromFetchTime) {
  ServerKeySet set;
  set.merge(parsed(testing::key_object("s.example", {&a}, kNow + 365 * kDay)), kNow);
  EXPECT_EQ(set.valid_until_ms(), kNow + 7 * kDay);
  EXPECT_TRUE(set.find("ed25519:a", kNow + 7 * kDay).ok());
  EXPECT_EQ(set.find("ed25519:a", kNow + 7 * kDay + 1).error().code, "key_expired");
  EXPECT_TRUE(set.find("ed25519:a", matrix::kAnyTime).ok());  // rooms v1-v4 ignore validity
  // A refetch a week later extends it.
  set.merge(parsed(testing::key_object("s.example", {&a}, kNow + 365 * kDay)), kNow + 7 * kDay);
  EXPECT_TRUE(set.find("ed25519:a", kNow + 14 * kDay).ok());
}

TEST_F(KeySetTest, OldKeysOnlyBeforeExpiredTs) {
  ServerKeySet set;
  set.merge(parsed(testing::key_object("s.example", {&b}, kNow + kDay, {{&a, kNow - kDay}})), kNow);
  EXPECT_TRUE(set.find("ed25519:a", kNow - kDay - 1).ok());
  EXPECT_EQ(set.find("ed25519:a", kNow - kDay).error().code, "key_expired");  // boundary invalid
  EXPECT_EQ(set.find("ed25519:a", kNow).error().code, "key_expired");
  EXPECT_TRUE(set.find("ed25519:a", matrix::kAnyTime).ok());
}

TEST_F(KeySetTest, RotationRetiresKeysAndKeepsTheirHistory) {
  ServerKeySet set;
  set.merge(parsed(testing::key_object("s.example", {&a}, kNow + kDay)), kNow);
  // Next answer: b is current, a retired an hour ago.
  set.merge(parsed(testing::key_object("s.example", {&b}, kNow + 3 * kDay, {{&a, kNow + kDay / 2}})),
            kNow + kDay / 2);
  EXPECT_TRUE(set.find("ed25519:a", kNow).ok());
  EXPECT_EQ(set.find("ed25519:a", kNow + kDay / 2).error().code, "key_expired");
  EXPECT_TRUE(set.find("ed25519:b", kNow + 2 * kDay).ok());
  // A key that silently disappears keeps the window it had.
  set.merge(parsed(testing::key_object("s.example", {&c}, kNow + 4 * kDay)), kNow + kDay);
  EXPECT_TRUE(set.find("ed25519:b", kNow + 2 * kDay).ok());
  EXPECT_EQ(set.find("ed25519:b", kNow + 3 * kDay + 1).error().code, "key_expired");
}

TEST_F(KeySetTest, RecordCountIsBounded) {
  ServerKeySet set;
  std::vector<matrix::SigningKey> keys;
  for (int i = 0; i < 10; ++i) keys.push_back(matrix::SigningKey::generate("k" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) {
    set.merge(parsed(testing::key_object("s.example", {&keys[static_cast<std::size_t>(i)]},
                                         kNow + i * kDay)),
              kNow, 4);
  }
  EXPECT_EQ(set.size(), 4u);
  EXPECT_TRUE(set.find("ed25519:k9", kNow).ok());
  EXPECT_EQ(set.find("ed25519:k0", kNow).error().code, "unknown_key");
}

TEST_F(KeySetTest, PinnedKeysNeverExpire) {
  ServerKeySet set;
  set.pin("ed25519:a", a.verify_key());
  EXPECT_TRUE(set.find("ed25519:a", kNow + 1000 * kDay).ok());
}

TEST_F(KeySetTest, CacheEvictsLeastRecentlyUsedServers) {
  ServerKeyCache cache(16);  // 16 shards: one server per shard
  const auto keys = parsed(testing::key_object("s.example", {&a}, kNow + kDay));
  for (int i = 0; i < 200; ++i) {
    matrix::ServerKeys copy = keys;
    cache.merge("s" + std::to_string(i) + ".example", copy, kNow);
  }
  EXPECT_LE(cache.size(), 16u);
  EXPECT_GE(cache.evictions(), 184u);
  EXPECT_TRUE(cache.find("s199.example", "ed25519:a", kNow).has_value());
  EXPECT_FALSE(cache.find("nothing.example", "ed25519:a", kNow).has_value());
}

}  // namespace
}  // namespace bordergate::keystore
