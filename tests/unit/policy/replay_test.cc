// policy replay as a pure function: recorded decisions evaluated under a proposed policy,
// counted per rule and per peer, every flip listed (up to a bound, the rest counted), records
// without facts counted by reason; renderings that survive hostile ids.
#include "policy/replay.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace bordergate::policy {
namespace {

constexpr const char* kProposed = R"(version: 1
server_name: core.example
default: deny
federations:
  partners: {servers: [a.example, b.example]}
rules:
  - {id: keys, peer: unknown, endpoints: [key.server], action: allow}
  - {id: partners, federation: partners, endpoints: [send], action: allow}
  - {id: no-b, servers: [b.example], endpoints: [send], action: deny}
  - {id: hold-polls, federation: partners, event_types: [m.poll.start], action: quarantine}
)";

ReplayRecord recorded(std::uint64_t seq, std::optional<std::string> origin, FederationEndpoint e,
                      std::string action, std::string rule, std::string event_type = {}) {
  ReplayRecord r;
  r.seq = seq;
  r.time = "2026-12-07T10:00:00.000Z";
  r.recorded_policy = "aaaa";
  RequestFacts f = testing::inbound(std::move(origin), e);
  if (!event_type.empty()) {
    f.pdus.push_back({event_type, "!r:a.example", "@u:a.example", CheckResult::passed,
                      CheckResult::passed, false});
  }
  f.x_matrix = f.origin ? CheckResult::passed : CheckResult::not_run;
  r.facts = f;
  r.action = std::move(action);
  r.rule = std::move(rule);
  return r;
}

TEST(Replay, CountsFlipsPerRuleAndPeer) {
  auto proposed = testing::must_load(kProposed);
  ASSERT_TRUE(proposed);
  Replayer replayer(*proposed, "proposed.yaml");
  using E = FederationEndpoint;
  replayer.add(recorded(1, "a.example", E::send, "allow", "partners", "m.room.message"));
  replayer.add(recorded(2, "b.example", E::send, "allow", "partners", "m.room.message"));
  replayer.add(recorded(3, "a.example", E::send, "allow", "partners", "m.poll.start"));
  replayer.add(recorded(4, std::nullopt, E::key_server, "allow", "keys"));
  replayer.add(recorded(5, "c.example", E::send, "allow", "old-open", "m.room.message"));
  replayer.add(recorded(6, "a.example", E::send, "report", "partners", "m.room.message"));
  ReplayRecord none;
  none.seq = 7;
  none.not_replayable = "decided before the policy was consulted: bad_signature";
  replayer.add(none);
  replayer.add(none);
  const ReplayReport& r = replayer.report();
  EXPECT_EQ(r.decisions, 8u);
  EXPECT_EQ(r.replayed, 6u);
  EXPECT_EQ(r.unchanged, 2u);     // 1 and 4
  EXPECT_EQ(r.rule_changed, 1u);  // 6: report -> allow forwards either way
  EXPECT_EQ(r.changed, 3u);
  EXPECT_EQ(r.kinds, (std::map<std::string, std::uint64_t>{{"allow -> deny", 2},
                                                           {"allow -> quarantine", 1}}));
  EXPECT_EQ(r.not_replayable.at("decided before the policy was consulted: bad_signature"), 2u);
  ASSERT_EQ(r.changes.size(), 3u);
  EXPECT_EQ(r.changes[0].seq, 2u);
  EXPECT_EQ(r.changes[0].to_rule, "no-b");
  EXPECT_EQ(r.changes[1].to_action, "quarantine");
  EXPECT_EQ(r.changes[2].peer, "c.example");
  EXPECT_EQ(r.changes[2].to_rule, "default");
  EXPECT_EQ(r.by_rule.at("partners").before, 4u);
  EXPECT_EQ(r.by_rule.at("partners").after, 2u);
  EXPECT_EQ(r.by_rule.at("old-open").after, 0u);
  EXPECT_EQ(r.by_peer.at("b.example").changed, 1u);
  EXPECT_EQ(r.by_peer.at("(unknown origin)").replayed, 1u);
  EXPECT_EQ(r.recorded_policies.at("aaaa"), 6u);
}

TEST(Replay, ListsChangesUpToTheBound) {
  auto proposed = testing::must_load(kProposed);
  Replayer replayer(*proposed, "p.yaml", 2);
  for (std::uint64_t i = 0; i < 5; ++i) {
    replayer.add(recorded(i, "b.example", FederationEndpoint::send, "allow", "partners", "m.x"));
  }
  EXPECT_EQ(replayer.report().changed, 5u);
  EXPECT_EQ(replayer.report().changes.size(), 2u);
  EXPECT_EQ(replayer.report().changes_not_listed, 3u);
  EXPECT_NE(replay_text(replayer.report(), {}).find("... and 3 more change(s) not listed"),
            std::string::npos);
}

TEST(Replay, OutcomeClasses) {
  const std::pair<const char*, const char*> cases[] = {
      {"allow", "allow"}, {"report", "allow"},          {"forward", "allow"},
      {"deny", "deny"},   {"quarantine", "quarantine"}, {"", "deny"},
  };
  for (const auto& [action, cls] : cases) EXPECT_EQ(outcome_class(action), cls) << action;
}

TEST(Replay, RenderingsSurviveHostileIds) {
  auto proposed = testing::must_load(kProposed);
  Replayer replayer(*proposed, "p<1>.yaml");
  ReplayRecord r = recorded(1, "b.example", FederationEndpoint::send, "allow", "partners", "m.x");
  r.time = "<script>alert(1)</script>";
  replayer.add(r);
  ReplayRecord odd = recorded(2, "\xff.example", FederationEndpoint::send, "deny", "x", "m.x");
  replayer.add(odd);
  const std::vector<std::string> context = {"audit log: a&b.log"};
  auto j = nlohmann::json::parse(replay_json(replayer.report(), context));
  EXPECT_EQ(j["changed"], 1);
  EXPECT_EQ(j["changes"][0]["time"], "<script>alert(1)</script>");
  const std::string html = replay_html(replayer.report(), context);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a&amp;b.log"), std::string::npos);
  EXPECT_NE(html.find("p&lt;1&gt;.yaml"), std::string::npos);
}

}  // namespace
}  // namespace bordergate::policy
