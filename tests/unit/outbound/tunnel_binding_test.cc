// Inner requests of a tunnel: Host and X-Matrix destination must name the CONNECT target, the
// X-Matrix origin must be the Core.
#include "gateway/outbound/tunnel_binding.h"

#include <gtest/gtest.h>

#include <vector>

namespace bordergate::outbound {
namespace {

struct Case {
  const char* target;
  bool federation;
  std::vector<std::string_view> hosts;
  std::vector<std::string_view> auths;
  const char* error;  // nullptr = passes
  int status;
};

constexpr std::string_view kAuthOk =
    R"(X-Matrix origin="core.example",destination="remote.example",key="ed25519:a",sig="c2ln")";

TEST(TunnelBindingTest, Table) {
  const Case cases[] = {
      {"remote.example:8448", true, {"remote.example"}, {kAuthOk}, nullptr, 0},
      {"remote.example:8448", true, {"Remote.Example:8448"}, {kAuthOk}, nullptr, 0},
      {"remote.example:8448", true, {}, {kAuthOk}, "host_missing", 400},
      {"remote.example:8448",
       true,
       {"remote.example", "remote.example"},
       {kAuthOk},
       "host_missing",
       400},
      {"remote.example:8448", true, {"remote.example/x"}, {kAuthOk}, "host_invalid", 400},
      {"remote.example:8448", true, {"other.example"}, {kAuthOk}, "host_mismatch", 403},
      {"remote.example:8448", true, {"remote.example:443"}, {kAuthOk}, "host_mismatch", 403},
      {"remote.example:8448", true, {"remote.example"}, {}, "xmatrix_missing", 401},
      {"remote.example:8448",
       true,
       {"remote.example"},
       {"X-Matrix origin"},
       "xmatrix_invalid",
       400},
      {"remote.example:8448",
       true,
       {"remote.example"},
       {R"(X-Matrix origin="evil.example",destination="remote.example",key="ed25519:a",sig="c2ln")"},
       "xmatrix_origin_not_core",
       403},
      {"remote.example:8448",
       true,
       {"remote.example"},
       {R"(X-Matrix origin="core.example",destination="other.example",key="ed25519:a",sig="c2ln")"},
       "xmatrix_destination_mismatch",
       403},
      {"remote.example:8448",
       true,
       {"remote.example"},
       {R"(X-Matrix origin="core.example",key="ed25519:a",sig="c2ln")"},
       "xmatrix_destination_missing",
       401},
      // A second X-Matrix value with another destination cannot sneak past the first.
      {"remote.example:8448",
       true,
       {"remote.example"},
       {kAuthOk,
        R"(X-Matrix origin="core.example",destination="other.example",key="ed25519:b",sig="c2ln")"},
       "xmatrix_destination_mismatch",
       403},
      {"[::1]:8448",
       true,
       {"[::1]:8448"},
       {R"(X-Matrix origin="core.example",destination="[0::1]",key="ed25519:a",sig="c2ln")"},
       nullptr,
       0},
      {"127.0.0.1:8448", true, {"127.0.0.2:8448"}, {kAuthOk}, "host_mismatch", 403},
      // Egress tunnels (push gateways) carry no X-Matrix; only Host is bound.
      {"push.example.org:443", false, {"push.example.org"}, {}, nullptr, 0},
      {"push.example.org:443", false, {"evil.example.org"}, {}, "host_mismatch", 403},
  };
  for (const auto& c : cases) {
    auto target = parse_connect_target(c.target);
    ASSERT_TRUE(target.ok()) << c.target;
    auto failure = check_tunnel_request(*target, c.federation, "core.example", c.hosts, c.auths);
    if (c.error == nullptr) {
      EXPECT_FALSE(failure.has_value()) << c.target << " " << failure->error.code;
    } else {
      ASSERT_TRUE(failure.has_value()) << c.target << " expected " << c.error;
      EXPECT_EQ(c.error, failure->error.code) << c.target;
      EXPECT_EQ(c.status, failure->status) << c.target << " " << c.error;
    }
  }
}

}  // namespace
}  // namespace bordergate::outbound
