// Coverage of a test run (policy/coverage.h): which rules the tests exercise and which of each
// rule's conditions they see true and false. Each row is a small policy, the requests of a tests
// file, and the coverage every rule must get, written as "status | condition:seen ...".
#include "policy/coverage.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "policy/evaluate.h"
#include "policy/test_suite.h"
#include "test_util.h"

namespace bordergate::policy {
namespace {

const std::string kHead =
    "version: 1\nserver_name: core.example\ndefault: deny\n"
    "federations: {p: {servers: [p.example]}, q: {servers: [q.example]}}\nrules:\n";

PolicyTestRun run_requests(const Policy& p, const std::vector<RequestSketch>& requests) {
  std::vector<PolicyTestCase> tests;
  for (const RequestSketch& r : requests) {
    PolicyTestCase t;
    t.name = "request " + std::to_string(tests.size());
    t.request = r;
    t.expect_action = "allow";  // coverage does not depend on expectations
    tests.push_back(t);
  }
  return run_policy_tests(p, tests);
}

std::string_view status(const RuleCoverage& r) {
  if (r.exercised()) return "exercised";
  return r.outranked > 0 ? "outranked only" : "never matched";
}

// "exercised | peer:TF direction:T endpoints:-": T seen true, F seen false, - never evaluated.
std::string summary(const RuleCoverage& r) {
  std::string s(status(r));
  s += " |";
  for (const ConditionCoverage& c : r.conditions) {
    s += " " + std::string(rule_condition_name(c.condition)) + ":";
    if (c.seen_true) s += "T";
    if (c.seen_false) s += "F";
    if (!c.seen_true && !c.seen_false) s += "-";
  }
  return s;
}

RequestSketch in(std::string origin, std::string endpoint) {
  RequestSketch s;
  s.origin = std::move(origin);
  s.endpoint = std::move(endpoint);
  return s;
}

RequestSketch out(std::string destination, std::string endpoint) {
  RequestSketch s;
  s.direction = "outbound";
  s.destination = std::move(destination);
  s.endpoint = std::move(endpoint);
  return s;
}

RequestSketch with(RequestSketch s, auto&& change) {
  change(s);
  return s;
}

struct CoverageCase {
  std::string name;
  std::string rules;  // YAML under `rules:`
  std::vector<RequestSketch> requests;
  std::vector<std::pair<std::string, std::string>> expected;  // rule id -> summary()
  int default_reached = 0;
};

void PrintTo(const CoverageCase& c, std::ostream* os) { *os << c.name; }

const std::vector<CoverageCase>& cases() {
  static const std::vector<CoverageCase> table = {
      {"a rule no request names is never matched; its peer is seen only false",
       "  - {id: dir, federation: p, direction: inbound, endpoints: [publicRooms], action: deny}\n",
       {in("q.example", "publicRooms")},
       {{"dir", "never matched | peer:F direction:- endpoints:-"}},
       1},
      {"conditions are tested in order: the first that fails is false, the rest never evaluated",
       "  - {id: inv, federation: p, direction: inbound, endpoints: [invite], "
       "invite_targets: [\"@boss*:core.example\"], action: deny}\n",
       {out("p.example", "invite")},
       {{"inv", "never matched | peer:T direction:F endpoints:- invite_targets:-"}},
       1},
      {"a condition seen true and false is covered",
       "  - {id: inv, federation: p, direction: inbound, endpoints: [invite], "
       "invite_targets: [\"@boss*:core.example\"], action: deny}\n",
       {with(in("p.example", "invite"), [](auto& s) { s.invite_target = "@boss:core.example"; }),
        with(in("p.example", "invite"), [](auto& s) { s.invite_target = "@ann:core.example"; }),
        in("p.example", "publicRooms"), out("p.example", "invite"), in("q.example", "invite")},
       {{"inv", "exercised | peer:TF direction:TF endpoints:TF invite_targets:TF"}},
       4},
      {"a rule that matches but always loses is not exercised",
       "  - {id: base, federation: p, action: allow}\n"
       "  - {id: no-dir, federation: p, endpoints: [\"@directory\"], action: deny}\n",
       {in("p.example", "publicRooms")},
       {{"base", "outranked only | peer:T"}, {"no-dir", "exercised | peer:T endpoints:T"}},
       0},
      {"a report rule that matches is exercised, even where the default decides",
       "  - {id: shadow, federation: p, direction: inbound, endpoints: [publicRooms], "
       "action: report}\n",
       {in("p.example", "publicRooms")},
       {{"shadow", "exercised | peer:T direction:T endpoints:T"}},
       1},
      {"content rules judge every PDU: conditions per event, in evaluate()'s order",
       "  - {id: base, federation: p, action: allow}\n"
       "  - {id: relays, federation: p, direction: inbound, event_types: [\"org.*\"], "
       "sender_outside_federations: all, action: deny}\n",
       {with(in("p.example", "send"),
             [](auto& s) {
               s.event_types = {"m.room.message", "org.x"};
               s.user = "@a:p.example";
             }),
        with(in("p.example", "send"),
             [](auto& s) {
               s.event_types = {"org.x"};
               s.user = "@a:stranger.example";
             })},
       {{"base", "exercised | peer:T"},
        {"relays", "exercised | peer:T direction:T event_types:TF sender_outside_federations:TF"}},
       0},
      {"content rules are not reached when the request is refused first",
       "  - {id: relays, federation: p, direction: inbound, event_types: [\"org.*\"], "
       "action: deny}\n",
       {with(in("p.example", "send"), [](auto& s) { s.event_types = {"org.x"}; })},
       {{"relays", "never matched | peer:- direction:- event_types:-"}},
       1},
      {"EDU rules are not judged on PDUs, nor PDU rules on EDUs",
       "  - {id: base, federation: p, action: allow}\n"
       "  - {id: edus, federation: p, edu_types: [org.ping], action: deny}\n"
       "  - {id: pdus, federation: p, event_types: [org.poll], action: deny}\n",
       {with(in("p.example", "send"), [](auto& s) { s.event_types = {"m.room.message"}; }),
        with(in("p.example", "send"), [](auto& s) { s.edu_types = {"org.ping"}; })},
       {{"edus", "exercised | peer:T edu_types:T"},
        {"pdus", "never matched | peer:T event_types:F"}},
       0},
      {"conditions that cannot be false are not counted",
       "  - {id: all, peer: anyone, direction: both, endpoints: [\"@all\"], action: allow}\n"
       "  - {id: every-event, peer: anyone, event_types: [\"*\"], action: report}\n",
       {with(in("p.example", "send"), [](auto& s) { s.event_types = {"m.room.message"}; })},
       {{"all", "exercised |"}, {"every-event", "exercised |"}},
       0},
      {"rooms, users and room members, with an unknown membership seen false",
       "  - {id: room, federation: p, endpoints: [make_join], rooms: [\"!a:core.example\"], "
       "users: [\"@*:p.example\"], action: allow}\n"
       "  - {id: mixed, federation: p, endpoints: [make_join], "
       "room_members_outside_federations: all, action: deny}\n",
       {with(in("p.example", "make_join"),
             [](auto& s) {
               s.room = "!a:core.example";
               s.user = "@u:p.example";
             }),
        with(in("p.example", "make_join"),
             [](auto& s) {
               s.room = "!b:core.example";
               s.user = "@u:p.example";
               s.room_servers = std::vector<std::string>{"p.example", "stranger.example"};
             })},
       {{"room", "exercised | peer:T endpoints:T rooms:TF users:T"},
        {"mixed", "exercised | peer:T endpoints:T room_members_outside_federations:TF"}},
       0},
      {"the unknown origin: peer: unknown is false for a known peer",
       "  - {id: keys, peer: unknown, direction: inbound, endpoints: [key.server], "
       "action: allow}\n",
       {in("p.example", "key.server"),
        with(in("p.example", "key.server"), [](auto& s) { s.origin.reset(); })},
       {{"keys", "exercised | peer:TF direction:T endpoints:T"}},
       1},
      {"a request that cannot be built is not evaluated",
       "  - {id: base, federation: p, action: allow}\n",
       {in("p.example", "no-such-endpoint")},
       {{"base", "never matched | peer:-"}},
       0},
  };
  return table;
}

class Coverage : public ::testing::TestWithParam<CoverageCase> {};

TEST_P(Coverage, RulesAndConditions) {
  const CoverageCase& c = GetParam();
  auto p = testing::must_load(kHead + c.rules);
  ASSERT_TRUE(p);
  const PolicyTestRun run = run_requests(*p, c.requests);
  const PolicyCoverage cov = policy_coverage(*p, run);
  ASSERT_EQ(cov.rules.size(), p->rules.size());
  for (const auto& [rule_id, expected] : c.expected) {
    const std::string& id = rule_id;  // clang 14 cannot capture a structured binding
    auto it =
        std::find_if(p->rules.begin(), p->rules.end(), [&](const Rule& r) { return r.id == id; });
    ASSERT_NE(it, p->rules.end()) << id;
    EXPECT_EQ(summary(cov.rules[static_cast<std::size_t>(it - p->rules.begin())]), expected)
        << c.name << ": rule " << id << "\n"
        << run.output;
  }
  EXPECT_EQ(cov.default_reached, c.default_reached) << c.name << "\n" << run.output;
}

INSTANTIATE_TEST_SUITE_P(Table, Coverage, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<CoverageCase>& row) {
                           return "row" + std::to_string(row.index);
                         });

TEST(CoverageTotals, CountsPercentagesAndThresholds) {
  auto p = testing::must_load(
      kHead +
      "  - {id: base, federation: p, action: allow}\n"
      "  - {id: dir, federation: p, direction: inbound, endpoints: [publicRooms], action: deny}\n"
      "  - {id: unused, federation: q, endpoints: [invite], action: deny}\n");
  const PolicyTestRun run =
      run_requests(*p, {in("p.example", "publicRooms"), in("p.example", "send")});
  const PolicyCoverage cov = policy_coverage(*p, run);
  EXPECT_EQ(cov.tests, 2);
  EXPECT_EQ(cov.rules_exercised(), 2);     // base (send) and dir (publicRooms)
  EXPECT_EQ(cov.conditions(), 6);          // base: peer; dir: peer direction endpoints; unused: 2
  EXPECT_EQ(cov.conditions_covered(), 1);  // dir's endpoints
  EXPECT_NEAR(cov.rule_percent(), 200.0 / 3, 1e-9);
  EXPECT_EQ(coverage_percent_text(cov.rule_percent()), "66.6%");  // rounded down, never up
  EXPECT_EQ(coverage_percent_text(100.0), "100.0%");
  EXPECT_EQ(coverage_percent_text(99.99), "99.9%");

  auto t = coverage_thresholds(cov, 66.6, 20.0);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].option, "--min-coverage");
  EXPECT_TRUE(t[0].met());
  EXPECT_EQ(t[1].option, "--min-condition-coverage");
  EXPECT_FALSE(t[1].met());  // 1 of 6 = 16.7%
  EXPECT_FALSE(coverage_thresholds(cov, 66.7, std::nullopt)[0].met());
  EXPECT_TRUE(coverage_thresholds(cov, std::nullopt, std::nullopt).empty());

  auto empty = testing::must_load(kHead + "  []\n");
  const PolicyCoverage none =
      policy_coverage(*empty, run_requests(*empty, {in("p.example", "send")}));
  EXPECT_EQ(none.default_reached, 1);
  EXPECT_EQ(none.rule_percent(), 100.0);  // nothing to cover
  EXPECT_EQ(none.condition_percent(), 100.0);
}

TEST(CoverageSettings, EntriesAndFieldsInForce) {
  auto p = testing::must_load(
      kHead +
      "  - {id: base, peer: any, action: allow}\n"
      "settings:\n"
      "  - {id: p-limits, federation: p, limits: {max_body_bytes: 1MiB, "
      "rate: {per_second: 5, burst: 10}}}\n"
      "  - {id: p-exact, servers: [p.example], limits: {rate: {per_second: 1, burst: 1}}}\n"
      "  - {id: q-media, federation: q, direction: outbound, media: {allowed: false}}\n");
  const PolicyTestRun run = run_requests(*p, {in("p.example", "send"), in("q.example", "send")});
  const PolicyCoverage cov = policy_coverage(*p, run);
  ASSERT_EQ(cov.settings.size(), 3u);
  // p-limits supplies the body limit, but its rate is always outranked by the exact entry.
  EXPECT_EQ(cov.settings[0].in_force, 1);
  ASSERT_EQ(cov.settings[0].fields.size(), 2u);
  EXPECT_EQ(cov.settings[0].fields[0].name, "limits");
  EXPECT_EQ(cov.settings[0].fields[0].in_force, 1);
  EXPECT_EQ(cov.settings[0].fields[1].name, "rate");
  EXPECT_EQ(cov.settings[0].fields[1].in_force, 0);
  EXPECT_EQ(cov.settings[1].in_force, 1);
  EXPECT_EQ(cov.settings[2].in_force, 0);  // only outbound; both requests were inbound
  EXPECT_EQ(cov.settings_in_force(), 2);
}

// coverage.cc reads conditions back from a trace step's outcome; every outcome that names a
// failed condition must name one evaluate() tests for that kind of item.
TEST(CoverageOrder, EveryFailedConditionIsInTheOrder) {
  const RuleOutcome failing[] = {
      RuleOutcome::wrong_direction,           RuleOutcome::endpoint_not_listed,
      RuleOutcome::room_not_matched,          RuleOutcome::user_not_matched,
      RuleOutcome::invite_sender_not_matched, RuleOutcome::invite_target_not_matched,
      RuleOutcome::room_members_unknown,      RuleOutcome::room_members_not_outside};
  for (ItemKind kind : {ItemKind::request, ItemKind::pdu, ItemKind::edu}) {
    const auto order = condition_order(kind);
    for (RuleOutcome o : failing) {
      const auto c = failed_condition(o, kind);
      ASSERT_TRUE(c);
      EXPECT_NE(std::find(order.begin(), order.end(), *c), order.end())
          << rule_outcome_text(o) << " for item kind " << static_cast<int>(kind);
    }
    EXPECT_EQ(std::find(order.begin(), order.end(), RuleCondition::peer), order.end());
  }
  EXPECT_EQ(failed_condition(RuleOutcome::type_not_matched, ItemKind::pdu),
            RuleCondition::event_types);
  EXPECT_EQ(failed_condition(RuleOutcome::type_not_matched, ItemKind::edu),
            RuleCondition::edu_types);
  EXPECT_EQ(failed_condition(RuleOutcome::sender_not_outside, ItemKind::pdu),
            RuleCondition::sender_outside);
  EXPECT_FALSE(failed_condition(RuleOutcome::decided, ItemKind::request));
  EXPECT_FALSE(failed_condition(RuleOutcome::outranked, ItemKind::pdu));
  EXPECT_FALSE(failed_condition(RuleOutcome::shadow_only, ItemKind::edu));
}

}  // namespace
}  // namespace bordergate::policy
