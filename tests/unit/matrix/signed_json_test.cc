// Signing JSON objects: coverage of signatures/unsigned, merging, and the per-server rule.
#include "gateway/matrix/signed_json.h"

#include <gtest/gtest.h>

#include "gateway/matrix/server_keys.h"

namespace bordergate::matrix {
namespace {

JsonObject obj(std::string_view text) { return *parse_json(text)->object_if(); }

TEST(SignedJson, SigningBytesSkipSignaturesAndUnsigned) {
  auto o = obj(R"({"b":1,"a":"x","signatures":{"s":{}},"unsigned":{"age":5}})");
  EXPECT_EQ(*signing_bytes(o), R"({"a":"x","b":1})");
  JsonObject with_float{{"f", Json(0.5)}};
  EXPECT_EQ(signing_bytes(with_float).error().code, "float_not_allowed");
}

TEST(SignedJson, SignKeepsOtherSignaturesAndVerifies) {
  auto a = SigningKey::generate("a");
  auto b = SigningKey::generate("b");
  auto o = obj(
      R"({"content":{"x":1},"signatures":{"other.org":{"ed25519:z":"keep"}},"unsigned":{"u":1}})");
  ASSERT_TRUE(sign_json(o, "example.org", a).ok());
  ASSERT_TRUE(sign_json(o, "example.org", b).ok());
  const auto& sigs = *o.at("signatures").object_if();
  EXPECT_EQ(*sigs.at("other.org").find("ed25519:z")->string_if(), "keep");
  EXPECT_TRUE(sigs.at("example.org").find("ed25519:a"));
  EXPECT_TRUE(verify_json_signature(o, "example.org", "ed25519:a", a.verify_key()).ok());
  EXPECT_TRUE(verify_json_signature(o, "example.org", "ed25519:b", b.verify_key()).ok());
  EXPECT_EQ(verify_json_signature(o, "example.org", "ed25519:a", b.verify_key()).error().code,
            "bad_signature");

  // unsigned and signatures are not covered; anything else is.
  o["unsigned"] = Json(JsonObject{{"changed", Json(true)}});
  EXPECT_TRUE(verify_json_signature(o, "example.org", "ed25519:a", a.verify_key()).ok());
  o["content"] = Json(JsonObject{{"x", Json(2)}});
  EXPECT_EQ(verify_json_signature(o, "example.org", "ed25519:a", a.verify_key()).error().code,
            "bad_signature");
}

TEST(SignedJson, VerifyErrors) {
  auto a = SigningKey::generate("a");
  auto o = obj(R"({"x":1})");
  EXPECT_EQ(verify_json_signature(o, "s", "ed25519:a", a.verify_key()).error().code,
            "missing_signature");
  ASSERT_TRUE(sign_json(o, "s", a).ok());
  EXPECT_EQ(verify_json_signature(o, "t", "ed25519:a", a.verify_key()).error().code,
            "missing_signature");
  EXPECT_EQ(verify_json_signature(o, "s", "ed25519:b", a.verify_key()).error().code,
            "missing_signature");
  (*o["signatures"].object_if())["s"] = Json(JsonObject{{"ed25519:a", Json("!!")}});
  EXPECT_EQ(verify_json_signature(o, "s", "ed25519:a", a.verify_key()).error().code, "bad_base64");
  (*o["signatures"].object_if())["s"] = Json(JsonObject{{"ed25519:a", Json(1)}});
  EXPECT_EQ(verify_json_signature(o, "s", "ed25519:a", a.verify_key()).error().code,
            "bad_signatures");
  o["signatures"] = Json("x");
  EXPECT_EQ(verify_json_signature(o, "s", "ed25519:a", a.verify_key()).error().code,
            "bad_signatures");
  EXPECT_EQ(sign_json(o, "s", a).error().code, "bad_signatures");
}

TEST(SignedJson, ServerSignatureRule) {
  auto a = SigningKey::generate("a");
  auto b = SigningKey::generate("b");
  auto o = obj(R"({"x":1})");
  ASSERT_TRUE(sign_json(o, "s", a).ok());
  ASSERT_TRUE(sign_json(o, "s", b).ok());
  (*(*o["signatures"].object_if())["s"].object_if())["curve25519:c"] = Json("ignored");

  StaticKeyRing only_a;
  ASSERT_TRUE(only_a.add("s", "ed25519:a", a.verify_key()).ok());
  EXPECT_TRUE(verify_server_signature(o, "s", only_a.lookup(), 0).ok());  // b unknown: skipped

  StaticKeyRing none;
  EXPECT_EQ(verify_server_signature(o, "s", none.lookup(), 0).error().code, "missing_signature");

  StaticKeyRing wrong;  // a known key that fails makes the whole check fail
  ASSERT_TRUE(wrong.add("s", "ed25519:a", a.verify_key()).ok());
  ASSERT_TRUE(wrong.add("s", "ed25519:b", a.verify_key()).ok());
  EXPECT_EQ(verify_server_signature(o, "s", wrong.lookup(), 0).error().code, "bad_signature");

  KeyLookup unavailable = [](std::string_view, std::string_view,
                             std::int64_t) -> Result<VerifyKey> {
    return make_error("key_unavailable", "fetch pending");
  };
  EXPECT_EQ(verify_server_signature(o, "s", unavailable, 0).error().code, "key_unavailable");
  EXPECT_EQ(verify_server_signature(o, "other", only_a.lookup(), 0).error().code,
            "missing_signature");
}

}  // namespace
}  // namespace bordergate::matrix
