// The outbound: section is read like every other section: a file with several mistakes in it
// gets every one of them back, each with file:line:column, in one run of the loader.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/config/config_loader.h"
#include "tests/unit/config/minimal_config.h"

namespace bordergate {
namespace {

// 16 lines: outbound: starts on line 17.
const std::string kHead = kNoEnforcement + "policy: /srv/policy.yaml\n";

struct Expected {
  int line;
  int column;
  const char* message;  // the start of the message
};

struct Case {
  const char* name;
  const char* section;
  std::vector<Expected> errors;  // in the order the loader reports them
};

const Case kCases[] = {
    {"values of every kind",
     R"(outbound:
  listen: {address: gw.example, port: 0}
  clients: []
  credentials_file: c
  interception_ca: {certificate: ca.pem}
  leaf_cache: 0
  connect_timeout: soon
  egress: [{host: '*', mode: tunnel}, {host: a.example, mode: splice}]
)",
     {{18, 21, "outbound.listen.address must be an IP address"},
      {18, 39, "outbound.listen.port must be between 1 and 65535"},
      {19, 12, "outbound.clients must be a non-empty list of CIDR ranges"},
      {21, 20, "outbound.interception_ca.key must be a non-empty string"},
      {22, 15, "outbound.leaf_cache must be between 1 and 1000000"},
      {23, 20, "outbound.connect_timeout must be a duration"},
      {24, 12, "egress entry *: expected a host name, *.domain or an IP literal"},
      {24, 39, "egress entry a.example: mode must be tunnel or intercept"}}},
    {"unknown keys at every level and bad list entries",
     R"(outbound:
  bogus: 1
  listen_tls: {address: 127.0.0.1, certificate: p.crt, private_key: p.key, sni: x}
  direct_listen: {port: 9000}
  delegation_hosts: ['*', deleg.example, 10.0.0.1]
  credentials_file: c
  interception_ca: {certificate: ca.pem, key: ca.key}
)",
     {{18, 3, "unknown key 'bogus' in outbound"},
      {19, 76, "unknown key 'sni' in outbound.listen_tls"},
      {20, 18, "outbound.direct_listen.address must be a non-empty string"},
      {21, 22, "delegation host '*' is not a DNS name or *.domain"},
      {21, 42, "delegation host '10.0.0.1' is not a DNS name or *.domain"}}},
    {"a key given twice: yaml-cpp would keep the first value silently",
     R"(outbound:
  listen: {address: 127.0.0.1, port: 3128, port: 3129}
  credentials_file: c
  credentials_file: d
  interception_ca: {certificate: ca.pem, key: ca.key}
)",
     {{20, 3, "duplicate key 'credentials_file' in outbound"},
      {18, 44, "duplicate key 'port' in outbound.listen"}}},
    {"checks across keys, once the keys themselves are clean",
     R"(outbound:
  listen: {address: 127.0.0.1, port: 3128}
  listen_tls: {address: 127.0.0.1, port: 3128, certificate: p.crt, private_key: p.key}
  direct_listen: {address: 127.0.0.1, port: 3128}
  leaf_lifetime: 1h
  leaf_renew_before: 2h
)",
     {{19, 15, "outbound.listen_tls must differ from outbound.listen"},
      {20, 18, "outbound.direct_listen must differ from outbound.listen"},
      {22, 22, "leaf_renew_before must be below leaf_lifetime"},
      {18, 3, "outbound.credentials_file is required"},
      {18, 3, "outbound.interception_ca is required"}}},
};

TEST(OutboundErrors, EveryMistakeIsReportedWithItsPosition) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const ConfigLoadResult r = load_config_text(kHead + c.section, "/etc/bg/test.yaml");
    std::string all;
    for (const ConfigError& e : r.errors) all += e.to_string() + "\n";
    EXPECT_EQ(r.config, nullptr);
    ASSERT_EQ(r.errors.size(), c.errors.size()) << all;
    for (std::size_t i = 0; i < c.errors.size(); ++i) {
      const ConfigError& got = r.errors[i];
      const Expected& want = c.errors[i];
      EXPECT_EQ(got.file, "/etc/bg/test.yaml");
      EXPECT_EQ(got.line, want.line) << got.to_string();
      EXPECT_EQ(got.column, want.column) << got.to_string();
      EXPECT_EQ(got.message.rfind(want.message, 0), 0u) << got.to_string();
    }
  }
}

// Mistakes in the outbound section and elsewhere come back together, in file order of sections.
TEST(OutboundErrors, ReportedWithTheRestOfTheFile) {
  const ConfigLoadResult r = load_config_text(
      kHead + "limits: {max_headers: 0}\noutbound:\n  leaf_cache: many\n", "/etc/bg/test.yaml");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].to_string().rfind("/etc/bg/test.yaml:17:23: 'max_headers' must be", 0), 0u)
      << r.errors[0].to_string();
  EXPECT_EQ(r.errors[1].to_string().rfind(
                "/etc/bg/test.yaml:19:15: outbound.leaf_cache must be a non-negative integer", 0),
            0u)
      << r.errors[1].to_string();
}

}  // namespace
}  // namespace bordergate
