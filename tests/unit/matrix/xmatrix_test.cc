// X-Matrix: header grammar (table-driven), request verification, several headers, signing.
#include "gateway/matrix/xmatrix.h"

#include <gtest/gtest.h>

#include "gateway/matrix/server_keys.h"

namespace bordergate::matrix {
namespace {

struct Good {
  std::string header;
  std::string origin;
  std::optional<std::string> destination;
  std::string key;
  std::string sig;
};
class XMatrixParse : public ::testing::TestWithParam<Good> {};
TEST_P(XMatrixParse, Parses) {
  auto r = parse_xmatrix(GetParam().header);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->origin, GetParam().origin);
  EXPECT_EQ(r->destination, GetParam().destination);
  EXPECT_EQ(r->key_id, GetParam().key);
  EXPECT_EQ(r->signature, GetParam().sig);
}
INSTANTIATE_TEST_SUITE_P(
    Table, XMatrixParse,
    ::testing::Values(
        Good{R"(X-Matrix origin="o.org",destination="d.org",key="ed25519:k",sig="AB+/")", "o.org",
             "d.org", "ed25519:k", "AB+/"},
        Good{R"(X-Matrix sig="S",key="ed25519:k",destination="d.org",origin="o.org")", "o.org",
             "d.org", "ed25519:k", "S"},
        Good{R"(x-matrix   ORIGIN="o.org" , Key = "ed25519:k",	Sig="S")", "o.org", std::nullopt,
             "ed25519:k", "S"},
        Good{R"(X-Matrix origin=o.org,key=ed25519:k,sig=S)", "o.org", std::nullopt, "ed25519:k",
             "S"},
        Good{R"(X-Matrix origin=o.org:8448,key="ed25519:k",signature="S")", "o.org:8448",
             std::nullopt, "ed25519:k", "S"},
        Good{R"(X-Matrix origin="o\.org",key="ed25519:\k",sig="S\"")", "o.org", std::nullopt,
             "ed25519:k", "S\""},
        Good{R"(X-Matrix origin="[::1]:8448",key="ed25519:k",sig="S",extra="ignored",z=1)",
             "[::1]:8448", std::nullopt, "ed25519:k", "S"},
        Good{R"(X-Matrix ,origin="o.org",,key="ed25519:k",sig="S",)", "o.org", std::nullopt,
             "ed25519:k", "S"},
        Good{"  X-Matrix origin=\"1.2.3.4\",key=\"ed25519:k\",sig=\"S\"  ", "1.2.3.4", std::nullopt,
             "ed25519:k", "S"}));

struct Bad {
  std::string header;
  std::string code;
};
class XMatrixReject : public ::testing::TestWithParam<Bad> {};
TEST_P(XMatrixReject, Fails) {
  auto r = parse_xmatrix(GetParam().header);
  ASSERT_FALSE(r.ok()) << GetParam().header;
  EXPECT_EQ(r.error().code, GetParam().code) << r.error().message;
}
INSTANTIATE_TEST_SUITE_P(
    Table, XMatrixReject,
    ::testing::Values(
        Bad{"Bearer abc", "not_xmatrix"}, Bad{"X-Matrixorigin=a", "not_xmatrix"},
        Bad{"", "not_xmatrix"}, Bad{"X-Matrix", "bad_xmatrix_header"},
        Bad{R"(X-Matrix key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org",key="ed25519:k")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org",origin="p.org",key="ed25519:k",sig="S")",
            "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org",key="ed25519:k",sig="S",signature="T")",
            "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org,key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org" key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin=,key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="",key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org",destination="",key="ed25519:k",sig="S")",
            "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org",key="ed25519:k",sig=AB/+)", "bad_xmatrix_header"},
        Bad{"X-Matrix origin=\"o\x01.org\",key=\"ed25519:k\",sig=\"S\"", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o_bad.org",key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="[::zz]",key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org:",key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org:123456",key="ed25519:k",sig="S")", "bad_xmatrix_header"},
        Bad{R"(X-Matrix origin="o.org",key="ed25519:k",sig="S\)", "bad_xmatrix_header"},
        Bad{R"(X-Matrix =x,origin="o.org",key="ed25519:k",sig="S")", "bad_xmatrix_header"}));

struct Fixture {
  SigningKey key = SigningKey::generate("k1");
  StaticKeyRing ring;
  Json body = *parse_json(R"({"pdus":[],"edus":[{"edu_type":"m.typing","content":{}}]})");
  Fixture() { EXPECT_TRUE(ring.add("o.org", key.key_id(), key.verify_key()).ok()); }
};

TEST(XMatrixVerify, SignedRequestVerifiesAndBindsEveryField) {
  Fixture f;
  auto header =
      sign_xmatrix("PUT", "/_matrix/federation/v1/send/1?a=%23b", "o.org", "d.org", &f.body, f.key);
  ASSERT_TRUE(header.ok());
  auto auth = parse_xmatrix(*header);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->destination, "d.org");
  auto lookup = f.ring.lookup();
  EXPECT_TRUE(verify_xmatrix(*auth, "PUT", "/_matrix/federation/v1/send/1?a=%23b", "d.org", &f.body,
                             lookup, 0)
                  .ok());
  auto code = [&](std::string_view m, std::string_view u, std::string_view d, const Json* c) {
    auto s = verify_xmatrix(*auth, m, u, d, c, lookup, 0);
    return s.ok() ? std::string("ok") : s.error().code;
  };
  EXPECT_EQ(code("POST", "/_matrix/federation/v1/send/1?a=%23b", "d.org", &f.body),
            "bad_signature");
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1?a=#b", "d.org", &f.body), "bad_signature");
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1", "d.org", &f.body), "bad_signature");
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1?a=%23b", "x.org", &f.body),
            "wrong_destination");
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1?a=%23b", "d.org", nullptr), "bad_signature");
  Json other = *parse_json(R"({"pdus":[],"edus":[]})");
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1?a=%23b", "d.org", &other), "bad_signature");
  // Body whitespace/key order do not matter: the verifier re-canonicalises.
  Json reordered =
      *parse_json(R"({ "edus" : [ {"content":{}, "edu_type":"m.typing"} ], "pdus":[] })");
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1?a=%23b", "d.org", &reordered), "ok");

  // Without destination in the header the receiver still signs over its own name.
  auth->destination.reset();
  EXPECT_TRUE(verify_xmatrix(*auth, "PUT", "/_matrix/federation/v1/send/1?a=%23b", "d.org", &f.body,
                             lookup, 0)
                  .ok());
  auth->key_id = "ed25519:unknown";
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1?a=%23b", "d.org", &f.body), "unknown_key");
  auth->key_id = "ed25519:k1";
  auth->signature = "not base64!";
  EXPECT_EQ(code("PUT", "/_matrix/federation/v1/send/1?a=%23b", "d.org", &f.body), "bad_base64");
}

TEST(XMatrixVerify, SeveralHeaders) {
  Fixture f;
  auto second = SigningKey::generate("k2");
  auto h1 = *sign_xmatrix("GET", "/x", "o.org", "d.org", nullptr, f.key);
  auto h2 = *sign_xmatrix("GET", "/x", "o.org", "d.org", nullptr, second);
  auto lookup = f.ring.lookup();

  std::vector<std::string_view> values{h1, "Bearer token", h2};
  auto auths = parse_xmatrix_headers(values);
  ASSERT_TRUE(auths.ok());
  ASSERT_EQ(auths->size(), 2u);
  // k2 unknown: skipped; k1 verifies.
  EXPECT_EQ(*verify_xmatrix_all(*auths, "GET", "/x", "d.org", nullptr, lookup, 0), "o.org");
  // k2 known but wrong: fails although k1 verifies.
  StaticKeyRing wrong = f.ring;
  ASSERT_TRUE(wrong.add("o.org", "ed25519:k2", f.key.verify_key()).ok());
  EXPECT_EQ(
      verify_xmatrix_all(*auths, "GET", "/x", "d.org", nullptr, wrong.lookup(), 0).error().code,
      "bad_signature");
  // No key known at all.
  StaticKeyRing empty;
  EXPECT_EQ(
      verify_xmatrix_all(*auths, "GET", "/x", "d.org", nullptr, empty.lookup(), 0).error().code,
      "unknown_key");

  auto other_origin = *sign_xmatrix("GET", "/x", "p.org", "d.org", nullptr, second);
  std::vector<std::string_view> mixed{h1, other_origin};
  EXPECT_EQ(parse_xmatrix_headers(mixed).error().code, "origin_mismatch");
  std::vector<std::string_view> none{"Bearer x"};
  EXPECT_EQ(parse_xmatrix_headers(none).error().code, "missing_xmatrix");
  std::vector<std::string_view> broken{h1, "X-Matrix origin="};
  EXPECT_EQ(parse_xmatrix_headers(broken).error().code, "bad_xmatrix_header");
}

TEST(XMatrixSign, ContentThatCannotBeCanonicalIsRefused) {
  Fixture f;
  Json with_float(JsonObject{{"a", Json(0.5)}});
  EXPECT_EQ(sign_xmatrix("PUT", "/x", "o.org", "d.org", &with_float, f.key).error().code,
            "float_not_allowed");
}

}  // namespace
}  // namespace bordergate::matrix
