// Pending-delegation tunnels: which CONNECTs open one, which SNI the gate takes, which X-Matrix
// destination a request claims, and whether the gateway's own discovery of that destination
// accounts for the tunnel (CONNECT target among its named targets, SNI = tls_name, Host).
#include "gateway/outbound/delegation_binding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/outbound/client_hello.h"
#include "gateway/outbound/connect_answer.h"
#include "policy/loader.h"

namespace bordergate::outbound {
namespace {

ConnectTarget target(const std::string& authority) { return *parse_connect_target(authority); }

std::string xmatrix(const std::string& origin, const std::string& destination) {
  std::string v = R"(X-Matrix origin=")" + origin + R"(",key="ed25519:a",sig="c2ln")";
  if (!destination.empty()) v += R"(,destination=")" + destination + R"(")";
  return v;
}

TEST(DelegationHostsTest, ExactAndWildcardPatterns) {
  auto hosts = DelegationHosts::compile({"matrix.hosting.example", "*.srv.example"});
  ASSERT_TRUE(hosts.ok()) << hosts.error().message;
  struct Case {
    const char* host;
    std::optional<std::string> pattern;
  } cases[] = {
      {"matrix.hosting.example", "matrix.hosting.example"},
      {"MATRIX.Hosting.Example", "matrix.hosting.example"},
      {"a.matrix.hosting.example", std::nullopt},
      {"hosting.example", std::nullopt},
      {"fed1.srv.example", "*.srv.example"},
      {"a.b.srv.example", "*.srv.example"},
      {"srv.example", std::nullopt},  // a wildcard is strictly below its domain
      {"evilsrv.example", std::nullopt},
      {"stranger.example", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(hosts->match(c.host), c.pattern) << c.host;
  EXPECT_TRUE(DelegationHosts::compile({}).value().empty());
  for (const char* bad : {"*", "*.", "a.*.example", "10.0.0.1", "[::1]", "host:443", "", "*x.e"}) {
    auto r = DelegationHosts::compile({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "delegation_bad_pattern") << bad;
  }
}

TEST(DelegationBindingTest, ClaimedDestinationTable) {
  struct Case {
    std::vector<std::string> authorizations;
    std::string destination;  // expected when no failure
    const char* code;         // expected failure code, or nullptr
    int status;
  } cases[] = {
      {{xmatrix("core.example", "peer.example")}, "peer.example", nullptr, 0},
      {{xmatrix("core.example", "PEER.example"), xmatrix("core.example", "peer.example")},
       "peer.example",
       nullptr,
       0},
      {{}, "", "xmatrix_missing", 401},
      {{"Bearer abc"}, "", "xmatrix_missing", 401},
      {{"X-Matrix origin"}, "", "xmatrix_invalid", 400},
      {{xmatrix("evil.example", "peer.example")}, "", "xmatrix_origin_not_core", 403},
      {{xmatrix("core.example", "")}, "", "xmatrix_destination_missing", 401},
      {{xmatrix("core.example", "peer.example"), xmatrix("core.example", "other.example")},
       "",
       "xmatrix_destinations_differ",
       403},
      // Only names that can delegate: explicit ports and IP literals are dialled as written.
      {{xmatrix("core.example", "peer.example:8448")}, "", "destination_not_delegable", 403},
      {{xmatrix("core.example", "192.0.2.7")}, "", "destination_not_delegable", 403},
      {{xmatrix("core.example", "[2001:db8::1]")}, "", "destination_not_delegable", 403},
      {{xmatrix("core.example", "bad name")}, "", "destination_not_delegable", 403},
  };
  for (const Case& c : cases) {
    std::vector<std::string_view> values(c.authorizations.begin(), c.authorizations.end());
    DestinationClaim claim = claimed_destination(values, "core.example");
    const std::string label = c.authorizations.empty() ? "(none)" : c.authorizations.front();
    if (c.code == nullptr) {
      ASSERT_FALSE(claim.failure) << label << ": " << claim.failure->error.code;
      EXPECT_EQ(claim.destination, c.destination) << label;
    } else {
      ASSERT_TRUE(claim.failure) << label;
      EXPECT_EQ(claim.failure->error.code, c.code) << label;
      EXPECT_EQ(claim.failure->status, c.status) << label;
      EXPECT_TRUE(claim.destination.empty()) << label;
    }
  }
}

discovery::ResolvedServer delegated_srv() {
  // peer.example -> well-known m.server deleg.example -> SRV fed1/fed2.hosting.example
  discovery::ResolvedServer r;
  r.server_name = "peer.example";
  r.route = discovery::Route::kDelegatedSrv;
  r.targets = {{*discovery::IpAddress::parse("127.70.0.1"), 8449},
               {*discovery::IpAddress::parse("127.70.0.2"), 9000}};
  r.target_names = {{"fed1.hosting.example", 8449}, {"fed2.hosting.example", 9000}};
  r.tls_name = "deleg.example";
  r.host_header = "deleg.example";
  return r;
}

TEST(DelegationBindingTest, DelegatedTunnelTable) {
  discovery::ResolvedServer srv = delegated_srv();
  discovery::ResolvedServer explicit_port;
  explicit_port.route = discovery::Route::kDelegatedExplicitPort;
  explicit_port.target_names = {{"deleg.example", 443}};
  explicit_port.tls_name = "deleg.example";
  explicit_port.host_header = "deleg.example:443";
  discovery::ResolvedServer to_ip;
  to_ip.route = discovery::Route::kDelegatedIp;
  to_ip.target_names = {{"192.0.2.9", 8448}};
  to_ip.tls_ip = *discovery::IpAddress::parse("192.0.2.9");
  to_ip.host_header = "192.0.2.9";

  // One row per line reads as the table it is.
  // clang-format off
  struct Case {
    const char* label;
    const discovery::ResolvedServer* resolved;
    const char* connect;
    const char* sni;
    std::vector<std::string_view> hosts;
    const char* code;  // nullptr: bound
  } cases[] = {
      // What Synapse does: CONNECT to an SRV target, SNI and Host the delegated host.
      {"srv first", &srv, "fed1.hosting.example:8449", "deleg.example", {"deleg.example"}, nullptr},
      {"srv second", &srv, "fed2.hosting.example:9000", "deleg.example", {"deleg.example"},
       nullptr},
      {"case folded", &srv, "FED1.hosting.example:8449", "Deleg.Example", {"DELEG.example"},
       nullptr},
      {"delegated explicit port", &explicit_port, "deleg.example:443", "deleg.example",
       {"deleg.example:443"}, nullptr},
      // The SRV target with another target's port, or a port of its own.
      {"port of another target", &srv, "fed1.hosting.example:9000", "deleg.example",
       {"deleg.example"}, "connect_not_delegated"},
      {"not a target", &srv, "stranger.example:8449", "deleg.example", {"deleg.example"},
       "connect_not_delegated"},
      {"the delegated host is not an SRV target", &srv, "deleg.example:8448", "deleg.example",
       {"deleg.example"}, "connect_not_delegated"},
      {"ip connect", &srv, "127.70.0.1:8449", "deleg.example", {"deleg.example"},
       "connect_not_delegated"},
      {"sni differs", &srv, "fed1.hosting.example:8449", "fed1.hosting.example",
       {"deleg.example"}, "sni_not_delegated"},
      {"host differs", &srv, "fed1.hosting.example:8449", "deleg.example",
       {"fed1.hosting.example"}, "host_not_delegated"},
      {"host port differs", &explicit_port, "deleg.example:443", "deleg.example",
       {"deleg.example"}, "host_not_delegated"},
      {"no host", &srv, "fed1.hosting.example:8449", "deleg.example", {}, "host_missing"},
      {"two hosts", &srv, "fed1.hosting.example:8449", "deleg.example",
       {"deleg.example", "deleg.example"}, "host_missing"},
      {"bad host", &srv, "fed1.hosting.example:8449", "deleg.example", {"a b"}, "host_invalid"},
      {"delegation to an ip", &to_ip, "fed1.hosting.example:8449", "deleg.example",
       {"192.0.2.9"}, "delegation_to_ip_literal"},
  };
  // clang-format on
  for (const Case& c : cases) {
    auto failure = check_delegated_tunnel(target(c.connect), c.sni, c.hosts, *c.resolved);
    if (c.code == nullptr) {
      EXPECT_FALSE(failure) << c.label << ": " << failure->error.code;
    } else {
      ASSERT_TRUE(failure) << c.label;
      EXPECT_EQ(failure->error.code, c.code) << c.label;
      EXPECT_EQ(failure->status, std::string_view(c.code).starts_with("host_") &&
                                         std::string_view(c.code) != "host_not_delegated"
                                     ? 400
                                     : 403)
          << c.label;
    }
  }
}

TEST(DelegationBindingTest, ConnectOutsideEveryFederationIsPendingOnlyOnTheDelegationList) {
  auto loaded = policy::load_policy_text(R"(
version: 1
server_name: core.example
default: deny
federations:
  partners: {servers: [peer.example]}
  silent: {servers: [mute.example]}
rules:
  - {id: partners-out, federation: partners, direction: outbound, action: allow}
)",
                                         "t.yaml");
  ASSERT_TRUE(loaded.policy);
  auto credentials = *ProxyCredentials::parse("core:s3cret");
  auto egress = *EgressAllowList::compile({});
  discovery::AddressGuard guard;
  auto delegation = *DelegationHosts::compile({"*.hosting.example", "mute.example"});
  ProxyRules rules{&credentials, loaded.policy.get(), &egress, &guard, &delegation};
  struct Case {
    const char* target;
    int status;
    TunnelKind kind;
    const char* rule_id;
    const char* reason;
  } cases[] = {
      {"fed1.hosting.example:8449", 200, TunnelKind::kPendingDelegation,
       "delegation:*.hosting.example", "pending_delegation"},
      {"peer.example:8448", 200, TunnelKind::kFederation, "partners-out", "federation_destination"},
      {"stranger.example:8448", 403, TunnelKind::kRefused, "default",
       "destination_in_no_federation"},
      // A member without an opening rule stays refused, listed or not.
      {"mute.example:8448", 403, TunnelKind::kRefused, "default", "no_outbound_rule"},
      {"127.0.0.1:8448", 403, TunnelKind::kRefused, "ssrf", "ssrf_blocked_address"},
      {"core.example:8448", 403, TunnelKind::kRefused, "default", "destination_is_core"},
  };
  for (const Case& c : cases) {
    ConnectHead head;
    head.method = "CONNECT";
    head.target = c.target;
    head.headers.push_back({"proxy-authorization", "Basic Y29yZTpzM2NyZXQ="});
    ConnectAnswer a = answer_connect(head, rules);
    EXPECT_EQ(a.status, c.status) << c.target;
    EXPECT_EQ(a.decision.kind, c.kind) << c.target;
    EXPECT_EQ(a.rule_id, c.rule_id) << c.target;
    EXPECT_EQ(a.reason, c.reason) << c.target;
  }
  // Without a delegation list (the default) nothing is pending.
  rules.delegation = nullptr;
  ConnectHead head;
  head.method = "CONNECT";
  head.target = "fed1.hosting.example:8449";
  head.headers.push_back({"proxy-authorization", "Basic Y29yZTpzM2NyZXQ="});
  EXPECT_EQ(answer_connect(head, rules).status, 403);
}

TEST(DelegationBindingTest, DelegatedGateWantsADnsSni) {
  // No SNI comparison with the CONNECT host here, but plain bytes still close at once.
  const std::string plain = "GET / HTTP/1.1\r\n\r\n";
  auto v = gate_delegated_tunnel(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()));
  EXPECT_EQ(v.action, TunnelGateVerdict::Action::kClose);
  EXPECT_EQ(v.reason, "not_tls");
  const std::uint8_t partial[] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01};
  EXPECT_EQ(gate_delegated_tunnel(partial).action, TunnelGateVerdict::Action::kNeedMore);
}

}  // namespace
}  // namespace bordergate::outbound
