// The `discovery:` section and the fetch keys of `keys:`: defaults, a full example, and each kind
// of mistake reported with its position.
#include <gtest/gtest.h>

#include "gateway/config/config_loader.h"
#include "tests/unit/config/minimal_config.h"

namespace bordergate {
namespace {

const std::string kBase = minimal_config("/var/lib/bg") + "inbound_enforcement: pass_through\n";

ConfigLoadResult load(const std::string& extra) {
  return load_config_text(kBase + extra, "/etc/bg/test.yaml");
}

std::string errors_of(const ConfigLoadResult& r) {
  std::string text;
  for (const auto& e : r.errors) text += e.to_string() + "\n";
  return text;
}

TEST(DiscoveryConfigTest, Defaults) {
  auto r = load("");
  ASSERT_TRUE(r.config) << errors_of(r);
  EXPECT_TRUE(r.config->discovery.resolvers.empty());
  EXPECT_TRUE(r.config->discovery.allowed_ranges.empty());
  EXPECT_EQ(r.config->discovery.connect_timeout.count(), 5000);
  EXPECT_EQ(r.config->key_fetch.fetch_mode, "direct_then_notary");
  EXPECT_EQ(r.config->key_fetch.cache_file, "/var/lib/bg/server-keys.sqlite");
}

TEST(DiscoveryConfigTest, FullExample) {
  auto r = load(R"(discovery:
  resolvers: ["127.0.0.1:5353", "[::1]:53", "10.0.0.53"]
  allowed_ranges: [127.0.0.0/8, "::1/128"]
  static_routes:
    a.example: 10.1.2.3:8448
    b.example: {target: "gw.b.internal:9443", tls_name: matrix.b.example}
  ca_file: /etc/bg/ca.pem
  dns_timeout: 2s
  connect_timeout: 1500ms
  request_timeout: 20s
  well_known: {max_body_bytes: 4096, max_redirects: 2, min_ttl: 1m, stale_grace: 0s}
keys:
  fetch_mode: notary
  fetch_timeout: 3s
  cache_file: keys/cache.sqlite
  notary_servers:
    - server_name: notary.example
      keys: {"ed25519:n1": "Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw"}
)");
  ASSERT_TRUE(r.config) << errors_of(r);
  const auto& d = r.config->discovery;
  EXPECT_EQ(d.resolvers.size(), 3u);
  EXPECT_EQ(d.allowed_ranges.size(), 2u);
  ASSERT_EQ(d.static_routes.size(), 2u);
  EXPECT_EQ(d.static_routes[1].target, "gw.b.internal:9443");
  EXPECT_EQ(d.static_routes[1].tls_name, "matrix.b.example");
  EXPECT_EQ(d.connect_timeout.count(), 1500);
  EXPECT_EQ(d.well_known_max_redirects, 2);
  EXPECT_EQ(d.well_known_stale_grace.count(), 0);
  EXPECT_EQ(d.ca_file, "/etc/bg/ca.pem");
  const auto& k = r.config->key_fetch;
  EXPECT_EQ(k.fetch_mode, "notary");
  EXPECT_EQ(k.cache_file, "/var/lib/bg/keys/cache.sqlite");
  ASSERT_EQ(k.notary_servers.size(), 1u);
  EXPECT_EQ(k.notary_servers[0].keys[0].first, "ed25519:n1");
}

// A relative ca_file is under state_dir like every other path, never the working directory's.
TEST(DiscoveryConfigTest, RelativeCaFileResolvesAgainstStateDir) {
  auto r = load("discovery:\n  ca_file: pki/../pki/ca.crt\n");
  ASSERT_TRUE(r.config) << errors_of(r);
  EXPECT_EQ(r.config->discovery.ca_file, "/var/lib/bg/pki/ca.crt");
}

TEST(DiscoveryConfigTest, MistakesAreReportedWithPositions) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"discovery: {allowed_ranges: [10.0.0.0/33]}\n", "CIDR"},
      {"discovery: {resolvers: [dns.example]}\n", "resolver 'dns.example'"},
      {"discovery: {allow_ranges: [10.0.0.0/8]}\n", "unknown key 'allow_ranges'"},
      {"discovery: {connect_timeout: fast}\n", "'connect_timeout' must be a duration"},
      {"discovery: {static_routes: {a.example: {target: x, port: 1}}}\n", "unknown key 'port'"},
      {"keys: {fetch_mode: sometimes}\n", "'fetch_mode' must be one of"},
      {"keys: {fetch_mode: notary}\n", "needs at least one entry in 'notary_servers'"},
      {"keys: {notary_servers: [{server_name: n.example}]}\n", "needs 'keys'"},
      {"keys: {notary_servers: [{server_name: n.example, keys: {n1: abc}}]}\n", "ed25519:"},
  };
  for (const auto& c : cases) {
    auto r = load(c.yaml);
    EXPECT_FALSE(r.config) << c.yaml;
    ASSERT_FALSE(r.errors.empty()) << c.yaml;
    EXPECT_NE(errors_of(r).find(c.message), std::string::npos) << c.yaml << errors_of(r);
    EXPECT_GT(r.errors[0].line, 15) << c.yaml;  // points into the added lines
  }
}

}  // namespace
}  // namespace bordergate
