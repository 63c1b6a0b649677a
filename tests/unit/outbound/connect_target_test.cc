// CONNECT request-target table: authority-form only, port required, server-name grammar.
#include "gateway/outbound/connect_target.h"

#include <gtest/gtest.h>

namespace bordergate::outbound {
namespace {

struct Case {
  const char* target;
  const char* error;  // nullptr = accepted
  const char* matrix_name;
};

TEST(ConnectTargetTest, Table) {
  const Case cases[] = {
      {"matrix.example.org:8448", nullptr, "matrix.example.org"},
      {"matrix.example.org:443", nullptr, "matrix.example.org:443"},
      {"127.0.0.1:8448", nullptr, "127.0.0.1"},
      {"[::1]:8449", nullptr, "[::1]:8449"},
      {"matrix.example.org", "connect_port_missing", nullptr},
      {"[::1]", "connect_port_missing", nullptr},
      {"", "connect_target_not_authority", nullptr},
      {"https://matrix.example.org:443", "connect_target_not_authority", nullptr},
      {"/_matrix/federation/v1/version", "connect_target_not_authority", nullptr},
      {"user@matrix.example.org:443", "connect_target_not_authority", nullptr},
      {"matrix.example.org:443/", "connect_target_not_authority", nullptr},
      {"matrix.example.org :443", "connect_target_not_authority", nullptr},
      {"matrix.example.org%2e:443", "connect_target_not_authority", nullptr},
      {"matrix.example.org:0", "invalid_port", nullptr},
      {"matrix.example.org:65536", "invalid_port", nullptr},
      {"matrix.example.org:", "invalid_port", nullptr},
      {"matrix.example.org:44a", "invalid_port", nullptr},
      {"a:1:2", "invalid_port", nullptr},
      {"::1:443", "invalid_port", nullptr},
      {"127.1:443", "invalid_ipv4", nullptr},
      {"[::1:443", nullptr, nullptr},  // some parse error, code from the grammar
      {"a..example:443", "invalid_dns_name", nullptr},
  };
  for (const auto& c : cases) {
    auto r = parse_connect_target(c.target);
    if (c.error == nullptr && c.matrix_name != nullptr) {
      ASSERT_TRUE(r.ok()) << c.target << ": " << r.error().code;
      EXPECT_EQ(c.matrix_name, r->matrix_server_name()) << c.target;
    } else if (c.error == nullptr) {
      EXPECT_FALSE(r.ok()) << c.target;
    } else {
      ASSERT_FALSE(r.ok()) << c.target;
      EXPECT_EQ(c.error, r.error().code) << c.target;
    }
  }
}

}  // namespace
}  // namespace bordergate::outbound
