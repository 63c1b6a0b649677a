// The CONNECT decision against a real compiled policy, egress list and SSRF guard.
#include "gateway/outbound/connect_admission.h"

#include <gtest/gtest.h>

#include "policy/loader.h"

namespace bordergate::outbound {
namespace {

constexpr const char* kPolicy = R"(
version: 1
server_name: core.example
default: deny
federations:
  partners: {servers: ["*.partner.example", "hq.partner2.example"]}
  inbound_only: {servers: ["*.in.example"]}
  lab: {servers: ["127.0.0.9", "*.lab.example"], allow_ip_literals: true}
  closed: {servers: ["*.closed.example"]}
rules:
  - {id: in-only, federation: inbound_only, direction: inbound, action: allow}
  - {id: partners-out, federation: partners, direction: outbound, action: allow}
  - {id: lab-report, federation: lab, action: report}
  - {id: closed-deny, federation: closed, action: deny}
  - {id: hq-extra, servers: [hq.partner2.example], direction: outbound, endpoints: [send], action: allow}
  - {id: any-hierarchy, peer: any, direction: inbound, endpoints: [hierarchy], action: allow}
)";

std::shared_ptr<const policy::Policy> load() {
  auto out = policy::load_policy_text(kPolicy, "test.yaml");
  for (const auto& d : out.diagnostics) {
    if (d.severity == policy::Diagnostic::Severity::error) ADD_FAILURE() << d.to_string();
  }
  return out.policy;
}

TEST(ConnectAdmissionTest, Table) {
  auto policy = load();
  ASSERT_TRUE(policy);
  auto egress = EgressAllowList::compile(
      {{"push.example.org", "tunnel", {}}, {"*.in.example", "intercept", {8448}}});
  ASSERT_TRUE(egress.ok());
  auto guard = discovery::AddressGuard::from_strings({"127.0.0.9/32"});
  ASSERT_TRUE(guard.ok());
  struct Case {
    const char* target;
    TunnelKind kind;
    const char* rule;
    const char* reason;
  } cases[] = {
      {"a.partner.example:8448", TunnelKind::kFederation, "partners-out", "federation_destination"},
      {"A.Partner.Example:443", TunnelKind::kFederation, "partners-out", "federation_destination"},
      {"hq.partner2.example:8448", TunnelKind::kFederation, "partners-out",
       "federation_destination"},
      {"partner.example:8448", TunnelKind::kRefused, "default", "destination_in_no_federation"},
      {"evil.example:8448", TunnelKind::kRefused, "default", "destination_in_no_federation"},
      {"x.closed.example:8448", TunnelKind::kRefused, "default", "no_outbound_rule"},
      // Member of an inbound-only federation: not a federation destination, but on the egress
      // list for port 8448 only.
      {"x.in.example:8448", TunnelKind::kEgressIntercept, "egress:*.in.example",
       "egress_intercept"},
      {"x.in.example:443", TunnelKind::kRefused, "default", "no_outbound_rule"},
      {"push.example.org:443", TunnelKind::kEgressTunnel, "egress:push.example.org",
       "egress_tunnel"},
      {"push2.example.org:443", TunnelKind::kRefused, "default", "destination_in_no_federation"},
      {"127.0.0.9:8448", TunnelKind::kFederation, "lab-report", "federation_destination"},
      {"127.0.0.1:8448", TunnelKind::kRefused, "ssrf", "ssrf_blocked_address"},
      {"[::1]:8448", TunnelKind::kRefused, "ssrf", "ssrf_blocked_address"},
      {"[::ffff:127.0.0.1]:8448", TunnelKind::kRefused, "ssrf", "ssrf_blocked_address"},
      {"core.example:8448", TunnelKind::kRefused, "default", "destination_is_core"},
      {"CORE.example:443", TunnelKind::kRefused, "default", "destination_is_core"},
  };
  for (const auto& c : cases) {
    auto target = parse_connect_target(c.target);
    ASSERT_TRUE(target.ok()) << c.target;
    const ConnectDecision d = admit_connect(*policy, *egress, *guard, *target);
    EXPECT_EQ(c.kind, d.kind) << c.target << " got " << tunnel_kind_name(d.kind);
    EXPECT_EQ(c.rule, d.rule_id) << c.target;
    EXPECT_EQ(c.reason, d.reason) << c.target;
  }
}

TEST(ConnectAdmissionTest, ReportsFederationsAndIgnoresIpForAnyRules) {
  auto out = policy::load_policy_text(R"(
version: 1
server_name: core.example
default: deny
federations:
  a: {servers: ["*.a.example"]}
  b: {servers: ["x.a.example", "127.0.0.9"], allow_ip_literals: true}
rules:
  - {id: any-out, peer: any, direction: outbound, action: allow}
)",
                                      "t.yaml");
  ASSERT_TRUE(out.policy);
  auto egress = EgressAllowList::compile({});
  auto guard = discovery::AddressGuard::from_strings({"127.0.0.0/8"});
  ASSERT_TRUE(egress.ok() && guard.ok());
  auto d = admit_connect(*out.policy, *egress, *guard, *parse_connect_target("x.a.example:8448"));
  EXPECT_EQ(TunnelKind::kFederation, d.kind);
  EXPECT_EQ((std::vector<std::string>{"a", "b"}), d.federations);
  // `peer: any` never covers an IP literal, as in policy::evaluate.
  auto ip = admit_connect(*out.policy, *egress, *guard, *parse_connect_target("127.0.0.9:8448"));
  EXPECT_EQ(TunnelKind::kRefused, ip.kind);
  EXPECT_EQ("no_outbound_rule", ip.reason);
  // And an `any` rule never opens a server outside every federation.
  auto outside =
      admit_connect(*out.policy, *egress, *guard, *parse_connect_target("b.example:8448"));
  EXPECT_EQ("destination_in_no_federation", outside.reason);
}

}  // namespace
}  // namespace bordergate::outbound
