// Ed25519 through libsodium, key ids and Synapse's key file format.
#include "gateway/matrix/ed25519.h"

#include <gtest/gtest.h>

#include "gateway/matrix/base64.h"

namespace bordergate::matrix {
namespace {

TEST(Ed25519, SignVerifyAndTamper) {
  auto key = SigningKey::generate("a_1");
  EXPECT_EQ(key.key_id(), "ed25519:a_1");
  Signature sig = key.sign("hello");
  EXPECT_TRUE(ed25519_verify(key.verify_key(), "hello", sig));
  EXPECT_FALSE(ed25519_verify(key.verify_key(), "hellp", sig));
  Signature bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(ed25519_verify(key.verify_key(), "hello", bad));
  auto other = SigningKey::generate("b");
  EXPECT_FALSE(ed25519_verify(other.verify_key(), "hello", sig));
  EXPECT_NE(other.verify_key(), key.verify_key());
}

TEST(Ed25519, SynapseKeyFileRoundTrip) {
  auto key =
      SigningKey::from_synapse_file("ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->key_id(), "ed25519:1");
  EXPECT_EQ(to_base64(key->verify_key()), "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI");
  // The spec's seed has non-zero unused bits in its last character; we write the canonical form.
  EXPECT_EQ(key->to_synapse_file(), "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0\n");
  auto again = SigningKey::from_synapse_file(key->to_synapse_file());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sign("x"), key->sign("x"));
  // Surrounding whitespace and further lines are tolerated (Synapse files may list several keys).
  EXPECT_TRUE(SigningKey::from_synapse_file(
                  "\n  ed25519  a_b\tYJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1  \r\nmore\n")
                  .ok());
}

class BadKeyFile : public ::testing::TestWithParam<std::string> {};
TEST_P(BadKeyFile, Rejected) {
  auto key = SigningKey::from_synapse_file(GetParam());
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, "bad_signing_key");
}
INSTANTIATE_TEST_SUITE_P(
    Table, BadKeyFile,
    ::testing::Values("", "ed25519 1",
                      "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1 extra",
                      "ed448 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1",
                      "ed25519 a:b YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1",
                      "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA",     // 31.x bytes
                      "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1AA",  // 33 bytes
                      "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA!"));

TEST(Ed25519, KeyIds) {
  EXPECT_TRUE(is_ed25519_key_id("ed25519:a_Obwu"));
  EXPECT_TRUE(is_ed25519_key_id("ed25519:0"));
  EXPECT_FALSE(is_ed25519_key_id("ed25519:"));
  EXPECT_FALSE(is_ed25519_key_id("ed25519:a-b"));
  EXPECT_FALSE(is_ed25519_key_id("ed25519:a:b"));
  EXPECT_FALSE(is_ed25519_key_id("curve25519:a"));
  EXPECT_FALSE(is_ed25519_key_id("ED25519:a"));
}

TEST(Ed25519, Base64Forms) {
  auto k = SigningKey::generate("x");
  EXPECT_EQ(*verify_key_from_base64(to_base64(k.verify_key())), k.verify_key());
  EXPECT_EQ(verify_key_from_base64("Zm9v").error().code, "bad_key_length");
  EXPECT_EQ(verify_key_from_base64("Zm9v!").error().code, "bad_base64");
  Signature sig = k.sign("m");
  EXPECT_EQ(*signature_from_base64(to_base64(sig)), sig);
  EXPECT_EQ(to_base64(sig).size(), 86u);
  EXPECT_EQ(signature_from_base64(to_base64(k.verify_key())).error().code, "bad_signature_length");
}

}  // namespace
}  // namespace bordergate::matrix
