// The routes Synapse 1.67 needs on first contact: key endpoints by key id (strict key ids after
// percent-decoding) and the legacy media paths inbound with their allow_remote rule.
#include <gtest/gtest.h>

#include "gateway/enforcement/classifier.h"

namespace bordergate::enforcement {
namespace {

using E = policy::FederationEndpoint;

TEST(LegacyRoutes, KeyIdPaths) {
  const struct {
    const char* method;
    const char* target;
    const char* code;  // "" = classifies
    E endpoint;
    const char* key;
    const char* server;
  } cases[] = {
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa_LSoT", "", E::key_server, "ed25519:a_LSoT", ""},
      {"GET", "/_matrix/key/v2/server/ed25519:a_LSoT", "", E::key_server, "ed25519:a_LSoT", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3a0", "", E::key_server, "ed25519:0", ""},
      {"GET", "/_matrix/key/v2/server/curve25519%3AAbc_9", "", E::key_server, "curve25519:Abc_9",
       ""},
      {"GET", "/_matrix/key/v2/query/peer.example/ed25519%3Ak1?minimum_valid_until_ts=5", "",
       E::key_query, "ed25519:k1", "peer.example"},
      {"GET", "/_matrix/key/v2/query/peer.example%3A8448/ed25519%3Ak1", "", E::key_query,
       "ed25519:k1", "peer.example:8448"},
      // Not a key id after decoding.
      {"GET", "/_matrix/key/v2/server/ed25519", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3A", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/%3Aabc", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa%3Ab", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa-b", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa%2Fb", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa%20b", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed%2525519%3Aa", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/query/peer.example/ed25519%3A%C3%A4", "bad_path", E::key_query, "",
       ""},
      // Path shapes the classifier refuses anyway.
      {"GET", "/_matrix/key/v2/server/", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa%00", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa%2", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/%2e%2e", "bad_path", E::key_server, "", ""},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa/extra", "unknown_endpoint", E::key_server, "",
       ""},
      {"GET", "/_matrix/key/v2/query/peer.example/ed25519%3Aa/x", "unknown_endpoint", E::key_query,
       "", ""},
      {"POST", "/_matrix/key/v2/server/ed25519%3Aa", "method_not_allowed", E::key_server, "", ""},
      {"HEAD", "/_matrix/key/v2/query/peer.example/ed25519%3Aa", "method_not_allowed", E::key_query,
       "", ""},
      {"POST", "/_matrix/key/v2/query/peer.example/ed25519%3Aa", "method_not_allowed", E::key_query,
       "", ""},
  };
  for (const auto& c : cases) {
    // Both directions: the Core asks external servers the same way.
    for (auto classify : {&classify_endpoint, &classify_outbound_endpoint}) {
      auto r = classify(c.method, c.target);
      if (*c.code != '\0') {
        ASSERT_FALSE(r.ok()) << c.method << " " << c.target;
        EXPECT_EQ(r.error().code, c.code) << c.method << " " << c.target;
        continue;
      }
      ASSERT_TRUE(r.ok()) << c.target << ": " << r.error().code;
      EXPECT_EQ(r->endpoint, c.endpoint) << c.target;
      EXPECT_EQ(r->params.key_id, c.key) << c.target;
      EXPECT_EQ(r->params.server_name, c.server) << c.target;
      EXPECT_EQ(r->api_version, 2) << c.target;
    }
  }
}

TEST(LegacyRoutes, InboundLegacyMediaRefusals) {
  const struct {
    const char* method;
    const char* target;
    const char* code;
  } cases[] = {
      {"HEAD", "/_matrix/media/r0/download/core.example/m1", "method_not_allowed"},
      {"PUT", "/_matrix/media/v3/download/core.example/m1", "method_not_allowed"},
      {"GET", "/_matrix/media/r0/upload", "unknown_endpoint"},
      {"GET", "/_matrix/media/r0/thumbnail/core.example/m1/name", "unknown_endpoint"},
      {"GET", "/_matrix/media/r0/download/core.example/%2e%2e", "bad_path"},
      {"GET", "/_matrix/media/r0/download/core.example//m1", "bad_path"},
      {"GET", "/_matrix/media/r1/download/core.example/m1", "unknown_endpoint"},
  };
  for (const auto& c : cases) {
    auto r = classify_endpoint(c.method, c.target);
    ASSERT_FALSE(r.ok()) << c.method << " " << c.target;
    EXPECT_EQ(r.error().code, c.code) << c.method << " " << c.target;
  }
}

TEST(LegacyRoutes, AllowRemoteFalse) {
  const struct {
    const char* target;
    bool ok;
  } cases[] = {
      {"/m?allow_remote=false", true},
      {"/m?timeout_ms=20000&allow_remote=false&allow_redirect=true", true},
      {"/m?width=32;allow_remote=false", true},
      {"/m?allow%5Fremote=false", true},
      {"/m?allow_remote=%66alse", true},
      {"/m", false},
      {"/m?", false},
      {"/m?allow_remote=true", false},
      {"/m?allow_remote=False", false},
      {"/m?allow_remote=0", false},
      {"/m?allow_remote", false},
      {"/m?allow_remote=", false},
      {"/m?allow_remote=false&allow_remote=true", false},
      {"/m?allow_remote=false&allow_remote=false", false},
      {"/m?allow_remote=false;allow_remote=true", false},
      {"/m?allow_remote=false&allow%5fremote=true", false},
      {"/m?allow_remote=false&allow+remote=true", true},  // "allow remote" is another name
      {"/m?allow_remote=false+", false},
      {"/m?allow_remote=false%00", false},
      {"/m?allow_remote=false&x=%zz", false},
      {"/m?ALLOW_REMOTE=false", false},
  };
  for (const auto& c : cases) EXPECT_EQ(allow_remote_false(c.target), c.ok) << c.target;
}

}  // namespace
}  // namespace bordergate::enforcement
