// The minted leaf must pass the same checks a Core performs: chain to the interception CA,
// hostname / IP match, validity window, serverAuth purpose. Verified with X509_verify_cert and,
// independently, with the `openssl verify` command.
#include "gateway/outbound/cert_minter.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace bordergate::outbound {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

class CertMinterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("bg_minter_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    const std::string d = dir_->string();
    ASSERT_EQ(0, run("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                     "-subj /CN=bordergate-test-interception-ca -days 30 "
                     "-addext basicConstraints=critical,CA:TRUE "
                     "-addext keyUsage=critical,keyCertSign,cRLSign "
                     "-keyout " +
                     d + "/ca.key -out " + d + "/ca.pem"));
    // A plain end-entity certificate: must not be accepted as a CA.
    ASSERT_EQ(0, run("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                     "-subj /CN=not-a-ca -days 30 -addext basicConstraints=critical,CA:FALSE "
                     "-keyout " +
                     d + "/leaf.key -out " + d + "/leaf.pem"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::unique_ptr<CertMinter> minter(CertMinterOptions options = {}) {
    auto m = CertMinter::load((*dir_ / "ca.pem").string(), (*dir_ / "ca.key").string(), options);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    return m.ok() ? std::move(*m) : nullptr;
  }

  static discovery::ServerName name(const char* text) {
    auto n = discovery::parse_server_name(text);
    EXPECT_TRUE(n.ok()) << text;
    return *n;
  }

  // X509_verify_cert with the checks a TLS client makes; returns the verify error code.
  static int verify(CertMinter& m, X509* leaf, const std::string& host, bool host_is_ip,
                    std::time_t at, int purpose = X509_PURPOSE_SSL_SERVER) {
    StorePtr store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), m.ca_certificate());
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_time(param, at);
    X509_VERIFY_PARAM_set_purpose(param, purpose);
    if (host_is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
    if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
    return X509_STORE_CTX_get_error(ctx.get());
  }

  static fs::path* dir_;
};
fs::path* CertMinterTest::dir_ = nullptr;

TEST_F(CertMinterTest, DnsLeafVerifiesForItsNameOnly) {
  auto m = minter();
  ASSERT_TRUE(m);
  const auto now = CertMinter::Clock::now();
  auto leaf = m->mint(name("matrix.example.org:8448"), now);
  ASSERT_TRUE(leaf.ok()) << leaf.error().message;
  const std::time_t t = CertMinter::Clock::to_time_t(now);
  EXPECT_EQ(X509_V_OK, verify(*m, leaf->certificate.get(), "matrix.example.org", false, t));
  EXPECT_EQ(X509_V_OK, verify(*m, leaf->certificate.get(), "MATRIX.example.ORG", false, t));
  EXPECT_EQ(X509_V_ERR_HOSTNAME_MISMATCH,
            verify(*m, leaf->certificate.get(), "other.example.org", false, t));
  EXPECT_EQ(X509_V_ERR_HOSTNAME_MISMATCH,
            verify(*m, leaf->certificate.get(), "x.matrix.example.org", false, t));
}

TEST_F(CertMinterTest, LongNamesGetAnEmptySubjectAndCriticalSan) {
  auto m = minter();
  ASSERT_TRUE(m);
  const std::string long_name = std::string(60, 'a') + ".example.org";  // 72 characters
  const auto now = CertMinter::Clock::now();
  auto leaf = m->mint(name(long_name.c_str()), now);
  ASSERT_TRUE(leaf.ok()) << leaf.error().message;
  X509* c = leaf->certificate.get();
  EXPECT_EQ(0, X509_NAME_entry_count(X509_get_subject_name(c)));
  const int san = X509_get_ext_by_NID(c, NID_subject_alt_name, -1);
  ASSERT_GE(san, 0);
  EXPECT_EQ(1, X509_EXTENSION_get_critical(X509_get_ext(c, san)));
  EXPECT_EQ(X509_V_OK, verify(*m, c, long_name, false, CertMinter::Clock::to_time_t(now)));
  auto short_leaf = m->mint(name("a.example"), now);
  ASSERT_TRUE(short_leaf.ok());
  const int short_san =
      X509_get_ext_by_NID(short_leaf->certificate.get(), NID_subject_alt_name, -1);
  EXPECT_EQ(0, X509_EXTENSION_get_critical(X509_get_ext(short_leaf->certificate.get(), short_san)));
}

TEST_F(CertMinterTest, IpLeafCarriesIpAddressSan) {
  auto m = minter();
  ASSERT_TRUE(m);
  const auto now = CertMinter::Clock::now();
  const std::time_t t = CertMinter::Clock::to_time_t(now);
  auto v4 = m->mint(name("127.0.0.7:8448"), now);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(X509_V_OK, verify(*m, v4->certificate.get(), "127.0.0.7", true, t));
  EXPECT_EQ(X509_V_ERR_IP_ADDRESS_MISMATCH,
            verify(*m, v4->certificate.get(), "127.0.0.8", true, t));
  // An IP leaf has no dNSName: a DNS check against the address text must not pass.
  EXPECT_EQ(X509_V_ERR_HOSTNAME_MISMATCH, verify(*m, v4->certificate.get(), "127.0.0.7", false, t));
  auto v6 = m->mint(name("[::1]"), now);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(X509_V_OK, verify(*m, v6->certificate.get(), "::1", true, t));
  EXPECT_EQ(X509_V_ERR_IP_ADDRESS_MISMATCH, verify(*m, v6->certificate.get(), "::2", true, t));
}

TEST_F(CertMinterTest, ValidityIsBackdatedAndShort) {
  CertMinterOptions options;
  options.lifetime = 2h;
  options.renew_before = 10min;
  options.backdate = 5min;
  auto m = minter(options);
  ASSERT_TRUE(m);
  // Minted "in the future" so that now - 6min still lies inside the test CA's own validity.
  const auto now = CertMinter::Clock::now() + 30min;
  auto leaf = m->mint(name("a.example"), now);
  ASSERT_TRUE(leaf.ok());
  X509* c = leaf->certificate.get();
  auto at = [&](std::chrono::seconds offset) {
    return verify(*m, c, "a.example", false, CertMinter::Clock::to_time_t(now + offset));
  };
  EXPECT_EQ(X509_V_OK, at(-4min));  // a Core clock a little behind still accepts it
  EXPECT_EQ(X509_V_ERR_CERT_NOT_YET_VALID, at(-6min));
  EXPECT_EQ(X509_V_OK, at(119min));
  EXPECT_EQ(X509_V_ERR_CERT_HAS_EXPIRED, at(121min));
  EXPECT_EQ(CertMinter::Clock::to_time_t(now + 2h), CertMinter::Clock::to_time_t(leaf->not_after));
}

TEST_F(CertMinterTest, LeafIsServerAuthOnlyWithKeyIdentifiersAndRandomSerials) {
  auto m = minter();
  ASSERT_TRUE(m);
  const auto now = CertMinter::Clock::now();
  const std::time_t t = CertMinter::Clock::to_time_t(now);
  std::set<std::string> serials;
  for (int i = 0; i < 8; ++i) {
    auto leaf = m->mint(name("a.example"), now);
    ASSERT_TRUE(leaf.ok());
    X509* c = leaf->certificate.get();
    EXPECT_EQ(X509_V_ERR_INVALID_PURPOSE,
              verify(*m, c, "a.example", false, t, X509_PURPOSE_SSL_CLIENT));
    EXPECT_NE(0u, X509_get_extended_key_usage(c) & XKU_SSL_SERVER);
    EXPECT_EQ(0u, X509_get_extended_key_usage(c) & XKU_SSL_CLIENT);
    EXPECT_EQ(0, X509_check_ca(c));
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(c);
    const ASN1_OCTET_STRING* ca_ski = X509_get0_subject_key_id(m->ca_certificate());
    ASSERT_NE(nullptr, aki);
    ASSERT_NE(nullptr, ca_ski);
    EXPECT_EQ(0, ASN1_OCTET_STRING_cmp(aki, ca_ski));
    const ASN1_INTEGER* serial = X509_get0_serialNumber(c);
    EXPECT_EQ(16, ASN1_STRING_length(serial));
    serials.emplace(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)), 16);
    EXPECT_EQ(X509_get0_pubkey(c) != nullptr, true);
    EXPECT_EQ(1, EVP_PKEY_eq(X509_get0_pubkey(c), m->leaf_key()));
  }
  EXPECT_EQ(8u, serials.size());
}

TEST_F(CertMinterTest, OpensslVerifyAcceptsTheLeaf) {
  auto m = minter();
  ASSERT_TRUE(m);
  auto leaf = m->mint(name("push.example.net"), CertMinter::Clock::now());
  ASSERT_TRUE(leaf.ok());
  const fs::path out = *dir_ / "minted.pem";
  {
    BioPtr bio(BIO_new_file(out.c_str(), "w"));
    ASSERT_TRUE(bio);
    ASSERT_EQ(1, PEM_write_bio_X509(bio.get(), leaf->certificate.get()));
  }
  const std::string base =
      "openssl verify -CAfile " + (*dir_ / "ca.pem").string() + " -purpose sslserver -x509_strict ";
  EXPECT_EQ(0, run(base + "-verify_hostname push.example.net " + out.string()));
  EXPECT_NE(0, run(base + "-verify_hostname evil.example.net " + out.string()));
}

TEST_F(CertMinterTest, ContextCacheIsLruBoundedAndRenews) {
  CertMinterOptions options;
  options.lifetime = 2h;
  options.renew_before = 30min;
  options.cache_capacity = 2;
  auto m = minter(options);
  ASSERT_TRUE(m);
  const auto now = CertMinter::Clock::now();
  auto a1 = m->context_for(name("a.example"), now);
  auto a2 = m->context_for(name("A.example:443"), now);  // same name, other spelling
  ASSERT_TRUE(a1.ok() && a2.ok());
  EXPECT_EQ(a1->get(), a2->get());
  auto b = m->context_for(name("b.example"), now);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a1->get(), b->get());
  (void)m->context_for(name("a.example"), now);  // a is now most recent; c evicts b
  auto c = m->context_for(name("c.example"), now);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(2u, m->cached_contexts());
  auto a3 = m->context_for(name("a.example"), now);
  EXPECT_EQ(a1->get(), a3->get());
  auto b2 = m->context_for(name("b.example"), now);
  EXPECT_NE(b->get(), b2->get());  // re-minted after eviction; the old handle is still valid
  EXPECT_NE(nullptr, SSL_CTX_get0_certificate(b->get()));

  // Inside the renewal window the context is replaced by a fresh leaf.
  auto renewed = m->context_for(name("b.example"), now + 91min);
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(b2->get(), renewed->get());
  X509* leaf = SSL_CTX_get0_certificate(renewed->get());
  const std::time_t later = CertMinter::Clock::to_time_t(now + 91min + 100min);
  EXPECT_EQ(X509_V_OK, verify(*m, leaf, "b.example", false, later));
}

TEST_F(CertMinterTest, RejectsBadCaMaterial) {
  const auto pem = [](const char* f) { return slurp(*dir_ / f); };
  auto not_ca = CertMinter::from_pem(pem("leaf.pem"), pem("leaf.key"));
  ASSERT_FALSE(not_ca.ok());
  EXPECT_EQ("ca_not_a_ca", not_ca.error().code);
  auto mismatch = CertMinter::from_pem(pem("ca.pem"), pem("leaf.key"));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ("ca_key_mismatch", mismatch.error().code);
  auto garbage = CertMinter::from_pem("not pem", pem("ca.key"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ("ca_invalid", garbage.error().code);
  auto missing = CertMinter::load((*dir_ / "nope.pem").string(), (*dir_ / "ca.key").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ("ca_unreadable", missing.error().code);
  CertMinterOptions bad;
  bad.lifetime = 1h;
  bad.renew_before = 2h;
  auto opts = CertMinter::from_pem(pem("ca.pem"), pem("ca.key"), bad);
  ASSERT_FALSE(opts.ok());
  EXPECT_EQ("bad_options", opts.error().code);
}

}  // namespace
}  // namespace bordergate::outbound

namespace bordergate::outbound {
namespace {

// Drives a client and a server SSL over memory BIOs until both finish (or one fails).
bool handshake(SSL* client, SSL* server) {
  for (int round = 0; round < 20; ++round) {
    const int c = SSL_do_handshake(client);
    const int s = SSL_do_handshake(server);
    if (c == 1 && s == 1) return true;
    const int ce = c == 1 ? SSL_ERROR_NONE : SSL_get_error(client, c);
    const int se = s == 1 ? SSL_ERROR_NONE : SSL_get_error(server, s);
    const auto retry = [](int e) {
      return e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
    };
    if (!retry(ce) || !retry(se)) return false;
  }
  return false;
}

// A TLS client that trusts only the interception CA (as Synapse with federation_custom_ca_list)
// completes a handshake with the context the minter serves, for the right name only.
TEST_F(CertMinterTest, ServedContextPassesAVerifyingTlsClient) {
  auto m = minter();
  ASSERT_TRUE(m);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    for (const char* expected : {"remote.example", "wrong.example"}) {
      auto server_ctx = m->context_for(name("remote.example:8448"), CertMinter::Clock::now());
      ASSERT_TRUE(server_ctx.ok());
      SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
      SSL_CTX_set_max_proto_version(client_ctx.get(), version);
      SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
      X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx.get()), m->ca_certificate());
      SslPtr client(SSL_new(client_ctx.get()));
      SslPtr server(SSL_new(server_ctx->get()));
      SSL_set_tlsext_host_name(client.get(), "remote.example");
      SSL_set1_host(client.get(), expected);
      // Two memory BIO pairs: client writes -> server reads and back.
      BIO *c_in = nullptr, *s_out = nullptr, *s_in = nullptr, *c_out = nullptr;
      ASSERT_EQ(1, BIO_new_bio_pair(&c_in, 0, &s_out, 0));
      ASSERT_EQ(1, BIO_new_bio_pair(&s_in, 0, &c_out, 0));
      SSL_set_bio(client.get(), c_in, c_out);
      SSL_set_bio(server.get(), s_in, s_out);
      SSL_set_connect_state(client.get());
      SSL_set_accept_state(server.get());
      const bool ok = handshake(client.get(), server.get());
      const bool want = std::string(expected) == "remote.example";
      EXPECT_EQ(want, ok) << expected << " version " << version;
      if (want) {
        EXPECT_EQ(X509_V_OK, SSL_get_verify_result(client.get()));
      } else {
        EXPECT_EQ(X509_V_ERR_HOSTNAME_MISMATCH, SSL_get_verify_result(client.get()));
      }
    }
  }
}

}  // namespace
}  // namespace bordergate::outbound
