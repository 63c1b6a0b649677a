// SNI certificate selection and TLS context construction.
#include "gateway/net/tls_context.h"

#include <gtest/gtest.h>

#include "tests/unit/net/test_pki.h"

namespace bordergate {
namespace {

std::string subject_cn(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

TEST(ServerTls, SelectsByExactNameThenWildcardThenDefault) {
  testing::TestPki pki;
  ListenerTlsConfig config;
  config.certificates.push_back(pki.issue("core", {"core.example.org"}));
  config.certificates.push_back(pki.issue("wild", {"*.example.net", "example.net"}));
  config.certificates.push_back(pki.issue("exact", {"a.example.net"}));
  auto tls = ServerTls::build(config);
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  const ServerTls& t = **tls;
  struct Case {
    const char* sni;
    const char* cn;
  } cases[] = {
      {"core.example.org", "core.example.org"},
      {"CORE.Example.ORG", "core.example.org"},  // case-insensitive
      {"b.example.net", "*.example.net"},        // wildcard
      {"example.net", "*.example.net"},          // listed bare name
      {"a.example.net", "a.example.net"},        // exact beats wildcard
      {"x.y.example.net", "core.example.org"},   // wildcard covers one label only
      {"unknown.test", "core.example.org"},      // default = first entry
      {"", "core.example.org"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(subject_cn(t.select(c.sni)), c.cn) << c.sni;
  }
  EXPECT_EQ(t.select("nothing"), t.default_context());
}

TEST(ServerTls, ReportsUnreadableAndMismatchedFiles) {
  testing::TestPki pki;
  ListenerTlsConfig config;
  CertificateConfig a = pki.issue("a", {"a.test"});
  CertificateConfig b = pki.issue("b", {"b.test"});

  config.certificates = {a};
  config.certificates[0].certificate = (pki.dir / "missing.crt").string();
  config.certificates[0].location = "gw.yaml:12:7";
  auto r = ServerTls::build(config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tls_certificate");
  EXPECT_EQ(r.error().message.rfind("gw.yaml:12:7: cannot load certificate ", 0), 0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find("missing.crt"), std::string::npos);

  config.certificates = {a};
  config.certificates[0].private_key = b.private_key;
  r = ServerTls::build(config);
  ASSERT_FALSE(r.ok());
  // OpenSSL already refuses the key when it is loaded next to a certificate
  // it does not match.
  EXPECT_NE(r.error().message.find(b.private_key), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("mismatch"), std::string::npos) << r.error().message;
}

TEST(ServerTls, EnforcesMinimumVersion) {
  testing::TestPki pki;
  ListenerTlsConfig config;
  config.certificates = {pki.issue("a", {"a.test"})};
  auto tls12 = ServerTls::build(config);
  ASSERT_TRUE(tls12.ok());
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*tls12)->default_context()), TLS1_2_VERSION);
  config.min_version = "1.3";
  auto tls13 = ServerTls::build(config);
  ASSERT_TRUE(tls13.ok());
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*tls13)->default_context()), TLS1_3_VERSION);
}

TEST(ClientTls, NeedsReadableCa) {
  UpstreamTlsConfig config;
  config.enabled = true;
  config.ca_file = "/nonexistent/ca.pem";
  auto r = ClientTls::build(config, "core.internal");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tls_ca_file");
}

}  // namespace
}  // namespace bordergate
