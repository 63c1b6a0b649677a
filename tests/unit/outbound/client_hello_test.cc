// ClientHello sniffing and SNI extraction, fed with real ClientHellos produced by OpenSSL's client
// (memory BIOs, no socket) and with the byte streams a misbehaving tunnel user would send.
#include "gateway/outbound/client_hello.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "gateway/net/openssl_ptr.h"

namespace bordergate::outbound {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// The first flight of a real OpenSSL client, optionally with SNI.
Bytes real_client_hello(const char* sni, int max_version = TLS1_3_VERSION) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  SslPtr ssl(SSL_new(ctx.get()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);
  if (sni != nullptr) SSL_set_tlsext_host_name(ssl.get(), sni);
  SSL_set_connect_state(ssl.get());
  EXPECT_EQ(-1, SSL_do_handshake(ssl.get()));
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  return Bytes(data, data + n);
}

// The same handshake message re-cut into records of at most `chunk` bytes.
Bytes refragment(const Bytes& hello, std::size_t chunk) {
  const std::size_t len = (std::size_t{hello[3]} << 8) | hello[4];
  Bytes body(hello.begin() + 5, hello.begin() + 5 + len);
  Bytes out;
  for (std::size_t off = 0; off < body.size(); off += chunk) {
    const std::size_t n = std::min(chunk, body.size() - off);
    out.insert(out.end(), {0x16, 0x03, 0x01, static_cast<std::uint8_t>(n >> 8),
                           static_cast<std::uint8_t>(n & 0xff)});
    out.insert(out.end(), body.begin() + off, body.begin() + off + n);
  }
  return out;
}

TEST(ClientHelloSniffTest, Table) {
  struct Case {
    Bytes bytes;
    HelloSniff want;
    const char* what;
  } cases[] = {
      {{}, HelloSniff::kNeedMore, "nothing yet"},
      {{0x16}, HelloSniff::kNeedMore, "handshake record type"},
      {{0x16, 0x03, 0x01, 0x00}, HelloSniff::kNeedMore, "partial length"},
      {{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}, HelloSniff::kClientHello, "TLS 1.0 record version"},
      {{0x16, 0x03, 0x03, 0x00, 0x40, 0x01}, HelloSniff::kClientHello, "TLS 1.2 record version"},
      {{0x16, 0x03, 0x00, 0x00, 0x40, 0x01}, HelloSniff::kNotTls, "SSL 3.0 record version"},
      {{0x16, 0x03, 0x04, 0x00, 0x40, 0x01}, HelloSniff::kNotTls, "record version 0x0304"},
      {{0x16, 0x02, 0x01, 0x00, 0x40, 0x01}, HelloSniff::kNotTls, "major version 2"},
      {{0x16, 0x03, 0x01, 0x00, 0x40, 0x02}, HelloSniff::kNotTls, "ServerHello type"},
      {{0x16, 0x03, 0x01, 0x00, 0x00, 0x01}, HelloSniff::kNotTls, "empty record"},
      {{0x16, 0x03, 0x01, 0x48, 0x01, 0x01}, HelloSniff::kNotTls, "oversized record"},
      {{0x17, 0x03, 0x03, 0x00, 0x40, 0x01}, HelloSniff::kNotTls, "application data"},
      {{0x15, 0x03, 0x03, 0x00, 0x02}, HelloSniff::kNotTls, "alert"},
      // SSLv2-compatible hello: 2-byte length with the high bit set, type 1, version 3.1.
      {{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00}, HelloSniff::kNotTls, "SSLv2-style hello"},
      {bytes_of("GET / HTTP/1.1\r\n"), HelloSniff::kNotTls, "plain HTTP"},
      {bytes_of("PUT /_matrix/federation/v1/send/1 HTTP/1.1\r\n"), HelloSniff::kNotTls, "PUT"},
      {bytes_of("SSH-2.0-OpenSSH_9.2\r\n"), HelloSniff::kNotTls, "SSH banner"},
      {{0x00}, HelloSniff::kNotTls, "NUL"},
  };
  for (const auto& c : cases) EXPECT_EQ(c.want, sniff_client_hello(c.bytes)) << c.what;
  EXPECT_EQ(HelloSniff::kClientHello, sniff_client_hello(real_client_hello("a.example")));
}

TEST(ClientHelloParseTest, ExtractsSniFromRealHellos) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    const Bytes hello = real_client_hello("Matrix.Example.org", version);
    auto info = parse_client_hello(hello);
    ASSERT_TRUE(info.ok()) << info.error().message;
    ASSERT_TRUE(info->has_value());
    EXPECT_EQ("Matrix.Example.org", (*info)->server_name.value_or("<none>"));
    EXPECT_EQ(hello.size(), (*info)->consumed);
  }
  auto none = parse_client_hello(real_client_hello(nullptr));
  ASSERT_TRUE(none.ok() && none->has_value());
  EXPECT_FALSE((*none)->server_name.has_value());
}

TEST(ClientHelloParseTest, NeedsMoreUntilComplete) {
  const Bytes hello = real_client_hello("a.example");
  for (std::size_t n :
       {std::size_t{0}, std::size_t{3}, std::size_t{5}, std::size_t{40}, hello.size() - 1}) {
    auto r = parse_client_hello(std::span(hello).first(n));
    ASSERT_TRUE(r.ok()) << n;
    EXPECT_FALSE(r->has_value()) << n;
  }
}

TEST(ClientHelloParseTest, ReassemblesFragmentedHello) {
  const Bytes fragmented = refragment(real_client_hello("frag.example"), 7);
  auto partial = parse_client_hello(std::span(fragmented).first(fragmented.size() - 3));
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->has_value());
  auto info = parse_client_hello(fragmented);
  ASSERT_TRUE(info.ok() && info->has_value()) << (info.ok() ? "" : info.error().message);
  EXPECT_EQ("frag.example", (*info)->server_name.value_or(""));
  EXPECT_EQ(fragmented.size(), (*info)->consumed);
}

// Locate the server_name extension in a real hello so tests can corrupt it precisely.
std::size_t find_sni_extension(const Bytes& hello, const std::string& name) {
  const std::string needle = name;
  for (std::size_t i = 9; i + needle.size() <= hello.size(); ++i) {
    if (std::equal(needle.begin(), needle.end(), hello.begin() + i)) return i - 9;
  }
  return 0;
}

TEST(ClientHelloParseTest, RejectsMalformedHellos) {
  const Bytes hello = real_client_hello("dup.example");
  // Extension start: type(2) len(2) list_len(2) name_type(1) name_len(2) name.
  const std::size_t ext = find_sni_extension(hello, "dup.example");
  ASSERT_GT(ext, 0u);
  ASSERT_EQ(0x00, hello[ext]);
  ASSERT_EQ(0x00, hello[ext + 1]);

  Bytes non_ascii = hello;
  non_ascii[ext + 9] = 0xC3;
  auto r1 = parse_client_hello(non_ascii);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ("bad_server_name_extension", r1.error().code);

  Bytes bad_list = hello;
  bad_list[ext + 5] ^= 0x01;  // list length no longer matches the extension length
  auto r2 = parse_client_hello(bad_list);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ("bad_server_name_extension", r2.error().code);

  Bytes truncated_body = hello;
  truncated_body[8] -= 1;  // handshake length one short: the record carries a trailing byte
  auto r3 = parse_client_hello(truncated_body);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ("malformed_client_hello", r3.error().code);

  Bytes http = bytes_of("CONNECT a.example:443 HTTP/1.1\r\n\r\n");
  auto r4 = parse_client_hello(http);
  ASSERT_FALSE(r4.ok());
  EXPECT_EQ("not_tls", r4.error().code);

  // A record after the first that is not a handshake record (e.g. application data smuggled
  // into the middle of a fragmented hello).
  Bytes fragmented = refragment(hello, 50);
  fragmented[55] = 0x17;
  auto r5 = parse_client_hello(fragmented);
  ASSERT_FALSE(r5.ok());
  EXPECT_EQ("malformed_client_hello", r5.error().code);
}

TEST(ClientHelloParseTest, RejectsDuplicateServerNameExtension) {
  // Build the duplicate by hand: a minimal TLS 1.2 hello with two server_name extensions.
  auto sni_ext = [](const std::string& n) {
    Bytes e = {0x00, 0x00};
    const std::size_t list = n.size() + 3;
    const std::size_t len = list + 2;
    e.insert(e.end(),
             {static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len),
              static_cast<std::uint8_t>(list >> 8), static_cast<std::uint8_t>(list), 0x00,
              static_cast<std::uint8_t>(n.size() >> 8), static_cast<std::uint8_t>(n.size())});
    e.insert(e.end(), n.begin(), n.end());
    return e;
  };
  auto build = [&](const std::vector<Bytes>& exts) {
    Bytes body = {0x03, 0x03};
    body.insert(body.end(), 32, 0x11);
    body.insert(body.end(), {0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00});
    Bytes all;
    for (const auto& e : exts) all.insert(all.end(), e.begin(), e.end());
    body.insert(body.end(), {static_cast<std::uint8_t>(all.size() >> 8),
                             static_cast<std::uint8_t>(all.size())});
    body.insert(body.end(), all.begin(), all.end());
    Bytes hs = {0x01, 0x00, static_cast<std::uint8_t>(body.size() >> 8),
                static_cast<std::uint8_t>(body.size())};
    hs.insert(hs.end(), body.begin(), body.end());
    Bytes rec = {0x16, 0x03, 0x01, static_cast<std::uint8_t>(hs.size() >> 8),
                 static_cast<std::uint8_t>(hs.size())};
    rec.insert(rec.end(), hs.begin(), hs.end());
    return rec;
  };
  auto one = parse_client_hello(build({sni_ext("a.example")}));
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ("a.example", (*one)->server_name.value_or(""));
  auto two = parse_client_hello(build({sni_ext("a.example"), sni_ext("b.example")}));
  ASSERT_FALSE(two.ok());
  EXPECT_EQ("malformed_client_hello", two.error().code);
}

TEST(SniMatchTest, Table) {
  auto target = [](const char* t) { return *parse_connect_target(t); };
  EXPECT_TRUE(check_sni_matches(target("a.example:443"), "a.example").ok());
  EXPECT_TRUE(check_sni_matches(target("A.example:8448"), "a.EXAMPLE").ok());
  EXPECT_EQ("sni_mismatch", check_sni_matches(target("a.example:443"), "b.example").error().code);
  EXPECT_EQ("sni_mismatch", check_sni_matches(target("a.example:443"), "a.example.").error().code);
  EXPECT_EQ("sni_mismatch", check_sni_matches(target("a.example:443"), "x.a.example").error().code);
  EXPECT_EQ("sni_missing", check_sni_matches(target("a.example:443"), std::nullopt).error().code);
  EXPECT_TRUE(check_sni_matches(target("127.0.0.1:8448"), std::nullopt).ok());
  EXPECT_EQ("sni_on_ip_target",
            check_sni_matches(target("127.0.0.1:8448"), "127.0.0.1").error().code);
  EXPECT_EQ("sni_on_ip_target", check_sni_matches(target("[::1]:8448"), "a.example").error().code);
}

TEST(TunnelGateTest, Table) {
  using A = TunnelGateVerdict::Action;
  const auto target = *parse_connect_target("remote.example:8448");
  const auto ip_target = *parse_connect_target("127.0.0.1:8448");
  const Bytes good = real_client_hello("remote.example");
  struct Case {
    const ConnectTarget* target;
    Bytes bytes;
    A action;
    const char* reason;
  } cases[] = {
      {&target, good, A::kPass, ""},
      {&target, Bytes(good.begin(), good.begin() + 20), A::kNeedMore, ""},
      {&target, {}, A::kNeedMore, ""},
      {&target, bytes_of("G"), A::kClose, "not_tls"},
      {&target, bytes_of("GET / HTTP/1.1\r\nHost: remote.example\r\n\r\n"), A::kClose, "not_tls"},
      {&target, {0x80, 0x2e, 0x01, 0x03, 0x01}, A::kClose, "not_tls"},
      {&target, real_client_hello("other.example"), A::kClose, "sni_mismatch"},
      {&target, real_client_hello(nullptr), A::kClose, "sni_missing"},
      {&ip_target, real_client_hello(nullptr), A::kPass, ""},
      {&ip_target, real_client_hello("remote.example"), A::kClose, "sni_on_ip_target"},
  };
  for (const auto& c : cases) {
    const auto v = gate_tunnel(*c.target, c.bytes);
    EXPECT_EQ(c.action, v.action) << c.reason << " " << v.reason;
    EXPECT_EQ(c.reason, v.reason);
  }
}

TEST(ClientHelloTest, DelegatedGateTakesAnyDnsSniButNeedsOne) {
  // Synapse's SNI is the delegated host while it CONNECTs to an SRV target: not compared here.
  auto pass = gate_delegated_tunnel(real_client_hello("deleg.example"));
  EXPECT_EQ(pass.action, TunnelGateVerdict::Action::kPass);
  EXPECT_EQ(pass.server_name, "deleg.example");
  auto split = gate_delegated_tunnel(refragment(real_client_hello("deleg.example"), 100));
  EXPECT_EQ(split.action, TunnelGateVerdict::Action::kPass);
  auto none = gate_delegated_tunnel(real_client_hello(nullptr));
  EXPECT_EQ(none.action, TunnelGateVerdict::Action::kClose);
  EXPECT_EQ(none.reason, "sni_missing");
  // OpenSSL sends whatever it is given; an IP literal is not a delegated host name.
  auto ip = gate_delegated_tunnel(real_client_hello("192.0.2.1"));
  EXPECT_EQ(ip.action, TunnelGateVerdict::Action::kClose);
  EXPECT_EQ(ip.reason, "sni_invalid");
  auto http = gate_delegated_tunnel(bytes_of("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(http.action, TunnelGateVerdict::Action::kClose);
  EXPECT_EQ(http.reason, "not_tls");
}

}  // namespace
}  // namespace bordergate::outbound
