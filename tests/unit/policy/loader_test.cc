// Loading: errors carry file:line:column and a stable code, unknown keys are rejected,
// and lint warnings flag the mistakes that load fine.
#include "policy/loader.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "tests/unit/source_dir.h"

namespace bordergate::policy {
namespace {

const char* kHead = "version: 1\nserver_name: core.example\n";

struct ErrorCase {
  const char* name;
  std::string yaml;
  const char* code;
  int line;
  int column;
};

TEST(Loader, ErrorsHaveCodesAndPositions) {
  const std::string h = kHead;
  const ErrorCase cases[] = {
      {"yaml syntax", h + "rules: [\n", "yaml_syntax", 4, 1},
      {"missing version", "server_name: core.example\n", "missing_key", 1, 1},
      {"bad version", "version: 2\nserver_name: a.example\n", "unsupported_version", 1, 10},
      {"unknown top-level key", h + "rulez: []\n", "unknown_key", 3, 1},
      {"unknown rule key",
       h + "rules:\n  - id: a\n    peer: any\n    action: allow\n    endpoint: [send]\n",
       "unknown_key", 7, 5},
      {"bad action", h + "rules:\n  - id: a\n    peer: any\n    action: permit\n", "bad_action", 6,
       13},
      {"unknown endpoint",
       h + "rules:\n  - id: a\n    peer: any\n    action: allow\n    endpoints: [sendd]\n",
       "unknown_endpoint", 7, 17},
      {"unknown group",
       h + "rules:\n  - id: a\n    peer: any\n    action: allow\n    endpoints: [\"@nope\"]\n",
       "unknown_endpoint_group", 7, 17},
      {"unknown federation", h + "rules:\n  - id: a\n    federation: nope\n    action: allow\n",
       "unknown_federation", 5, 17},
      {"two peers",
       h + "rules:\n  - id: a\n    peer: any\n    servers: [a.example]\n    action: allow\n",
       "bad_peer", 4, 5},
      {"bad peer word", h + "rules:\n  - id: a\n    peer: everyone\n    action: allow\n",
       "bad_peer", 5, 11},
      {"duplicate id",
       h + "rules:\n  - {id: a, peer: any, action: allow}\n  - {id: a, peer: any, action: deny}\n",
       "duplicate_id", 5, 10},
      {"reserved id", h + "rules:\n  - {id: default, peer: any, action: allow}\n", "reserved_id", 4,
       10},
      {"ip literal without permission", h + "federations:\n  lab:\n    servers: [\"10.0.0.1\"]\n",
       "ip_literal_not_allowed", 5, 15},
      {"ip literal in rule servers",
       h + "rules:\n  - {id: a, servers: [\"[::1]\"], action: allow}\n", "ip_literal_not_allowed",
       4, 23},
      {"pattern with port", h + "federations:\n  x:\n    servers: [\"a.example:8448\"]\n",
       "bad_server_pattern", 5, 15},
      {"empty federation", h + "federations:\n  x:\n    servers: []\n", "empty_federation", 5, 14},
      {"quarantine on a request rule", h + "rules:\n  - {id: a, peer: any, action: quarantine}\n",
       "quarantine_outside_transaction", 4, 32},
      {"quarantine outside send",
       h + "rules:\n  - {id: a, peer: any, action: quarantine, event_types: [x], endpoints: "
           "[invite]}\n",
       "quarantine_outside_transaction", 4, 73},
      {"bad user pattern", h + "rules:\n  - {id: a, peer: any, action: deny, users: [alice]}\n",
       "bad_user_pattern", 4, 46},
      {"bad room id", h + "rules:\n  - {id: a, peer: any, action: deny, rooms: [\"#alias:x\"]}\n",
       "bad_room_id", 4, 46},
      {"bad size", h + "defaults:\n  limits:\n    max_body_bytes: 12MB\n", "bad_size", 5, 21},
      {"checks relaxed for everyone",
       h + "settings:\n  - id: s\n    peer: any\n    checks: {pdu_hashes: false}\n",
       "checks_relaxed_for_everyone", 6, 13},
      {"unknown check",
       h + "federations: {x: {servers: [a.example]}}\nsettings:\n  - id: s\n    federation: x\n    "
           "checks: {foo: false}\n",
       "unknown_key", 7, 14},
      {"duplicate key", h + "default: deny\ndefault: allow\n", "duplicate_key", 4, 1},
      {"bad direction", h + "rules:\n  - {id: a, peer: any, action: deny, direction: sideways}\n",
       "bad_direction", 4, 49},
      {"types map without except",
       h + "rules:\n  - {id: a, peer: any, action: deny, event_types: {only: [x]}}\n",
       "unknown_key", 4, 52},
      {"sender_outside_federations without event_types",
       h + "rules:\n  - {id: a, peer: any, action: deny, sender_outside_federations: all}\n",
       "outside_needs_event_types", 4, 66},
      {"room_creator_outside_federations naming no federation",
       h + "rules:\n  - {id: a, peer: any, action: deny, event_types: [x], "
           "room_creator_outside_federations: [nope]}\n",
       "unknown_federation", 4, 91},
      {"an empty federation list",
       h + "rules:\n  - {id: a, peer: any, action: deny, event_types: [x], "
           "sender_outside_federations: []}\n",
       "bad_federation_list", 4, 84},
      {"room_members_outside_federations on a content rule",
       h + "rules:\n  - {id: a, peer: any, action: deny, event_types: [x], endpoints: [send], "
           "room_members_outside_federations: all}\n",
       "room_members_on_content_rule", 4, 109},
      {"room_members_outside_federations without endpoints",
       h + "rules:\n  - {id: a, peer: any, action: deny, room_members_outside_federations: all}\n",
       "room_members_needs_endpoints", 4, 72},
      {"room_members_outside_federations on an endpoint without a room",
       h + "rules:\n  - {id: a, peer: any, action: deny, endpoints: [make_join, send], "
           "room_members_outside_federations: all}\n",
       "room_members_endpoint_without_room", 4, 102},
  };
  for (const ErrorCase& c : cases) {
    LoadOutput out = load_policy_text(c.yaml, "p.yaml");
    EXPECT_FALSE(out.ok()) << c.name;
    bool found = false;
    for (const auto& d : out.diagnostics) {
      if (d.severity != Diagnostic::Severity::error || d.code != c.code) continue;
      found = true;
      EXPECT_EQ(d.location.file, "p.yaml") << c.name;
      EXPECT_EQ(d.location.line, c.line) << c.name << ": " << d.to_string();
      EXPECT_EQ(d.location.column, c.column) << c.name << ": " << d.to_string();
    }
    EXPECT_TRUE(found) << c.name << ": no " << c.code;
    if (!found) {
      for (const auto& d : out.diagnostics) ADD_FAILURE() << "  got " << d.to_string();
    }
  }
}

TEST(Loader, ReportsEveryErrorAtOnce) {
  LoadOutput out = load_policy_text(std::string(kHead) +
                                        "rules:\n  - {id: a, peer: any, action: nope}\n"
                                        "  - {id: b, peer: any, action: allow, endpoints: [x]}\n",
                                    "p.yaml");
  EXPECT_EQ(out.error_count(), 2u);
  EXPECT_EQ(out.diagnostics[0].to_string().rfind("p.yaml:4:", 0), 0u)
      << out.diagnostics[0].to_string();
}

struct WarningCase {
  const char* name;
  std::string yaml;
  const char* code;
};

TEST(Loader, LintWarnings) {
  const std::string h = std::string(kHead) +
                        "federations:\n  a: {servers: [\"*.a.example\", x.example]}\n"
                        "  b: {servers: [m.a.example]}\n  c: {servers: [c.example]}\n";
  const WarningCase cases[] = {
      {"overlapping federations", h, "overlapping_federations"},
      {"allow-all pattern", h + "rules:\n  - {id: r, servers: [\"*\"], action: allow}\n",
       "allow_all_pattern"},
      {"allow-all rule", h + "rules:\n  - {id: r, peer: anyone, action: allow}\n",
       "allow_all_rule"},
      {"default allow", h + "default: allow\n", "default_allow"},
      {"shadowed rule",
       h + "rules:\n  - {id: r1, federation: c, action: deny, endpoints: [\"@media\"]}\n"
           "  - {id: r2, federation: c, action: allow, endpoints: [media.download]}\n",
       "shadowed_rule"},
      {"outbound unknown never matches",
       h + "rules:\n  - {id: r, peer: unknown, direction: outbound, action: allow, endpoints: "
           "[key.server]}\n",
       "rule_never_matches"},
      {"unknown origin on X-Matrix endpoints",
       h + "rules:\n  - {id: r, peer: unknown, direction: inbound, action: allow, endpoints: "
           "[send]}\n",
       "rule_never_matches"},
      {"federation on unauthenticated endpoints inbound",
       h + "rules:\n  - {id: r, federation: c, direction: inbound, action: allow, endpoints: "
           "[key.query]}\n",
       "rule_never_matches"},
      {"legacy media by a federation (their origin is never known)",
       h + "rules:\n  - {id: r, federation: c, direction: inbound, action: allow, endpoints: "
           "[media.legacy_download]}\n",
       "rule_never_matches"},
      {"legacy media outbound (judged as media.download there)",
       h + "rules:\n  - {id: r, peer: anyone, direction: outbound, action: deny, endpoints: "
           "[\"@legacy_media\"]}\n",
       "rule_never_matches"},
      {"event types on endpoints without PDUs",
       h + "rules:\n  - {id: r, federation: c, action: deny, endpoints: [backfill], event_types: "
           "[m.x]}\n",
       "rule_never_matches"},
      {"invite conditions without invite",
       h + "rules:\n  - {id: r, federation: c, action: deny, endpoints: [send], invite_targets: "
           "[\"@a:b.c\"]}\n",
       "rule_never_matches"},
      {"rooms on endpoints without a room",
       h + "rules:\n  - {id: r, federation: c, action: deny, endpoints: [publicRooms], rooms: "
           "[\"!a:b\"]}\n",
       "rule_never_matches"},
      {"users on endpoints without a user",
       h + "rules:\n  - {id: r, federation: c, action: deny, endpoints: [backfill], users: "
           "[\"@a:b\"]}\n",
       "rule_never_matches"},
      {"denying typing holds back transactions",
       h + "rules:\n  - {id: r, federation: c, action: deny, edu_types: [m.typing]}\n",
       "holds_back_common_edu"},
      {"except-list that denies receipts",
       h + "rules:\n  - {id: r, federation: c, action: quarantine, edu_types: {except: "
           "[m.typing]}}\n",
       "holds_back_common_edu"},
      {"denying member events",
       h + "rules:\n  - {id: r, federation: c, action: deny, event_types: [\"m.room.*\"]}\n",
       "holds_back_room_state"},
      {"denying key endpoints to a federation",
       h + "rules:\n  - {id: r, federation: c, action: deny, endpoints: [\"@keys\"]}\n",
       "denies_key_endpoints"},
      {"denying the Core's own keys",
       h + "rules:\n  - {id: r, peer: unknown, direction: inbound, action: deny, endpoints: "
           "[key.server]}\n",
       "denies_key_endpoints"},
  };
  for (const WarningCase& c : cases) {
    LoadOutput out = load_policy_text(c.yaml, "w.yaml");
    ASSERT_TRUE(out.ok()) << c.name;
    bool found = false;
    for (const auto& d : out.diagnostics) {
      found = found || (d.severity == Diagnostic::Severity::warning && d.code == c.code);
    }
    EXPECT_TRUE(found) << c.name << ": expected warning " << c.code;
  }
}

TEST(Loader, CleanPolicyHasNoWarnings) {
  LoadOutput out =
      load_policy_text(std::string(kHead) +
                           "federations:\n  c: {servers: [c.example]}\n"
                           "rules:\n  - {id: r, federation: c, action: allow, endpoints: [send]}\n",
                       "ok.yaml");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.warning_count(), 0u);
}

TEST(Loader, EmptySectionsAreAllowed) {
  LoadOutput out =
      load_policy_text(std::string(kHead) + "federations:\nrules:\nsettings:\n", "e.yaml");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out.policy->rules.empty());
  EXPECT_EQ(out.policy->default_action, Action::deny);
}

TEST(Loader, DefaultMediaSettingIsKept) {
  LoadOutput out = load_policy_text(
      std::string(kHead) + "defaults:\n  media: {allowed: false}\n", "m.yaml");
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out.policy->default_media.allowed);
  out = load_policy_text(std::string(kHead), "m2.yaml");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out.policy->default_media.allowed);
}

TEST(Loader, ShippedExampleLoadsWithoutWarnings) {
  LoadOutput out =
      testing::load_source_file(std::string(BG_SOURCE_DIR) + "/deploy/examples/policy.yaml");
  ASSERT_TRUE(out.ok());
  for (const auto& d : out.diagnostics) ADD_FAILURE() << d.to_string();
  EXPECT_EQ(out.policy->server_name, "core.bordergate.test");
  EXPECT_EQ(out.policy->federations.size(), 2u);
}

TEST(Loader, RevisionIsOneLineOfText) {
  struct Case {
    const char* value;
    bool ok;
  };
  const Case cases[] = {
      {"\"2026-12-01 CAB-42\"", true}, {"2026-12-01", true},   {"\"\"", false},
      {"\"two\\nlines\"", false},      {"\"bell\\a\"", false}, {"[a, b]", false},
  };
  for (const Case& c : cases) {
    LoadOutput out =
        load_policy_text(std::string(kHead) + "revision: " + c.value + "\n", "rev.yaml", "ab12");
    EXPECT_EQ(out.ok(), c.ok) << c.value;
    if (out.ok()) {
      EXPECT_FALSE(out.policy->revision.empty());
      EXPECT_EQ(out.policy->sha256, "ab12");  // the reader's digest is kept as given
    }
  }
  LoadOutput long_one =
      load_policy_text(std::string(kHead) + "revision: " + std::string(201, 'r') + "\n", "r.yaml");
  EXPECT_FALSE(long_one.ok());
}

TEST(Loader, ErrorSummaryNamesTheFirstThree) {
  LoadOutput out = load_policy_text(std::string(kHead) + "a: 1\nb: 2\nc: 3\nd: 4\n", "e.yaml");
  ASSERT_FALSE(out.ok());
  const std::string s = error_summary(out);
  EXPECT_NE(s.find("unknown key `a`"), std::string::npos) << s;
  EXPECT_NE(s.find("unknown key `c`"), std::string::npos) << s;
  EXPECT_EQ(s.find("unknown key `d`"), std::string::npos) << s;
  EXPECT_NE(s.find("(and 1 more)"), std::string::npos) << s;
}

}  // namespace
}  // namespace bordergate::policy
