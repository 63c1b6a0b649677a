// The `outbound:` section: defaults, required keys, and errors with positions.
#include "gateway/config/outbound_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "gateway/config/config_reader.h"
#include "gateway/outbound/proxy_listener.h"

namespace bordergate::outbound {
namespace {

// The section read as the configuration loader reads it.
struct Parsed {
  OutboundConfig config;
  std::vector<ConfigError> errors;

  bool ok() const { return errors.empty(); }
  const OutboundConfig& operator*() const { return config; }
  const OutboundConfig* operator->() const { return &config; }
  // Every error as "file:line:col: message", one a line.
  std::string messages() const {
    std::string out;
    for (const ConfigError& e : errors) out += e.to_string() + "\n";
    return out;
  }
};

Parsed parse(const char* yaml) {
  ConfigReader reader("/etc/bordergate/bordergate.yaml");
  Parsed p;
  const bool clean =
      load_outbound_config(reader, YAML::Load(yaml)["outbound"], "/etc/bordergate", p.config);
  p.errors = std::move(reader.errors());
  EXPECT_EQ(clean, p.ok());
  return p;
}

// Each error names the line and column it was found at.
void expect_positioned(const Parsed& p) {
  for (const ConfigError& e : p.errors) EXPECT_GT(e.line, 0) << e.to_string();
}

TEST(OutboundConfigTest, FullSection) {
  auto c = parse(R"(
outbound:
  listen: {address: "::1", port: 3128}
  clients: ["127.0.0.1", "10.0.0.0/8"]
  credentials_file: proxy.credentials
  interception_ca: {certificate: ca.pem, key: /secrets/ca.key}
  leaf_lifetime: 12h
  leaf_renew_before: 2h
  leaf_cache: 64
  egress:
    - {host: push.example.org, mode: tunnel}
    - {host: "*.preview.example", mode: intercept, ports: [443, 8443]}
)");
  ASSERT_TRUE(c.ok()) << c.messages();
  EXPECT_TRUE(c->enabled);
  EXPECT_EQ("::1", c->listen_address);
  EXPECT_EQ(3128, c->listen_port);
  ASSERT_EQ(2u, c->clients.size());
  EXPECT_TRUE(c->clients[1].contains(*discovery::IpAddress::parse("10.1.2.3")));
  EXPECT_EQ("/etc/bordergate/proxy.credentials", c->credentials_file);
  EXPECT_EQ("/etc/bordergate/ca.pem", c->ca_certificate_file);
  EXPECT_EQ("/secrets/ca.key", c->ca_key_file);
  EXPECT_EQ(std::chrono::hours(12), c->leaf.lifetime);
  EXPECT_EQ(std::chrono::hours(2), c->leaf.renew_before);
  EXPECT_EQ(64u, c->leaf.cache_capacity);
  ASSERT_EQ(2u, c->egress.size());
  EXPECT_EQ((std::vector<std::uint16_t>{443, 8443}), c->egress[1].ports);
}

TEST(OutboundConfigTest, DefaultsAreLoopbackOnlyAndShortLeaves) {
  auto c = parse(R"(
outbound:
  credentials_file: /c
  interception_ca: {certificate: /a, key: /b}
  leaf_lifetime: 2h
)");
  ASSERT_TRUE(c.ok()) << c.messages();
  EXPECT_EQ("127.0.0.1", c->listen_address);
  ASSERT_EQ(2u, c->clients.size());
  EXPECT_TRUE(c->clients[0].contains(*discovery::IpAddress::parse("127.0.0.2")));
  EXPECT_TRUE(c->clients[1].contains(*discovery::IpAddress::parse("::1")));
  EXPECT_FALSE(c->clients[0].contains(*discovery::IpAddress::parse("10.0.0.1")));
  EXPECT_EQ(std::chrono::minutes(30), c->leaf.renew_before);  // a quarter of 2h
  EXPECT_TRUE(c->egress.empty());
  EXPECT_EQ(std::chrono::seconds(10), c->connect_timeout);  // every dial is bounded
}

TEST(OutboundConfigTest, ConnectTimeout) {
  const std::string base =
      "outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n";
  auto ms = parse((base + "  connect_timeout: 250ms\n").c_str());
  ASSERT_TRUE(ms.ok()) << ms.messages();
  EXPECT_EQ(std::chrono::milliseconds(250), ms->connect_timeout);
  auto minutes = parse((base + "  connect_timeout: 10m\n").c_str());
  ASSERT_TRUE(minutes.ok()) << minutes.messages();
  EXPECT_EQ(std::chrono::minutes(10), minutes->connect_timeout);
  for (const char* bad : {"0ms", "11m", "1.5s", "soon", "[1s]"}) {
    auto r = parse((base + "  connect_timeout: " + bad + "\n").c_str());
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(std::string::npos, r.messages().find("4:20: outbound.connect_timeout"))
        << bad << " -> " << r.messages();
  }
}

TEST(OutboundConfigTest, DirectListen) {
  const char* base =
      "outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n";
  auto off = parse(base);
  ASSERT_TRUE(off.ok()) << off.messages();
  EXPECT_FALSE(off->direct);
  auto on = parse((std::string(base) + "  direct_listen: {address: 10.1.2.3}\n").c_str());
  ASSERT_TRUE(on.ok()) << on.messages();
  EXPECT_TRUE(on->direct);
  EXPECT_EQ("10.1.2.3", on->direct_address);
  EXPECT_EQ(8448, on->direct_port);  // what the Core dials for a server name without a port
  auto port =
      parse((std::string(base) + "  direct_listen: {address: '::1', port: 9448}\n").c_str());
  ASSERT_TRUE(port.ok()) << port.messages();
  EXPECT_EQ(9448, port->direct_port);
  struct Case {
    const char* extra;
    const char* needle;
  } cases[] = {
      {"  direct_listen: {port: 8448}\n", "direct_listen.address must be a non-empty string"},
      {"  direct_listen: {address: gw.example}\n", "direct_listen.address must be an IP"},
      {"  direct_listen: {address: 127.0.0.1, port: 0}\n", "direct_listen.port must be between"},
      {"  direct_listen: {address: 127.0.0.1, tls: true}\n",
       "unknown key 'tls' in outbound.direct_listen"},
      {"  listen: {address: 127.0.0.1, port: 8450}\n"
       "  direct_listen: {address: 127.0.0.1, port: 8450}\n",
       "must differ from outbound.listen"},
  };
  for (const auto& c : cases) {
    auto r = parse((std::string(base) + c.extra).c_str());
    ASSERT_FALSE(r.ok()) << c.extra;
    EXPECT_NE(std::string::npos, r.messages().find(c.needle)) << c.extra << " -> " << r.messages();
  }
}

TEST(OutboundConfigTest, Errors) {
  struct Case {
    const char* yaml;
    const char* needle;
  } cases[] = {
      {"outbound:\n  interception_ca: {certificate: /a, key: /b}\n", "credentials_file"},
      {"outbound:\n  credentials_file: /c\n", "interception_ca is required"},
      {"outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a}\n",
       "interception_ca.key"},
      {"outbound:\n  bogus: 1\n", "2:3: unknown key 'bogus' in outbound"},
      {"outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n"
       "  egress: [{host: '*', mode: tunnel}]\n",
       "egress entry *"},
      {"outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n"
       "  egress: [{host: a.example, mode: splice}]\n",
       "mode must be tunnel or intercept"},
      {"outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n"
       "  clients: [10.0.0.1/8]\n",
       "4:"},
      {"outbound:\n  listen: {port: 70000}\n", "port must be between 1 and 65535"},
      {"outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n"
       "  delegation_hosts: ['*']\n",
       "delegation host '*' is not a DNS name"},
      {"outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n"
       "  delegation_hosts: deleg.example\n",
       "delegation_hosts must be a list"},
      {"outbound:\n  leaf_lifetime: 1h\n  leaf_renew_before: 2h\n", "below leaf_lifetime"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    expect_positioned(r);
    EXPECT_NE(std::string::npos, r.messages().find(c.needle)) << c.yaml << " -> " << r.messages();
  }
  auto disabled = parse("outbound:\n  enabled: false\n");
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->enabled);
}

// outbound.listen_tls: the proxy behind the gateway's own TLS. Writing it alone switches the plain
// listener off; both may run side by side; errors carry LINE:COL.
TEST(OutboundConfigTest, ListenTls) {
  const std::string base =
      "outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n";
  auto off = parse(base.c_str());
  ASSERT_TRUE(off.ok()) << off.messages();
  EXPECT_FALSE(off->tls);
  EXPECT_TRUE(off->plain);
  EXPECT_EQ(1u, proxy_listen_addresses(*off).size());

  auto only = parse((base + "  listen_tls: {address: 10.0.0.2, certificate: tls/proxy.crt,\n"
                            "               private_key: /secrets/proxy.key}\n")
                        .c_str());
  ASSERT_TRUE(only.ok()) << only.messages();
  EXPECT_TRUE(only->tls);
  EXPECT_FALSE(only->plain);  // only the TLS listener was written
  EXPECT_EQ("10.0.0.2", only->tls_address);
  EXPECT_EQ(8451, only->tls_port);
  EXPECT_EQ("1.2", only->tls_listen.min_version);
  ASSERT_EQ(1u, only->tls_listen.certificates.size());
  EXPECT_EQ("/etc/bordergate/tls/proxy.crt", only->tls_listen.certificates[0].certificate);
  EXPECT_EQ("/secrets/proxy.key", only->tls_listen.certificates[0].private_key);
  auto listeners = proxy_listen_addresses(*only);
  ASSERT_EQ(1u, listeners.size());
  EXPECT_EQ(ProxyListener::connect_tls, listeners[0].kind);
  EXPECT_EQ("connect_tls", proxy_listener_name(listeners[0].kind));

  auto all = parse((base + "  listen: {address: 127.0.0.1, port: 3128}\n"
                           "  listen_tls: {address: '::1', port: 3129, certificate: /p.crt,\n"
                           "               private_key: /p.key, min_version: '1.3'}\n"
                           "  direct_listen: {address: 127.0.0.1}\n")
                       .c_str());
  ASSERT_TRUE(all.ok()) << all.messages();
  EXPECT_TRUE(all->plain);
  EXPECT_EQ("1.3", all->tls_listen.min_version);
  listeners = proxy_listen_addresses(*all);
  ASSERT_EQ(3u, listeners.size());  // the order the server opens them in
  EXPECT_EQ(ProxyListener::connect, listeners[0].kind);
  EXPECT_EQ(3128, listeners[0].port);
  EXPECT_EQ(ProxyListener::connect_tls, listeners[1].kind);
  EXPECT_EQ("::1", listeners[1].address);
  EXPECT_EQ(3129, listeners[1].port);
  EXPECT_EQ(ProxyListener::direct, listeners[2].kind);
  EXPECT_EQ(8448, listeners[2].port);

  struct Case {
    const char* extra;
    const char* needle;
  } cases[] = {
      {"  listen_tls: {certificate: /p.crt, private_key: /p.key}\n",
       "outbound.listen_tls.address must be a non-empty string"},
      {"  listen_tls: {address: gw.example, certificate: /p.crt, private_key: /p.key}\n",
       "4:25: outbound.listen_tls.address must be an IP address"},
      {"  listen_tls: {address: 127.0.0.1, private_key: /p.key}\n",
       "outbound.listen_tls.certificate must be a non-empty string"},
      {"  listen_tls: {address: 127.0.0.1, certificate: /p.crt}\n",
       "outbound.listen_tls.private_key must be a non-empty string"},
      {"  listen_tls: {address: 127.0.0.1, certificate: /p.crt, private_key: /p.key, "
       "min_version: '1.1'}\n",
       "min_version must be \"1.2\" or \"1.3\""},
      {"  listen_tls: {address: 127.0.0.1, port: 0, certificate: /p.crt, private_key: /p.key}\n",
       "outbound.listen_tls.port must be between 1 and 65535"},
      {"  listen_tls: {address: 127.0.0.1, certificate: /p.crt, private_key: /p.key, sni: x}\n",
       "unknown key 'sni' in outbound.listen_tls"},
      {"  listen_tls: [127.0.0.1]\n", "outbound.listen_tls must be a map"},
      {"  listen: {address: 127.0.0.1, port: 8450}\n"
       "  listen_tls: {address: 127.0.0.1, port: 8450, certificate: /p.crt, private_key: /p.k}\n",
       "5:15: outbound.listen_tls must differ from outbound.listen"},
      {"  listen_tls: {address: 127.0.0.1, port: 8448, certificate: /p.crt, private_key: /p.k}\n"
       "  direct_listen: {address: 127.0.0.1}\n",
       "must differ from outbound.listen_tls"},
  };
  for (const auto& c : cases) {
    auto r = parse((base + c.extra).c_str());
    ASSERT_FALSE(r.ok()) << c.extra;
    expect_positioned(r);
    EXPECT_NE(std::string::npos, r.messages().find(c.needle)) << c.extra << " -> " << r.messages();
  }
  // Only the TLS listener written: a direct listener on the plain default port is no collision.
  auto moved =
      parse((base + "  listen_tls: {address: 127.0.0.1, certificate: /p.crt, private_key: /k}\n"
                    "  direct_listen: {address: 127.0.0.1, port: 8450}\n")
                .c_str());
  ASSERT_TRUE(moved.ok()) << moved.messages();
}

TEST(OutboundConfigTest, DelegationHosts) {
  auto c = parse(R"(
outbound:
  credentials_file: /c
  interception_ca: {certificate: /a, key: /b}
  delegation_hosts: [matrix.hosting.example, "*.fed.hosting.example"]
)");
  ASSERT_TRUE(c.ok()) << c.messages();
  EXPECT_EQ((std::vector<std::string>{"matrix.hosting.example", "*.fed.hosting.example"}),
            c->delegation_hosts);
  auto none =
      parse("outbound:\n  credentials_file: /c\n  interception_ca: {certificate: /a, key: /b}\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->delegation_hosts.empty());
}

// Which listener an audit record names: all but the plain CONNECT listener, whose records stay
// without a note (so a record without one came through it).
TEST(OutboundConfigTest, AuditedListenerNames) {
  const struct {
    ProxyListener listener;
    std::string_view named;
  } cases[] = {
      {ProxyListener::connect, ""},
      {ProxyListener::connect_tls, "connect_tls"},
      {ProxyListener::direct, "direct"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(proxy_listener_name(c.listener));
    EXPECT_EQ(audited_listener(c.listener), c.named);
  }
}

}  // namespace
}  // namespace bordergate::outbound
