// The configuration loader: the shipped example and the documented examples
// load; every kind of mistake is reported with its line and column.
#include "gateway/config/config_loader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "gateway/config/outbound_config.h"
#include "tests/unit/config/minimal_config.h"
#include "tests/unit/source_dir.h"

namespace bordergate {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A minimal valid configuration; tests splice mistakes into it.
const std::string kMinimal = kNoEnforcement + "inbound_enforcement: pass_through\n";

ConfigLoadResult load(const std::string& text) {
  return load_config_text(text, "/etc/bg/test.yaml");
}

TEST(ConfigLoader, ShippedExampleLoads) {
  const std::string path = std::string(BG_SOURCE_DIR) + "/deploy/examples/bordergate.yaml";
  ConfigLoadResult r = load_config_file(path);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  const Config& c = *r.config;
  EXPECT_EQ(c.server_name, "core.bordergate.test");
  ASSERT_EQ(c.federation.size(), 1u);
  EXPECT_EQ(c.federation[0].port, 8448);
  EXPECT_EQ(c.federation[0].tls.certificates[0].server_names[0], "core.bordergate.test");
  EXPECT_EQ(c.upstream.port, 8008);
  EXPECT_FALSE(c.upstream.tls.enabled);
  EXPECT_EQ(c.limits.max_body_bytes, 13107200u);
  EXPECT_EQ(c.limits.header_timeout, Millis(10000));
  EXPECT_EQ(c.shutdown.drain_timeout, Millis(20000));
  EXPECT_EQ(c.admin.port, 9448);
  // `make run` enforces: the example policy, the demo keys pinned from a file, and the demo
  // peer reached through a static route; the Core's outbound proxy is on.
  EXPECT_EQ(c.policy, std::string(BG_SOURCE_DIR) + "/deploy/examples/policy.yaml");
  EXPECT_EQ(c.keys.pinned_file, std::string(BG_SOURCE_DIR) + "/.state/demo-pinned-keys.json");
  ASSERT_EQ(c.discovery.static_routes.size(), 1u);
  EXPECT_EQ(c.discovery.static_routes[0].server_name, "opendesk.stadt-a.example");
  EXPECT_EQ(c.discovery.static_routes[0].target, "127.0.0.1:8449");
  EXPECT_EQ(c.discovery.ca_file, std::string(BG_SOURCE_DIR) + "/.state/pki/ca.crt");
  ASSERT_NE(c.outbound, nullptr);
  EXPECT_EQ(c.outbound->listen_port, 8450);
}

TEST(ConfigLoader, MinimalGetsDefaults) {
  ConfigLoadResult r = load(kMinimal);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.limits.max_header_bytes, 16384u);
  EXPECT_EQ(c.limits.max_headers, 100u);
  EXPECT_EQ(c.limits.max_body_bytes, 13107200u);
  EXPECT_EQ(c.limits.idle_timeout, Millis(60000));
  EXPECT_EQ(c.upstream.connect_timeout, Millis(5000));
  EXPECT_EQ(c.federation[0].tls.min_version, "1.2");
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.address, "127.0.0.1");
  EXPECT_EQ(c.logging.level, "info");
}

TEST(ConfigLoader, PathsResolveAgainstStateDirRelativeToTheFile) {
  ConfigLoadResult r = load(kMinimal);
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config->state_dir, "/etc/bg/state");
  EXPECT_EQ(r.config->federation[0].tls.certificates[0].certificate,
            "/etc/bg/state/pki/example.crt");
  EXPECT_EQ(r.config->config_path, "/etc/bg/test.yaml");
  // Entries whose files are only opened later remember where they were written.
  EXPECT_EQ(r.config->federation[0].tls.certificates[0].location, "/etc/bg/test.yaml:10:13");
  EXPECT_EQ(r.config->upstream.location, "/etc/bg/test.yaml:14:3");

  std::string absolute = std::regex_replace(std::string(kMinimal), std::regex("pki/example.key"),
                                            "/secrets/example.key");
  absolute =
      std::regex_replace(absolute, std::regex("state_dir: state"), "state_dir: ../var/lib/bg");
  r = load(absolute);
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config->state_dir, "/etc/var/lib/bg");
  EXPECT_EQ(r.config->federation[0].tls.certificates[0].private_key, "/secrets/example.key");
}

TEST(ConfigLoader, PolicyAndPinnedKeys) {
  std::string text = kNoEnforcement + R"(policy: policy.yaml
keys:
  cache_file: keys.sqlite
  pinned:
    peer.example:
      ed25519:a1: "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ"
    "peer.example:8448":
      ed25519:b: "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ"
)";
  ConfigLoadResult r = load(text);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_EQ(r.config->policy, "/etc/bg/state/policy.yaml");
  EXPECT_EQ(r.config->key_fetch.cache_file, "/etc/bg/state/keys.sqlite");
  ASSERT_EQ(r.config->keys.pinned.size(), 2u);
  EXPECT_EQ(r.config->keys.pinned.at("peer.example").at("ed25519:a1"),
            "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ");
  EXPECT_EQ(r.config->keys.pinned.at("peer.example:8448").size(), 1u);

  r = load(kMinimal);
  ASSERT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.config->policy.empty());
  EXPECT_TRUE(r.config->keys.pinned.empty());
  EXPECT_EQ(r.config->key_fetch.cache_file, "/etc/bg/state/server-keys.sqlite");

  r = load(kNoEnforcement + "policy: /srv/policy.yaml\n");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config->policy, "/srv/policy.yaml");
}

// Deny by default: no policy is an error naming the explicit switch; the switch cannot be
// combined with a policy; only the two documented values exist.
TEST(ConfigLoader, InboundEnforcementIsExplicit) {
  ConfigLoadResult r = load(kNoEnforcement);
  ASSERT_EQ(r.errors.size(), 1u);
  const std::string message = r.errors.front().to_string();
  EXPECT_NE(message.find("no 'policy' configured"), std::string::npos) << message;
  EXPECT_NE(message.find("inbound_enforcement: pass_through"), std::string::npos) << message;

  r = load(kMinimal);
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config->inbound_enforcement, Config::InboundEnforcement::pass_through);

  r = load(kNoEnforcement + "policy: p.yaml\ninbound_enforcement: policy\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_EQ(r.config->inbound_enforcement, Config::InboundEnforcement::policy);

  r = load(kMinimal + "policy: p.yaml\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors.front().message.find("cannot be combined with 'policy'"), std::string::npos);
  EXPECT_EQ(r.errors.front().line, 16);  // at the switch

  r = load(kNoEnforcement + "inbound_enforcement: off\n");
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors.front().message.find("must be 'policy' (the default) or 'pass_through'"),
            std::string::npos);
}

TEST(ConfigLoader, PinnedFileAndKeyWaitTimeout) {
  ConfigLoadResult r =
      load(std::string(kMinimal) +
           "limits:\n  key_wait_timeout: 2500ms\nkeys:\n  pinned_file: pins.json\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_EQ(r.config->keys.pinned_file, "/etc/bg/state/pins.json");
  EXPECT_EQ(r.config->limits.key_wait_timeout, Millis(2500));
  r = load(kMinimal);
  ASSERT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.config->keys.pinned_file.empty());
  EXPECT_EQ(r.config->limits.key_wait_timeout, Millis(10000));
  for (const char* bad : {"keys:\n  pinned_file: \"\"\n", "limits:\n  key_wait_timeout: 0s\n",
                          "limits:\n  key_wait_timeout: 11m\n"}) {
    EXPECT_FALSE(load(std::string(kMinimal) + bad).errors.empty()) << bad;
  }
}

TEST(ConfigLoader, PinnedKeyMistakes) {
  struct Case {
    std::string yaml;
    const char* message;
  };
  const Case cases[] = {
      {"keys:\n  pinned: [a]\n", "'pinned' must map server names"},
      {"keys:\n  pinned:\n    \"bad name!\": {ed25519:a: x}\n", "is not a server name"},
      {"keys:\n  pinned:\n    a.example: {}\n", "must map key ids to base64 keys"},
      {"keys:\n  pinned:\n    a.example: {rsa:a: l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ}\n",
       "must look like 'ed25519:<version>'"},
      {"keys:\n  pinned:\n    a.example: {ed25519:a: "
       "\"l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ=\"}\n",
       "unpadded base64 ed25519 public key"},
      {"keys:\n  pinned:\n    a.example: {ed25519:a: "
       "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sR}\n",
       "unpadded base64 ed25519 public key"},
      {"keys:\n  notary: x\n", "unknown key 'notary' in keys"},
      {"policy: \"\"\n", "'policy' must name a policy file"},
      {"keys:\n  pinned:\n    \"a.example:99999999\": {ed25519:a: x}\n", "is not a server name"},
  };
  for (const Case& c : cases) {
    ConfigLoadResult r = load(std::string(kMinimal) + c.yaml);
    ASSERT_FALSE(r.errors.empty()) << c.yaml;
    EXPECT_NE(r.errors.front().message.find(c.message), std::string::npos)
        << c.yaml << " -> " << r.errors.front().message;
  }
}

struct BadCase {
  const char* name;
  std::string from;  // replaced in kMinimal ...
  std::string to;    // ... by this
  int line;
  int column;
  const char* message;  // substring of the error
};

TEST(ConfigLoader, MistakesAreReportedWithPosition) {
  const BadCase cases[] = {
      {"unknown_top_level_key", "version: 1\n", "version: 1\nworkerz: 2\n", 2, 1,
       "unknown key 'workerz'"},
      {"unknown_nested_key", "  port: 8008\n", "  port: 8008\n  hots: x\n", 16, 3,
       "unknown key 'hots' in upstream"},
      {"unknown_listener_key", "      port: 8448\n", "      port: 8448\n      backlog: 5\n", 8, 7,
       "unknown key 'backlog'"},
      {"duplicate_key", "  port: 8008\n", "  port: 8008\n  port: 8009\n", 16, 3,
       "duplicate key 'port'"},
      {"wrong_version", "version: 1", "version: 2", 1, 10, "'version' must be between 1 and 1"},
      {"port_out_of_range", "port: 8008", "port: 70000", 15, 9, "between 1 and 65535"},
      {"port_not_a_number", "port: 8008", "port: http", 15, 9, "non-negative integer"},
      {"negative_port", "port: 8008", "port: -1", 15, 9, "non-negative integer"},
      {"size_with_unit", "  port: 8008\n", "  port: 8008\nlimits:\n  max_body_bytes: 12MB\n", 17,
       19, "non-negative integer"},
      {"size_float", "  port: 8008\n", "  port: 8008\nlimits:\n  max_body_bytes: 1.5\n", 17, 19,
       "non-negative integer"},
      {"bad_duration", "  port: 8008\n", "  port: 8008\n  connect_timeout: 5\n", 16, 20,
       "duration"},
      {"duration_out_of_range", "  port: 8008\n", "  port: 8008\n  connect_timeout: 11m\n", 16, 20,
       "between"},
      {"zero_duration", "  port: 8008\n", "  port: 8008\nlimits:\n  header_timeout: 0s\n", 17, 19,
       "between"},
      {"bad_address", "address: 127.0.0.1", "address: localhost", 6, 16, "IPv4 or IPv6"},
      {"missing_tls",
       "      tls:\n        certificates:\n          - server_names: [example.org]\n            "
       "certificate: pki/example.crt\n            private_key: pki/example.key\n",
       "", 6, 7, "missing required key 'tls'"},
      {"empty_certificates",
       "        certificates:\n          - server_names: [example.org]\n            certificate: "
       "pki/example.crt\n            private_key: pki/example.key\n",
       "        certificates: []\n", 9, 23, "non-empty list"},
      {"missing_private_key", "            private_key: pki/example.key\n", "", 10, 13,
       "missing required key 'private_key'"},
      {"bad_server_name", "[example.org]", "[\"exa mple.org\"]", 10, 28, "not a DNS name"},
      {"wildcard_in_middle", "[example.org]", "[\"a.*.example.org\"]", 10, 28, "not a DNS name"},
      {"tls_1_1", "      tls:\n", "      tls:\n        min_version: \"1.1\"\n", 9, 22,
       "\"1.2\" or \"1.3\""},
      {"missing_upstream", "upstream:\n  host: 127.0.0.1\n  port: 8008\n", "", 1, 1,
       "missing required key 'upstream'"},
      {"client_cert_without_key", "  port: 8008\n",
       "  port: 8008\n  tls:\n    enabled: true\n    client_certificate: c.pem\n", 17, 5,
       "must be set together"},
      {"bool_not_bool", "  port: 8008\n", "  port: 8008\n  tls:\n    enabled: yes\n", 17, 14,
       "true or false"},
      {"bad_log_level", "  port: 8008\n", "  port: 8008\nlogging:\n  level: verbose\n", 17, 10,
       "debug, info, warn, error"},
      {"listeners_not_a_map", "listeners:\n", "listeners: 5\nx:\n", 4, 12,
       "listeners must be a mapping"},
      {"yaml_syntax", "  port: 8008\n", "  port: [8008\n", 16, 20, "end of sequence flow"},
      {"too_many_workers", "version: 1\n", "version: 1\nworkers: 5000\n", 2, 10,
       "between 0 and 1024"},
  };
  for (const BadCase& c : cases) {
    std::string text = kMinimal;
    size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.name;
    text.replace(at, c.from.size(), c.to);
    ConfigLoadResult r = load(text);
    ASSERT_FALSE(r.errors.empty()) << c.name << " was accepted";
    EXPECT_EQ(r.config, nullptr) << c.name;
    bool found = false;
    std::string all;
    for (const ConfigError& e : r.errors) {
      all += e.to_string() + "\n";
      if (e.line == c.line && e.column == c.column &&
          e.message.find(c.message) != std::string::npos) {
        found = true;
      }
      EXPECT_EQ(e.file, "/etc/bg/test.yaml") << c.name;
    }
    EXPECT_TRUE(found) << c.name << ": expected " << c.line << ":" << c.column << " '" << c.message
                       << "', got:\n"
                       << all;
  }
}

TEST(ConfigLoader, ErrorTextHasFileLineColumn) {
  ConfigLoadResult r = load(std::string(kMinimal) + "bogus: 1\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string().rfind("/etc/bg/test.yaml:17:1: unknown key 'bogus'", 0), 0u)
      << r.errors[0].to_string();
}

TEST(ConfigLoader, SeveralErrorsReportedAtOnce) {
  std::string text = std::string(kMinimal) + "bogus: 1\nlimits:\n  max_headers: 0\n";
  ConfigLoadResult r = load(text);
  EXPECT_EQ(r.errors.size(), 2u);
}

TEST(ConfigLoader, EmptyAndMissingFiles) {
  EXPECT_FALSE(load("").errors.empty());
  EXPECT_FALSE(load("- a\n- b\n").errors.empty());
  ConfigLoadResult r = load_config_file("/nonexistent/bordergate.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);
}

TEST(ConfigLoader, WildcardAndMultipleCertificates) {
  std::string text = kMinimal;
  text += "";
  size_t at = text.find("upstream:");
  text.insert(at - 0, "");
  std::string extra =
      "          - server_names: [\"*.Example.NET\", example.net]\n"
      "            certificate: pki/net.crt\n"
      "            private_key: pki/net.key\n";
  text.insert(text.find("upstream:"), extra);
  ConfigLoadResult r = load(text);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  const auto& certs = r.config->federation[0].tls.certificates;
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[1].server_names[0], "*.example.net");  // lower-cased
}

TEST(ConfigLoader, DuplicateServerNameAcrossCertificates) {
  std::string text = kMinimal;
  text.insert(text.find("upstream:"),
              "          - server_names: [example.org]\n"
              "            certificate: pki/b.crt\n"
              "            private_key: pki/b.key\n");
  ConfigLoadResult r = load(text);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].message.find("listed twice"), std::string::npos);
}

// The outbound: section is reported like any other configuration error: file, line and column
// of the offending node (outbound_errors_test.cc has several mistakes at once).
TEST(ConfigLoader, OutboundSection) {
  const std::string section = R"(outbound:
  listen: {address: 127.0.0.1, port: 8450}
  credentials_file: proxy.credentials
  interception_ca: {certificate: ca.pem, key: ca.key}
  max_response_bytes: 2048
)";
  ConfigLoadResult r = load(kNoEnforcement + "policy: /srv/policy.yaml\n" + section);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  ASSERT_NE(r.config->outbound, nullptr);
  EXPECT_EQ(r.config->outbound->listen_port, 8450);
  EXPECT_EQ(r.config->outbound->credentials_file, "/etc/bg/proxy.credentials");
  EXPECT_EQ(r.config->outbound->max_response_bytes, 2048u);

  // Without a policy nothing could judge what leaves.
  r = load(std::string(kMinimal) + section);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("requires a 'policy'"), std::string::npos);

  // A mistake inside the section: its own line and column.
  r = load(kNoEnforcement + "policy: /srv/policy.yaml\noutbound:\n  listen: {port: 0}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "/etc/bg/test.yaml");
  EXPECT_EQ(r.errors[0].line, 18);
  EXPECT_EQ(r.errors[0].column, 18);
  EXPECT_NE(r.errors[0].message.find("outbound.listen.port"), std::string::npos);

  // The proxy never shares a federation listener's socket.
  r = load(kNoEnforcement + "policy: /srv/policy.yaml\n" +
           std::regex_replace(section, std::regex("8450"), "8448"));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("collides"), std::string::npos);
  // Nor does direct mode's listener.
  r = load(kNoEnforcement + "policy: /srv/policy.yaml\n" + section +
           "  direct_listen: {address: 127.0.0.1, port: 8448}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("outbound.direct_listen collides"), std::string::npos);
  r = load(kNoEnforcement + "policy: /srv/policy.yaml\n" + section +
           "  direct_listen: {address: 127.0.0.1, port: 8449}\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_TRUE(r.config->outbound->direct);
  // The TLS proxy listener: never on a federation listener's socket; its certificate entry
  // carries the file position later certificate errors are reported at.
  r = load(kNoEnforcement + "policy: /srv/policy.yaml\n" + section +
           "  listen_tls: {address: 127.0.0.1, port: 8448, certificate: p.crt, private_key: p.k}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("outbound.listen_tls collides"), std::string::npos);
  r = load(kNoEnforcement + "policy: /srv/policy.yaml\n" + section +
           "  listen_tls: {address: 127.0.0.1, port: 8451, certificate: p.crt, private_key: p.k}\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  ASSERT_TRUE(r.config->outbound->tls);
  ASSERT_EQ(r.config->outbound->tls_listen.certificates.size(), 1u);
  const CertificateConfig& proxy_cert = r.config->outbound->tls_listen.certificates[0];
  EXPECT_EQ(proxy_cert.certificate, "/etc/bg/p.crt");
  EXPECT_EQ(proxy_cert.location, "/etc/bg/test.yaml:22:15");

  // enabled: false keeps the listener off.
  r = load(std::string(kMinimal) + "outbound:\n  enabled: false\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_EQ(r.config->outbound, nullptr);
}

// Every ```yaml block in docs/configuration.md that is a whole configuration
// (it has `version:`) must load; the documentation cannot drift from the code.
TEST(ConfigLoader, DocumentedExamplesLoad) {
  const std::string doc = read_file(std::string(BG_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_FALSE(doc.empty());
  size_t pos = 0;
  int blocks = 0;
  while ((pos = doc.find("```yaml\n", pos)) != std::string::npos) {
    pos += 8;
    size_t end = doc.find("```", pos);
    ASSERT_NE(end, std::string::npos);
    std::string block = doc.substr(pos, end - pos);
    pos = end + 3;
    if (block.find("version:") == std::string::npos) continue;
    ++blocks;
    ConfigLoadResult r = load_config_text(block, std::string(BG_SOURCE_DIR) + "/docs/example.yaml");
    EXPECT_TRUE(r.errors.empty()) << "block " << blocks << ": " << r.errors.front().to_string();
  }
  EXPECT_GE(blocks, 2);
}

}  // namespace
}  // namespace bordergate
