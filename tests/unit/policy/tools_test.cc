// The auditor's tools as library functions: explain renderings, the tests-file runner,
// the semantic diff and the capability report, on the shipped example policy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "policy/diff.h"
#include "policy/explain.h"
#include "policy/report.h"
#include "policy/test_suite.h"
#include "test_util.h"
#include "tests/unit/source_dir.h"

namespace bordergate::policy {
namespace {

std::shared_ptr<const Policy> example() {
  LoadOutput out =
      testing::load_source_file(std::string(BG_SOURCE_DIR) + "/deploy/examples/policy.yaml");
  EXPECT_TRUE(out.ok());
  return out.policy;
}

TEST(Tools, ExplainTextAndJson) {
  auto p = example();
  RequestSketch s;
  s.origin = "opendesk.stadt-a.example";
  s.endpoint = "publicRooms";
  auto f = facts_from_sketch(s, *p);
  ASSERT_TRUE(f.ok());
  Decision d = evaluate(*p, *f);
  std::string text = explain_text(*p, *f, d);
  EXPECT_NE(text.find("Decision: DENY (rule opendesk-no-directory, reason denied_by_rule)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("opendesk-base"), std::string::npos);
  EXPECT_NE(text.find("skipped: endpoint not listed"), std::string::npos);
  auto j = nlohmann::json::parse(explain_json(*p, *f, d));
  EXPECT_EQ(j["action"], "deny");
  EXPECT_EQ(j["rule"], "opendesk-no-directory");
  EXPECT_EQ(j["federations"][0], "opendesk");
  EXPECT_FALSE(j["trace"].empty());
}

TEST(Tools, SketchRejectsUnknownEndpoint) {
  auto p = example();
  RequestSketch s;
  s.endpoint = "sendd";
  EXPECT_FALSE(facts_from_sketch(s, *p).ok());
}

TEST(Tools, ShippedTestsPass) {
  auto p = example();
  auto tests = load_policy_tests(std::string(BG_SOURCE_DIR) + "/deploy/examples/policy-tests.yaml");
  ASSERT_TRUE(tests.ok()) << tests.error().message;
  EXPECT_GE(tests->size(), 25u);
  PolicyTestRun run = run_policy_tests(*p, *tests);
  EXPECT_EQ(run.failed, 0) << run.output;
  EXPECT_EQ(run.passed, static_cast<int>(tests->size()));
}

TEST(Tools, FailingTestShowsTrace) {
  auto p = example();
  PolicyTestCase t;
  t.name = "wrong on purpose";
  t.request.origin = "matrix.org";
  t.request.endpoint = "send";
  t.expect_action = "allow";
  PolicyTestRun run = run_policy_tests(*p, {t});
  EXPECT_EQ(run.failed, 1);
  EXPECT_NE(run.output.find("FAIL wrong on purpose"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("got action deny (expected allow)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Decision: DENY"), std::string::npos) << run.output;
}

TEST(Tools, DiffFindsGainedAndLost) {
  auto a = example();
  const std::string base = std::string("version: 1\nserver_name: core.bordergate.test\n") +
                           "federations: {p: {servers: [p.example]}}\nrules:\n";
  auto old_p = testing::must_load(
      base + "  - {id: r, federation: p, endpoints: [send, publicRooms], action: allow}\n");
  auto new_p = testing::must_load(
      base + "  - {id: r, federation: p, endpoints: [send, media.download], action: allow}\n");
  PolicyDiff d = diff_policies(*old_p, *new_p);
  EXPECT_EQ(d.gained, 2) << d.text;  // media.download, inbound and outbound
  EXPECT_EQ(d.lost, 2) << d.text;    // publicRooms, inbound and outbound
  EXPECT_NE(d.text.find("+ gained  outbound media.download"), std::string::npos) << d.text;
  EXPECT_NE(d.text.find("- lost    inbound publicRooms"), std::string::npos) << d.text;
  EXPECT_TRUE(diff_policies(*a, *a).empty());
}

// One federation of one server, everything allowed: the diffs below add one rule to it.
const std::string kOnePeerAllowed = std::string("version: 1\nserver_name: core.example\n") +
                                    "federations: {p: {servers: [p.example]}}\nrules:\n" +
                                    "  - {id: all, federation: p, action: allow}\n";

TEST(Tools, DiffSeesConditionalRules) {
  const std::string base = kOnePeerAllowed;
  auto old_p = testing::must_load(base);
  auto new_p = testing::must_load(
      base +
      "  - {id: room, federation: p, direction: inbound, endpoints: [make_join], rooms: "
      "[\"!s:core.example\"], action: deny}\n"
      "  - {id: inv, federation: p, direction: inbound, endpoints: [invite], invite_targets: "
      "[\"@boss*:core.example\"], action: deny}\n");
  PolicyDiff d = diff_policies(*old_p, *new_p);
  EXPECT_EQ(d.lost, 2) << d.text;
  EXPECT_NE(d.text.find(
                "- lost    inbound make_join in room !s:core.example: allow (all) -> deny (room)"),
            std::string::npos)
      << d.text;
  EXPECT_NE(
      d.text.find("- lost    inbound invite to @bossx:core.example: allow (all) -> deny (inv)"),
      std::string::npos)
      << d.text;
}

// A rule on the servers events name shows in diff and report as the verdict on an event relayed
// from a server in no federation; the peer's own events are not affected.
TEST(Tools, DiffAndReportSeeRelayedEvents) {
  const std::string base = kOnePeerAllowed;
  auto old_p = testing::must_load(base);
  auto new_p = testing::must_load(
      base +
      "  - {id: relays, federation: p, direction: inbound, event_types: [\"*\"], "
      "sender_outside_federations: all, action: deny}\n");
  PolicyDiff d = diff_policies(*old_p, *new_p);
  EXPECT_EQ(d.lost, 1) << d.text;
  EXPECT_NE(d.text.find("inbound m.room.message relayed from a server in no federation: allow "
                        "(all) -> deny (relays)"),
            std::string::npos)
      << d.text;
  EXPECT_EQ(d.text.find("event type m.room.message:"), std::string::npos) << d.text;
  const std::string md = capability_report(*new_p, ReportFormat::markdown);
  EXPECT_NE(md.find("| m.room.message relayed from a server in no federation |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("sender_outside all"), std::string::npos) << md;
}

// A rule on a room's members shows in diff and report as the verdict on a join into a room with
// a member on a server in no federation; explain and test read the room's servers.
TEST(Tools, DiffReportExplainAndTestSeeMixedRooms) {
  const std::string base = std::string("version: 1\nserver_name: core.example\n") +
                           "federations: {p: {servers: [p.example]}}\nrules:\n" +
                           "  - {id: all, federation: p, action: allow}\n";
  auto old_p = testing::must_load(base);
  auto new_p = testing::must_load(
      base +
      "  - {id: mixed, federation: p, direction: both, endpoints: [make_join, send_join], "
      "room_members_outside_federations: all, action: deny}\n");
  PolicyDiff d = diff_policies(*old_p, *new_p);
  EXPECT_NE(d.text.find("inbound make_join into a room with a member on a server in no "
                        "federation: allow (all) -> deny (mixed)"),
            std::string::npos)
      << d.text;
  EXPECT_NE(d.text.find("outbound send_join into a room with a member on a server in no "
                        "federation: allow (all) -> deny (mixed)"),
            std::string::npos)
      << d.text;
  const std::string md = capability_report(*new_p, ReportFormat::markdown);
  EXPECT_NE(md.find("room_members_outside all"), std::string::npos) << md;

  RequestSketch sketch;
  sketch.origin = "p.example";
  sketch.endpoint = "make_join";
  sketch.room = "!r:p.example";
  sketch.room_servers = std::vector<std::string>{"p.example", "stranger.example"};
  auto facts = facts_from_sketch(sketch, *new_p);
  ASSERT_TRUE(facts.ok());
  const Decision decided = evaluate(*new_p, *facts);
  EXPECT_EQ(decided.rule_id, "mixed");
  const std::string text = explain_text(*new_p, *facts, decided);
  EXPECT_NE(text.find("room members on p.example stranger.example"), std::string::npos) << text;
  sketch.room_servers.reset();
  auto unknown = facts_from_sketch(sketch, *new_p);
  ASSERT_TRUE(unknown.ok());
  const Decision allowed = evaluate(*new_p, *unknown);
  EXPECT_EQ(allowed.rule_id, "all");
  EXPECT_NE(explain_text(*new_p, *unknown, allowed)
                .find("skipped: the room's membership is not known to the gateway"),
            std::string::npos);
}

TEST(Tools, ReportContainsTheMatrix) {
  auto p = example();
  std::string md = capability_report(*p, ReportFormat::markdown);
  EXPECT_NE(md.find("| publicRooms |"), std::string::npos);
  EXPECT_NE(md.find("deny (opendesk-no-directory)"), std::string::npos);
  EXPECT_NE(md.find("## Media, limits and checks"), std::string::npos);
  std::string html = capability_report(*p, ReportFormat::html);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"deny\">deny (opendesk-no-directory)</td>"), std::string::npos);
}

}  // namespace
}  // namespace bordergate::policy
