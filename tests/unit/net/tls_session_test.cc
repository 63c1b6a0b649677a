// Two TlsSessions talking to each other through their memory BIOs: the
// handshake with SNI and hostname verification, data both ways, and a client
// that refuses a certificate for the wrong name or from an unknown CA.
#include "gateway/net/tls_session.h"

#include <gtest/gtest.h>

#include "gateway/net/tls_context.h"
#include "tests/unit/net/test_pki.h"

namespace bordergate {
namespace {

// Shuttles ciphertext until both sides are done or one fails.
bool handshake(TlsSession& client, TlsSession& server) {
  std::string buf;
  for (int i = 0; i < 20; ++i) {
    auto c = client.handshake();
    buf.clear();
    client.drain_output(buf);
    server.feed(buf.data(), buf.size());
    auto s = server.handshake();
    buf.clear();
    server.drain_output(buf);
    client.feed(buf.data(), buf.size());
    if (c == TlsSession::Step::failed || s == TlsSession::Step::failed) return false;
    if (client.established() && server.established()) return true;
  }
  return false;
}

struct Fixture {
  testing::TestPki pki;
  std::shared_ptr<const ServerTls> server_tls;
  std::shared_ptr<const ClientTls> client_tls;

  explicit Fixture(const std::string& verify_name, bool trust = true) {
    ListenerTlsConfig listener;
    listener.certificates = {pki.issue("default", {"default.test"}),
                             pki.issue("core", {"core.test"})};
    server_tls = ServerTls::build(listener).value();
    UpstreamTlsConfig upstream;
    upstream.enabled = true;
    upstream.ca_file = pki.ca_file();
    if (!trust) {
      testing::TestPki other;
      upstream.ca_file = (pki.dir / "other-ca.crt").string();
      testing::write_pem(upstream.ca_file, other.ca.get(), nullptr);
    }
    client_tls = ClientTls::build(upstream, verify_name).value();
  }
};

TEST(TlsSession, HandshakeSelectsCertificateBySniAndCarriesData) {
  Fixture f("core.test");
  TlsSession server(f.server_tls->default_context(), true);
  TlsSession client(f.client_tls->context(), false);
  ASSERT_TRUE(client.set_client_target("core.test", false).ok());
  ASSERT_TRUE(handshake(client, server)) << client.last_error() << " / " << server.last_error();
  EXPECT_EQ(server.server_name(), "core.test");

  ASSERT_TRUE(client.write("GET / HTTP/1.1\r\n\r\n"));
  std::string wire;
  client.drain_output(wire);
  server.feed(wire.data(), wire.size());
  char buf[256];
  long n = server.read(buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(server.read(buf, sizeof buf), 0);  // nothing more yet
}

TEST(TlsSession, ClientRejectsWrongName) {
  Fixture f("elsewhere.test");
  TlsSession server(f.server_tls->default_context(), true);
  TlsSession client(f.client_tls->context(), false);
  ASSERT_TRUE(client.set_client_target("elsewhere.test", false).ok());
  EXPECT_FALSE(handshake(client, server));
  EXPECT_NE(client.last_error().find("certificate"), std::string::npos) << client.last_error();
}

TEST(TlsSession, ClientRejectsUnknownCa) {
  Fixture f("core.test", /*trust=*/false);
  TlsSession server(f.server_tls->default_context(), true);
  TlsSession client(f.client_tls->context(), false);
  ASSERT_TRUE(client.set_client_target("core.test", false).ok());
  EXPECT_FALSE(handshake(client, server));
}

TEST(TlsSession, ServerRejectsGarbage) {
  Fixture f("core.test");
  TlsSession server(f.server_tls->default_context(), true);
  std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  server.feed(junk.data(), junk.size());
  EXPECT_EQ(server.handshake(), TlsSession::Step::failed);
}

}  // namespace
}  // namespace bordergate
