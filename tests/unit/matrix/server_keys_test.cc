// Server key responses, notary answers and the static key ring's validity rules.
#include "gateway/matrix/server_keys.h"

#include <gtest/gtest.h>

namespace bordergate::matrix {
namespace {

JsonObject key_response(const SigningKey& key, std::string_view server, std::int64_t valid_until) {
  JsonObject current{{key.key_id(), Json(JsonObject{{"key", Json(to_base64(key.verify_key()))}})}};
  JsonObject old_key{{"key", Json(to_base64(SigningKey::generate("old").verify_key()))},
                     {"expired_ts", Json(1000)}};
  JsonObject o{{"server_name", Json(server)},
               {"valid_until_ts", Json(valid_until)},
               {"verify_keys", Json(current)},
               {"old_verify_keys", Json(JsonObject{{"ed25519:old", Json(old_key)}})}};
  EXPECT_TRUE(sign_json(o, server, key).ok());
  return o;
}

TEST(ServerKeys, ParsesAndVerifiesSelfSignature) {
  auto key = SigningKey::generate("k1");
  auto response = key_response(key, "example.org", 5000);
  auto keys = parse_server_keys(Json(response));
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->server_name, "example.org");
  EXPECT_EQ(keys->valid_until_ts, 5000);
  ASSERT_EQ(keys->verify_keys.size(), 1u);
  EXPECT_EQ(keys->verify_keys.at("ed25519:k1"), key.verify_key());
  ASSERT_EQ(keys->old_verify_keys.size(), 1u);
  EXPECT_EQ(keys->old_verify_keys.at("ed25519:old").expired_ts, 1000);
  EXPECT_EQ(keys->raw, response);
}

TEST(ServerKeys, RejectsTamperingAndMissingSignature) {
  auto key = SigningKey::generate("k1");
  auto response = key_response(key, "example.org", 5000);
  response["valid_until_ts"] = Json(std::int64_t{9999999999999});
  EXPECT_EQ(parse_server_keys(Json(response)).error().code, "bad_signature");
  response = key_response(key, "example.org", 5000);
  response.erase("signatures");
  EXPECT_EQ(parse_server_keys(Json(response)).error().code, "missing_signature");
  // Signed by someone else under the server's name.
  response = key_response(key, "example.org", 5000);
  response.erase("signatures");
  ASSERT_TRUE(sign_json(response, "example.org", SigningKey::generate("k1")).ok());
  EXPECT_EQ(parse_server_keys(Json(response)).error().code, "bad_signature");
  // Two verify keys, only one signed: every verify key must have signed.
  response = key_response(key, "example.org", 5000);
  auto second = SigningKey::generate("k2");
  (*response["verify_keys"].object_if())["ed25519:k2"] =
      Json(JsonObject{{"key", Json(to_base64(second.verify_key()))}});
  response.erase("signatures");
  ASSERT_TRUE(sign_json(response, "example.org", key).ok());
  EXPECT_EQ(parse_server_keys(Json(response)).error().code, "missing_signature");
  ASSERT_TRUE(sign_json(response, "example.org", second).ok());
  EXPECT_TRUE(parse_server_keys(Json(response)).ok());
}

struct Malformed {
  std::string json;
};
class ServerKeysMalformed : public ::testing::TestWithParam<std::string> {};
TEST_P(ServerKeysMalformed, BadServerKeys) {
  auto doc = parse_json(GetParam());
  ASSERT_TRUE(doc.ok());
  auto r = parse_server_keys(*doc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_server_keys") << r.error().message;
}
INSTANTIATE_TEST_SUITE_P(
    Table, ServerKeysMalformed,
    ::testing::Values(
        R"([])", R"({"valid_until_ts":1,"verify_keys":{}})",
        R"({"server_name":1,"valid_until_ts":1,"verify_keys":{}})",
        R"({"server_name":"s","verify_keys":{}})",
        R"({"server_name":"s","valid_until_ts":"1","verify_keys":{}})",
        R"({"server_name":"s","valid_until_ts":1})",
        R"({"server_name":"s","valid_until_ts":1,"verify_keys":[]})",
        R"({"server_name":"s","valid_until_ts":1,"verify_keys":{"ed25519:a":{}}})",
        R"({"server_name":"s","valid_until_ts":1,"verify_keys":{"ed25519:a":{"key":"Zm9v"}}})",
        R"({"server_name":"s","valid_until_ts":1,"verify_keys":{"ed25519:a-b":{"key":"Zm9v"}}})",
        R"({"server_name":"s","valid_until_ts":1,"verify_keys":{},"old_verify_keys":{"ed25519:a":{"key":"XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"}}})"));

TEST(ServerKeys, OtherAlgorithmsAreSkipped) {
  auto doc = parse_json(
      R"({"server_name":"s","valid_until_ts":1,"verify_keys":{"curve25519:a":{"key":"!"}}})");
  auto r = parse_server_keys_unverified(*doc);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->verify_keys.empty());
  EXPECT_EQ(parse_server_keys(*doc).error().code, "missing_signature");
}

TEST(ServerKeys, NotaryResponse) {
  auto origin = SigningKey::generate("o");
  auto notary = SigningKey::generate("n");
  auto entry = key_response(origin, "origin.org", 5000);
  ASSERT_TRUE(sign_json(entry, "notary.org", notary).ok());
  StaticKeyRing trusted;
  ASSERT_TRUE(trusted.add("notary.org", notary.key_id(), notary.verify_key()).ok());
  Json response(JsonObject{{"server_keys", Json(JsonArray{Json(entry)})}});
  auto r = parse_notary_response(response, "notary.org", trusted.lookup(), 100);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].server_name, "origin.org");
  // Not signed by the notary we trust.
  EXPECT_FALSE(parse_notary_response(response, "other-notary.org", trusted.lookup(), 100).ok());
  // Notary signature present but origin self-signature broken.
  entry["valid_until_ts"] = Json(6000);
  entry.erase("signatures");
  ASSERT_TRUE(sign_json(entry, "notary.org", notary).ok());
  Json forged(JsonObject{{"server_keys", Json(JsonArray{Json(entry)})}});
  EXPECT_EQ(parse_notary_response(forged, "notary.org", trusted.lookup(), 100).error().code,
            "missing_signature");
  EXPECT_TRUE(parse_notary_response(*parse_json(R"({"server_keys":[]})"), "notary.org",
                                    trusted.lookup(), 100)
                  ->empty());
  EXPECT_EQ(
      parse_notary_response(*parse_json("{}"), "notary.org", trusted.lookup(), 100).error().code,
      "bad_server_keys");
}

TEST(StaticKeyRing, ValidityBoundaries) {
  auto key = SigningKey::generate("k1");
  auto keys = parse_server_keys(Json(key_response(key, "example.org", 5000)));
  ASSERT_TRUE(keys.ok());
  StaticKeyRing ring;
  ring.add(*keys);
  EXPECT_TRUE(ring.find("example.org", "ed25519:k1", 5000).ok());
  EXPECT_EQ(ring.find("example.org", "ed25519:k1", 5001).error().code, "key_expired");
  EXPECT_TRUE(ring.find("example.org", "ed25519:k1", kAnyTime).ok());
  EXPECT_TRUE(ring.find("example.org", "ed25519:old", 999).ok());
  EXPECT_EQ(ring.find("example.org", "ed25519:old", 1000).error().code, "key_expired");
  EXPECT_TRUE(ring.find("example.org", "ed25519:old", kAnyTime).ok());
  EXPECT_EQ(ring.find("example.org", "ed25519:nope", 0).error().code, "unknown_key");
  EXPECT_EQ(ring.find("other.org", "ed25519:k1", 0).error().code, "unknown_key");
}

TEST(StaticKeyRing, KeyFileForms) {
  auto key = SigningKey::generate("k1");
  StaticKeyRing ring;
  auto simple = parse_json(R"({"a.org":{"ed25519:x":")" + to_base64(key.verify_key()) + R"("}})");
  ASSERT_TRUE(ring.add_json(*simple).ok());
  EXPECT_EQ(*ring.find("a.org", "ed25519:x", 1LL << 60), key.verify_key());
  ASSERT_TRUE(ring.add_json(Json(key_response(key, "b.org", 5))).ok());
  EXPECT_TRUE(ring.find("b.org", "ed25519:k1", 5).ok());
  Json notary(JsonObject{{"server_keys", Json(JsonArray{Json(key_response(key, "c.org", 5))})}});
  ASSERT_TRUE(ring.add_json(notary).ok());
  EXPECT_TRUE(ring.find("c.org", "ed25519:k1", 0).ok());
  for (const char* bad :
       {"[]", R"({"a":[]})", R"({"a":{"ed25519:x":1}})", R"({"a":{"ed25519:x":"Zm9v"}})",
        R"({"a":{"x":"XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"}})",
        R"({"server_name":"s","valid_until_ts":1,"verify_keys":{}})"}) {
    auto r = ring.add_json(*parse_json(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_key_file") << bad;
  }
}

}  // namespace
}  // namespace bordergate::matrix
