// Egress allow list matching: exact names, *.domain below the domain only, IP entries, ports.
#include "gateway/outbound/egress_allow_list.h"

#include <gtest/gtest.h>

namespace bordergate::outbound {
namespace {

TEST(EgressAllowListTest, MatchTable) {
  auto list = EgressAllowList::compile({
      {"push.example.org", "tunnel", {}},
      {"*.preview.example.net", "intercept", {443, 8443}},
      {"127.0.0.5", "intercept", {9000}},
      {"[::1]", "tunnel", {9001}},
  });
  ASSERT_TRUE(list.ok()) << list.error().message;
  struct Case {
    const char* target;
    const char* rule;  // nullptr = denied
    EgressMode mode;
  } cases[] = {
      {"push.example.org:443", "push.example.org", EgressMode::kTunnel},
      {"PUSH.Example.org:443", "push.example.org", EgressMode::kTunnel},
      {"push.example.org:8448", nullptr, {}},  // no ports listed: 443 only
      {"x.push.example.org:443", nullptr, {}},
      {"push.example.org.evil:443", nullptr, {}},
      {"evilpush.example.org:443", nullptr, {}},
      {"a.preview.example.net:8443", "*.preview.example.net", EgressMode::kIntercept},
      {"a.b.preview.example.net:443", "*.preview.example.net", EgressMode::kIntercept},
      {"preview.example.net:443", nullptr, {}},  // the apex is not below itself
      {"xpreview.example.net:443", nullptr, {}},
      {"a.preview.example.net:80", nullptr, {}},
      {"127.0.0.5:9000", "127.0.0.5", EgressMode::kIntercept},
      {"127.0.0.5:443", nullptr, {}},
      {"127.0.0.6:9000", nullptr, {}},
      {"[::1]:9001", "[::1]", EgressMode::kTunnel},
      {"[0:0::1]:9001", "[::1]", EgressMode::kTunnel},
      {"[::ffff:127.0.0.5]:9000", nullptr, {}},  // listed as v4; mapped form is not the same
      {"other.example:443", nullptr, {}},
  };
  for (const auto& c : cases) {
    auto target = parse_connect_target(c.target);
    ASSERT_TRUE(target.ok()) << c.target;
    auto rule = list->match(*target);
    if (c.rule == nullptr) {
      EXPECT_FALSE(rule.has_value()) << c.target;
    } else {
      ASSERT_TRUE(rule.has_value()) << c.target;
      EXPECT_EQ(c.rule, rule->pattern) << c.target;
      EXPECT_EQ(c.mode, rule->mode) << c.target;
    }
  }
}

TEST(EgressAllowListTest, EmptyListDeniesEverything) {
  auto list = EgressAllowList::compile({});
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE(list->match(*parse_connect_target("push.example.org:443")).has_value());
}

TEST(EgressAllowListTest, RejectsBadEntries) {
  struct Case {
    EgressEntrySpec spec;
    const char* error;
  } cases[] = {
      {{"*", "tunnel", {}}, "egress_bad_pattern"},
      {{"*.", "tunnel", {}}, "egress_bad_pattern"},
      {{"a.*.example", "tunnel", {}}, "egress_bad_pattern"},
      {{"*example.org", "tunnel", {}}, "egress_bad_pattern"},
      {{"*.127.0.0.1", "tunnel", {}}, "egress_bad_pattern"},
      {{"push.example.org:443", "tunnel", {}}, "egress_bad_pattern"},
      {{"push.example.org", "splice", {}}, "egress_bad_mode"},
      {{"push.example.org", "", {}}, "egress_bad_mode"},
      {{"push.example.org", "tunnel", {0}}, "egress_bad_pattern"},
  };
  for (const auto& c : cases) {
    auto r = EgressAllowList::compile({c.spec});
    ASSERT_FALSE(r.ok()) << c.spec.host;
    EXPECT_EQ(c.error, r.error().code) << c.spec.host;
  }
}

}  // namespace
}  // namespace bordergate::outbound
