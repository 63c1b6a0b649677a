// Server-name grammar (federation-notes §1.1): every spec example plus the edge cases that decide
// whether a name can smuggle an address past the guard.
#include "gateway/discovery/server_name.h"

#include <gtest/gtest.h>

namespace bordergate::discovery {
namespace {

struct ValidCase {
  const char* text;
  const char* host;
  HostKind kind;
  int port;  // -1: none
  const char* authority;
};

TEST(ServerNameTest, AcceptsValidNames) {
  const ValidCase cases[] = {
      {"matrix.org", "matrix.org", HostKind::kDnsName, -1, "matrix.org"},
      {"matrix.org:8888", "matrix.org", HostKind::kDnsName, 8888, "matrix.org:8888"},
      {"1.2.3.4", "1.2.3.4", HostKind::kIpv4, -1, "1.2.3.4"},
      {"1.2.3.4:1234", "1.2.3.4", HostKind::kIpv4, 1234, "1.2.3.4:1234"},
      {"[1234:5678::abcd]", "1234:5678::abcd", HostKind::kIpv6, -1, "[1234:5678::abcd]"},
      {"[1234:5678::abcd]:5678", "1234:5678::abcd", HostKind::kIpv6, 5678,
       "[1234:5678::abcd]:5678"},
      {"[::ffff:127.0.0.1]", "::ffff:127.0.0.1", HostKind::kIpv6, -1, "[::ffff:127.0.0.1]"},
      {"localhost", "localhost", HostKind::kDnsName, -1, "localhost"},
      {"Example.ORG", "Example.ORG", HostKind::kDnsName, -1, "Example.ORG"},
      {"a-b.c-d.example", "a-b.c-d.example", HostKind::kDnsName, -1, "a-b.c-d.example"},
      {"0.0.0.0", "0.0.0.0", HostKind::kIpv4, -1, "0.0.0.0"},
      {"255.255.255.255:65535", "255.255.255.255", HostKind::kIpv4, 65535, "255.255.255.255:65535"},
      {"example.org:1", "example.org", HostKind::kDnsName, 1, "example.org:1"},
      {"123.example", "123.example", HostKind::kDnsName, -1, "123.example"},
      {"[::1]:8448", "::1", HostKind::kIpv6, 8448, "[::1]:8448"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto name = parse_server_name(c.text);
    ASSERT_TRUE(name.ok()) << name.error().code;
    EXPECT_EQ(name->text, c.text);
    EXPECT_EQ(name->host, c.host);
    EXPECT_EQ(name->kind, c.kind);
    EXPECT_EQ(name->is_ip_literal(), c.kind != HostKind::kDnsName);
    EXPECT_EQ(name->ip.has_value(), c.kind != HostKind::kDnsName);
    if (c.port < 0) {
      EXPECT_FALSE(name->port.has_value());
    } else {
      EXPECT_EQ(name->port, c.port);
    }
    EXPECT_EQ(name->authority(), c.authority);
  }
}

TEST(ServerNameTest, RejectsInvalidNamesWithExactCodes) {
  const std::pair<std::string, const char*> cases[] = {
      {"", "empty_server_name"},
      {std::string(262, 'a'), "server_name_too_long"},
      {"matrix.org:", "invalid_port"},
      {"matrix.org:0", "invalid_port"},
      {"matrix.org:65536", "invalid_port"},
      {"matrix.org:123456", "invalid_port"},
      {"matrix.org:80a", "invalid_port"},
      {"matrix.org:+80", "invalid_port"},
      {"matrix.org:-1", "invalid_port"},
      {"a:1:2", "invalid_port"},
      {"1234:5678::abcd", "invalid_port"},  // IPv6 needs brackets
      {"[::1]8448", "invalid_port"},
      {"[::1]:", "invalid_port"},
      {"1.2.3.256", "invalid_ipv4"},
      {"1.2.3", "invalid_ipv4"},
      {"1.2.3.4.5", "invalid_ipv4"},
      {"127.1", "invalid_ipv4"},
      {"010.0.0.1", "invalid_ipv4"},
      {"1..2.3", "invalid_ipv4"},
      {"1.2.3.4.", "invalid_ipv4"},
      {"1234", "invalid_ipv4"},
      {"[::1", "invalid_ipv6"},
      {"[]", "invalid_ipv6"},
      {"[1]", "invalid_ipv6"},
      {"[::g]", "invalid_ipv6"},
      {"[fe80::1%eth0]", "invalid_ipv6"},
      {"[1:2:3:4:5:6:7:8:9]", "invalid_ipv6"},
      {"[1.2.3.4]", "invalid_ipv6"},
      {"[" + std::string(46, '1') + "]", "invalid_ipv6"},
      {"matrix.org.", "invalid_dns_name"},
      {".matrix.org", "invalid_dns_name"},
      {"matrix..org", "invalid_dns_name"},
      {"matrix_org", "invalid_dns_name"},
      {"mätrix.org", "invalid_dns_name"},
      {"user@matrix.org", "invalid_dns_name"},
      {"matrix.org/path", "invalid_dns_name"},
      {"matrix org", "invalid_dns_name"},
      {"-matrix.org", "invalid_dns_name"},
      {"matrix-.org", "invalid_dns_name"},
      {"matrix.-org", "invalid_dns_name"},
      {"matrix.org-", "invalid_dns_name"},
      {"-", "invalid_dns_name"},
      {"-.org:8448", "invalid_dns_name"},
      {std::string(64, 'a') + ".org", "invalid_dns_name"},
      {std::string(128, 'a') + "." + std::string(127, 'b') + ".c", "invalid_dns_name"},
      {":8448", "invalid_dns_name"},
  };
  for (const auto& [text, code] : cases) {
    SCOPED_TRACE(text);
    auto name = parse_server_name(text);
    ASSERT_FALSE(name.ok());
    EXPECT_EQ(name.error().code, code);
  }
}

TEST(ServerNameTest, LongestLabelAndNameAreAccepted) {
  const std::string label63(63, 'a');
  EXPECT_TRUE(parse_server_name(label63 + ".org").ok());
  // 255 characters: four 63-char labels separated by dots = 255.
  const std::string longest = label63 + "." + label63 + "." + label63 + "." + label63;
  ASSERT_EQ(longest.size(), 255u);
  EXPECT_TRUE(parse_server_name(longest).ok());
  EXPECT_TRUE(parse_server_name(longest + ":65535").ok());
}

TEST(ServerNameTest, ParseHostRejectsPorts) {
  EXPECT_TRUE(parse_host("target.example").ok());
  EXPECT_TRUE(parse_host("[::1]").ok());
  EXPECT_EQ(parse_host("target.example:80").error().code, "invalid_dns_name");
  EXPECT_EQ(parse_host("[::1]:80").error().code, "invalid_ipv6");
  EXPECT_EQ(parse_host("").error().code, "empty_server_name");
}

}  // namespace
}  // namespace bordergate::discovery
