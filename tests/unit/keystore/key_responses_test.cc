// Verification of fetched key bodies: self-signatures, notary signatures, server-name binding,
// size and key-count limits.
#include "gateway/keystore/key_responses.h"

#include <gtest/gtest.h>

#include "gateway/keystore/key_fetcher.h"
#include "tests/unit/keystore/test_keys.h"

namespace bordergate::keystore {
namespace {

using testing::kDay;
using testing::kNow;

class KeyResponsesTest : public ::testing::Test {
 protected:
  matrix::SigningKey key = matrix::SigningKey::generate("k1");
  matrix::SigningKey other = matrix::SigningKey::generate("k1");  // same id, different key
  matrix::SigningKey notary_key = matrix::SigningKey::generate("n");
  matrix::SigningKey wrong_notary_key = matrix::SigningKey::generate("n");
  matrix::StaticKeyRing notary_ring;

  void SetUp() override {
    ASSERT_TRUE(notary_ring.add("notary.example", notary_key.key_id(), notary_key.verify_key()).ok());
  }
};

TEST_F(KeyResponsesTest, AcceptsSelfSignedResponse) {
  auto keys = verify_server_response(
      testing::body(testing::key_object("s.example", {&key}, kNow + kDay)), "s.example");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->server_name, "s.example");
  EXPECT_EQ(keys->verify_keys.at("ed25519:k1"), key.verify_key());
  EXPECT_EQ(keys->valid_until_ts, kNow + kDay);
}

TEST_F(KeyResponsesTest, AcceptsAlreadyExpiredResponseForHistory) {
  auto keys = verify_server_response(
      testing::body(testing::key_object("s.example", {&key}, kNow - kDay)), "s.example");
  ASSERT_TRUE(keys.ok());
}

TEST_F(KeyResponsesTest, RejectsWrongSelfSignature) {
  // Publishes `key` but the signature is made with a different key under the same id.
  auto keys = verify_server_response(
      testing::body(testing::key_object("s.example", {&key}, kNow + kDay, {}, {&other})),
      "s.example");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code, "bad_signature");
}

TEST_F(KeyResponsesTest, RejectsTamperedBody) {
  std::string text = testing::body(testing::key_object("s.example", {&key}, kNow + kDay));
  const auto pos = text.find(std::to_string(kNow + kDay));
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, std::to_string(kNow + kDay).size(), std::to_string(kNow + 300 * kDay));
  auto keys = verify_server_response(text, "s.example");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code, "bad_signature");
}

TEST_F(KeyResponsesTest, RejectsAnotherServersKeys) {
  auto keys = verify_server_response(
      testing::body(testing::key_object("evil.example", {&key}, kNow + kDay)), "s.example");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code, "wrong_server");
}

TEST_F(KeyResponsesTest, RejectsMalformedAndOversizedBodies) {
  EXPECT_EQ(verify_server_response("{", "s.example").error().code, "invalid_json");
  EXPECT_EQ(verify_server_response(R"({"a":1,"a":2})", "s.example").error().code, "invalid_json");
  EXPECT_EQ(verify_server_response(std::string(70 * 1024, ' '), "s.example").error().code,
            "response_too_large");
  EXPECT_FALSE(verify_server_response("{}", "s.example").ok());
}

TEST_F(KeyResponsesTest, RejectsTooManyKeys) {
  std::vector<matrix::SigningKey> many;
  for (int i = 0; i < 5; ++i) many.push_back(matrix::SigningKey::generate("m" + std::to_string(i)));
  std::vector<const matrix::SigningKey*> pointers;
  for (const auto& k : many) pointers.push_back(&k);
  ResponseLimits limits;
  limits.max_keys = 4;
  auto keys = verify_server_response(
      testing::body(testing::key_object("s.example", pointers, kNow + kDay)), "s.example", limits);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code, "too_many_keys");
}

TEST_F(KeyResponsesTest, AcceptsNotarySignedEntries) {
  const std::string text = testing::notary_body(
      {testing::key_object("s.example", {&key}, kNow + kDay),
       testing::key_object("other.example", {&other}, kNow + kDay)},
      "notary.example", notary_key);
  auto keys = verify_notary_response(text, "notary.example", notary_ring.lookup(), "s.example", kNow);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 1u);  // other.example is ignored, not trusted for free
  EXPECT_EQ(keys->front().verify_keys.at("ed25519:k1"), key.verify_key());
}

TEST_F(KeyResponsesTest, RejectsNotaryAnswerWithBadNotarySignature) {
  const std::string text = testing::notary_body(
      {testing::key_object("s.example", {&key}, kNow + kDay)}, "notary.example", wrong_notary_key);
  auto keys = verify_notary_response(text, "notary.example", notary_ring.lookup(), "s.example", kNow);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code, "bad_signature");
}

TEST_F(KeyResponsesTest, RejectsNotaryVouchingForBadSelfSignature) {
  const std::string text = testing::notary_body(
      {testing::key_object("s.example", {&key}, kNow + kDay, {}, {&other})}, "notary.example",
      notary_key);
  auto keys = verify_notary_response(text, "notary.example", notary_ring.lookup(), "s.example", kNow);
  ASSERT_FALSE(keys.ok());
}

TEST_F(KeyResponsesTest, NotaryWithoutTheServerAnswersNoKeys) {
  const std::string text = testing::notary_body({}, "notary.example", notary_key);
  auto keys = verify_notary_response(text, "notary.example", notary_ring.lookup(), "s.example", kNow);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code, "no_keys");
}

TEST(NotaryRequestTest, BodyFollowsTheSpec) {
  EXPECT_EQ(notary_request_body({"s.example", {"ed25519:k1"}, 1234}),
            R"({"server_keys":{"s.example":{"ed25519:k1":{"minimum_valid_until_ts":1234}}}})");
  EXPECT_EQ(notary_request_body({"s.example", {}, 1}), R"({"server_keys":{"s.example":{}}})");
}

}  // namespace
}  // namespace bordergate::keystore
