// The server names and resolver addresses the configuration accepts, row by row, next to what
// the Matrix server-name grammar of bg_server_name (gateway/discovery/server_name.h) says about
// the same text. Where the two columns differ, switching the configuration to that grammar would
// change which files load: the rows say exactly which.
#include "gateway/config/value_syntax.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/discovery/server_name.h"

namespace bordergate {
namespace {

struct Row {
  std::string text;
  bool config;   // accepted by the configuration today
  bool grammar;  // accepted by bg_server_name
};

// A DNS name of `length` characters: labels of 61 letters separated by dots.
std::string dns_name_of_length(std::size_t length) {
  std::string out;
  while (out.size() < length) out += std::string(61, 'a') + '.';
  out.resize(length);
  if (out.back() == '.') out.back() = 'b';
  return out;
}

TEST(ValueSyntax, ServerNames) {
  const Row rows[] = {
      // Accepted by both.
      {"example.org", true, true},
      {"EXAMPLE.org", true, true},
      {"matrix.example.org:8448", true, true},
      {"a", true, true},
      {"localhost", true, true},
      {"a-b.example", true, true},
      {"xn--bcher-kva.example", true, true},
      {"1.2.3.4", true, true},
      {"1.2.3.4:8448", true, true},
      {"[::1]", true, true},
      {"[::1]:8448", true, true},
      {"[2001:db8::1]:443", true, true},
      {"[::ffff:1.2.3.4]", true, true},
      {"example.org:65535", true, true},
      {"example.org:08448", true, true},
      {std::string(63, 'a') + ".example", true, true},
      {dns_name_of_length(253), true, true},
      // Refused by both.
      {"", false, false},
      {"example.org.", false, false},
      {".example.org", false, false},
      {"a..b", false, false},
      {"exa mple.org", false, false},
      {"a_b.example", false, false},
      {"*.example.org", false, false},
      {"example.org:", false, false},
      {"example.org:123456", false, false},
      {"example.org:-1", false, false},
      {"example.org:84a8", false, false},
      {"a:1:2", false, false},
      {"::1", false, false},
      {"2001:db8::1", false, false},
      {"[::1", false, false},
      {"[::1]:", false, false},
      {"[::1]x", false, false},
      {"[1.2.3.4]", false, false},
      {"[example.org]", false, false},
      {"[fe80::1%eth0]", false, false},
      {"[]", false, false},
      {std::string(64, 'a') + ".example", false, false},
      {dns_name_of_length(256), false, false},
      {"https://example.org", false, false},
      {"example.org/path", false, false},
      {"@user:example.org", false, false},
      // The grammars differ. The configuration takes any 1-5 digit port ...
      {"example.org:0", true, false},
      {"example.org:65536", true, false},
      {"example.org:99999", true, false},
      // ... reads a host of digits and dots as a DNS name when it is no dotted quad ...
      {"127.1", true, false},
      {"256.1.1.1", true, false},
      {"010.0.0.1", true, false},
      {"1.2.3", true, false},
      {"1.2.3.4.5", true, false},
      {"123", true, false},
      // ... lets a label start or end with '-' ...
      {"-a.example", true, false},
      {"a-.example", true, false},
      {"a.-example", true, false},
      // ... and stops DNS names at 253 characters where the grammar allows 255.
      {dns_name_of_length(254), false, true},
      {dns_name_of_length(255), false, true},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(valid_server_name(row.text), row.config) << "'" << row.text << "'";
    EXPECT_EQ(discovery::parse_server_name(row.text).ok(), row.grammar) << "'" << row.text << "'";
  }
}

// The grammar column here: a server name whose host is an IP literal (resolvers have no DNS name).
bool ip_server_name(const std::string& text) {
  auto name = discovery::parse_server_name(text);
  return name && name->is_ip_literal();
}

TEST(ValueSyntax, Resolvers) {
  const Row rows[] = {
      // Accepted by both.
      {"127.0.0.1", true, true},
      {"127.0.0.1:53", true, true},
      {"10.0.0.53", true, true},
      {"127.0.0.1:65535", true, true},
      {"127.0.0.1:0053", true, true},
      {"[::1]", true, true},
      {"[::1]:5353", true, true},
      {"[2001:db8::1]:53", true, true},
      {"[::ffff:1.2.3.4]:53", true, true},
      {"[::]", true, true},
      {"[::]:53", true, true},
      // Refused by both.
      {"", false, false},
      {"127.0.0.1:", false, false},
      {"127.0.0.1:0", false, false},
      {"127.0.0.1:65536", false, false},
      {"127.0.0.1:+53", false, false},
      {"127.0.0.1:5a", false, false},
      {"[::1]:", false, false},
      {"[::1]x", false, false},
      {"[::1", false, false},
      {"::", false, false},
      {"1::", false, false},
      {"fe80::", false, false},
      {"fe80::1%eth0", false, false},
      {"[fe80::1%eth0]:53", false, false},
      {"localhost", false, false},
      {"localhost:53", false, false},
      {"dns.example", false, false},
      {"127.1", false, false},
      {"010.0.0.1", false, false},
      {"256.0.0.1", false, false},
      {"1.2.3.4.5", false, false},
      {"1.2.3.4:53:53", false, false},
      // The grammars differ. The configuration takes an IPv6 address without brackets (when it
      // has no port) ...
      {"::1", true, false},
      {"2001:db8::1", true, false},
      {"::ffff:1.2.3.4", true, false},
      // ... an IPv4 address in brackets ...
      {"[1.2.3.4]", true, false},
      {"[1.2.3.4]:53", true, false},
      // ... and a port of more than five digits when it has leading zeros.
      {"127.0.0.1:000053", true, false},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(plausible_resolver(row.text), row.config) << "'" << row.text << "'";
    EXPECT_EQ(ip_server_name(row.text), row.grammar) << "'" << row.text << "'";
  }
}

}  // namespace
}  // namespace bordergate
