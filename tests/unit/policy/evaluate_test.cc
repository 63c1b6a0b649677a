// evaluate(): every rule kind, the precedence order, report mode, quarantine aggregation
// over a transaction, unknown origins, IP literals, case rules and v12 room ids.
#include <gtest/gtest.h>

#include <functional>

#include "test_util.h"

namespace bordergate::policy {
namespace {

using testing::inbound;
using testing::outbound;
using FE = FederationEndpoint;

const char* kPolicy = R"(
version: 1
server_name: core.example
default: deny
federations:
  partners: {servers: ["*.partner.example", "hq.partner2.example"]}
  lab: {servers: ["10.1.2.3", "[2001:db8::1]", "*.lab.example"], allow_ip_literals: true}
rules:
  - {id: keys-public, peer: unknown, direction: inbound, endpoints: [key.server], action: allow}
  - {id: any-version, peer: anyone, direction: inbound, endpoints: [version], action: allow}
  - {id: any-hierarchy, peer: any, endpoints: [hierarchy], action: allow}
  - {id: partners-all, federation: partners, action: allow}
  - {id: partners-send-again, federation: partners, endpoints: [send], action: allow}
  - {id: partners-no-media, federation: partners, endpoints: ["@media"], action: deny}
  - {id: hq-media, servers: [HQ.partner2.example], endpoints: ["@media"], action: allow}
  - {id: glob-report, servers: ["*.eval.partner.example"], endpoints: [publicRooms], action: report}
  - id: secret-room
    federation: partners
    endpoints: ["@membership", "@room_read"]
    rooms: ["!secret:core.example", "!AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"]
    action: deny
  - {id: creator-deny, federation: partners, endpoints: [make_join], room_creators: ["*.banned.example"], action: deny}
  - {id: users-deny, federation: partners, endpoints: [query.profile], users: ["@vip*:core.example"], action: deny}
  - {id: invite-in, federation: partners, direction: inbound, endpoints: [invite], invite_senders: ["@*:bad.partner.example"], action: deny}
  - {id: invite-out, federation: partners, direction: outbound, endpoints: [invite], invite_targets: ["@Boss:*.partner.example"], action: deny}
  - {id: pdu-quarantine, federation: partners, direction: inbound, event_types: ["org.custom.*"], action: quarantine}
  - {id: pdu-deny, federation: partners, direction: inbound, event_types: [m.room.bad], action: deny}
  - {id: pdu-room-deny, federation: partners, direction: inbound, event_types: [m.room.message], rooms: ["!muted:core.example"], action: deny}
  - {id: edu-report, federation: partners, direction: inbound, edu_types: [org.edu.new], action: report}
  - {id: lab-all, federation: lab, action: allow}
  - {id: shadow-deny, servers: [shadow.partner.example], endpoints: [send], action: report}
  - {id: shadow-on-denied, servers: [x.other.example], endpoints: [send], action: report}
settings:
  - id: partners-limits
    federation: partners
    limits: {max_body_bytes: 1000, max_pdus_per_transaction: 2, max_edus_per_transaction: 3, rate: {per_second: 5, burst: 10}}
    media: {allowed: true, max_bytes: 500, content_types: ["image/*", text/plain]}
  - {id: lab-relaxed, federation: lab, checks: {pdu_hashes: false}}
  - {id: hq-no-media, servers: [hq.partner2.example], direction: outbound, media: {allowed: false}}
)";

struct Case {
  const char* name;
  std::function<RequestFacts()> facts;
  Action action;
  const char* rule;
  const char* reason;
};

RequestFacts with(RequestFacts f, const std::function<void(RequestFacts&)>& edit) {
  edit(f);
  return f;
}

PduFacts pdu(const char* type, const char* room = "!r:core.example") {
  return PduFacts{type, room, "@u:a.partner.example", CheckResult::passed, CheckResult::passed};
}

TEST(Evaluate, Table) {
  auto policy = testing::must_load(kPolicy);
  ASSERT_TRUE(policy);
  const Case cases[] = {
      // ---- unknown origin (no X-Matrix) ----
      {"unknown origin may fetch server keys", [] { return inbound(std::nullopt, FE::key_server); },
       Action::allow, "keys-public", "allowed_by_rule"},
      {"unknown origin gets no notary", [] { return inbound(std::nullopt, FE::key_query); },
       Action::deny, "default", "default_deny"},
      {"anyone matches unknown origins", [] { return inbound(std::nullopt, FE::version); },
       Action::allow, "any-version", "allowed_by_rule"},
      {"anyone matches known origins", [] { return inbound("z.unlisted.example", FE::version); },
       Action::allow, "any-version", "allowed_by_rule"},
      {"unknown-origin rules do not match known origins",
       [] { return inbound("z.unlisted.example", FE::key_server); }, Action::deny, "default",
       "default_deny"},
      // ---- peers, globs, case, ports ----
      {"federation glob", [] { return inbound("a.partner.example", FE::send); }, Action::allow,
       "partners-all", "allowed_by_rule"},
      {"glob needs the dot", [] { return inbound("partner.example", FE::send); }, Action::deny,
       "default", "default_deny"},
      {"server names are case-insensitive", [] { return inbound("A.Partner.EXAMPLE", FE::send); },
       Action::allow, "partners-all", "allowed_by_rule"},
      {"ports are ignored", [] { return inbound("hq.partner2.example:8448", FE::send); },
       Action::allow, "partners-all", "allowed_by_rule"},
      {"any matches unlisted servers", [] { return inbound("z.unlisted.example", FE::hierarchy); },
       Action::allow, "any-hierarchy", "allowed_by_rule"},
      {"outbound uses the destination", [] { return outbound("b.partner.example", FE::backfill); },
       Action::allow, "partners-all", "allowed_by_rule"},
      {"outbound to unlisted", [] { return outbound("z.unlisted.example", FE::send); },
       Action::deny, "default", "default_deny"},
      // ---- IP literals ----
      {"IP literal in an allowing federation", [] { return inbound("10.1.2.3", FE::send); },
       Action::allow, "lab-all", "allowed_by_rule"},
      {"IPv6 literal with port", [] { return inbound("[2001:db8::1]:8448", FE::send); },
       Action::allow, "lab-all", "allowed_by_rule"},
      {"other IP literal", [] { return inbound("10.9.9.9", FE::send); }, Action::deny, "default",
       "default_deny"},
      {"`any` never matches IP literals", [] { return inbound("192.0.2.1", FE::hierarchy); },
       Action::deny, "default", "default_deny"},
      // ---- precedence ----
      {"exact server beats federation",
       [] { return inbound("hq.partner2.example", FE::media_download); }, Action::allow, "hq-media",
       "allowed_by_rule"},
      {"within a level deny beats allow",
       [] { return inbound("a.partner.example", FE::media_thumbnail); }, Action::deny,
       "partners-no-media", "denied_by_rule"},
      {"ties go to the first rule", [] { return inbound("a.partner.example", FE::send); },
       Action::allow, "partners-all", "allowed_by_rule"},
      // ---- report mode ----
      {"report outranks allow: forwarded and recorded",
       [] { return inbound("x.eval.partner.example", FE::public_rooms); }, Action::report,
       "glob-report", "reported_by_rule"},
      {"report at exact level over federation allow",
       [] { return inbound("shadow.partner.example", FE::send); }, Action::report, "shadow-deny",
       "reported_by_rule"},
      {"report never opens what is denied", [] { return inbound("x.other.example", FE::send); },
       Action::deny, "default", "default_deny"},
      // ---- rooms (v1-v11 and v12), creators, users, invites ----
      {"room id rule",
       [] {
         return with(inbound("a.partner.example", FE::state),
                     [](auto& f) { f.room_id = "!secret:core.example"; });
       },
       Action::deny, "secret-room", "denied_by_rule"},
      {"v12 room id without domain",
       [] {
         return with(inbound("a.partner.example", FE::make_join),
                     [](auto& f) { f.room_id = "!AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"; });
       },
       Action::deny, "secret-room", "denied_by_rule"},
      {"room ids are case-sensitive",
       [] {
         return with(inbound("a.partner.example", FE::state),
                     [](auto& f) { f.room_id = "!SECRET:core.example"; });
       },
       Action::allow, "partners-all", "allowed_by_rule"},
      {"room creator glob",
       [] {
         return with(inbound("a.partner.example", FE::make_join),
                     [](auto& f) { f.room_id = "!r:x.Banned.example"; });
       },
       Action::deny, "creator-deny", "denied_by_rule"},
      {"v12 ids never match creator patterns",
       [] {
         return with(inbound("a.partner.example", FE::make_join),
                     [](auto& f) { f.room_id = "!ZZCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"; });
       },
       Action::allow, "partners-all", "allowed_by_rule"},
      {"room rule needs a room", [] { return inbound("a.partner.example", FE::event); },
       Action::allow, "partners-all", "allowed_by_rule"},
      {"user pattern",
       [] {
         return with(inbound("a.partner.example", FE::query_profile),
                     [](auto& f) { f.user_id = "@vip-anna:core.example"; });
       },
       Action::deny, "users-deny", "denied_by_rule"},
      {"user localparts are case-sensitive",
       [] {
         return with(inbound("a.partner.example", FE::query_profile),
                     [](auto& f) { f.user_id = "@VIP-anna:core.example"; });
       },
       Action::allow, "partners-all", "allowed_by_rule"},
      {"inbound invite from a banned sender",
       [] {
         return with(inbound("bad.partner.example", FE::invite), [](auto& f) {
           f.invite_sender = "@x:bad.partner.example";
           f.invite_target = "@u:core.example";
         });
       },
       Action::deny, "invite-in", "denied_by_rule"},
      {"outbound invite to a protected remote user (server part case-insensitive)",
       [] {
         return with(outbound("a.partner.example", FE::invite), [](auto& f) {
           f.invite_sender = "@u:core.example";
           f.invite_target = "@Boss:A.PARTNER.example";
         });
       },
       Action::deny, "invite-out", "denied_by_rule"},
      {"outbound invite, localpart differs in case",
       [] {
         return with(outbound("a.partner.example", FE::invite),
                     [](auto& f) { f.invite_target = "@boss:a.partner.example"; });
       },
       Action::allow, "partners-all", "allowed_by_rule"},
      // ---- content of transactions ----
      {"quarantine aggregates over the transaction",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) {
           f.pdus = {pdu("m.room.message"), pdu("org.custom.poll")};
         });
       },
       Action::quarantine, "pdu-quarantine", "transaction_quarantined_by_content"},
      {"deny beats quarantine inside a transaction",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) {
           f.pdus = {pdu("org.custom.poll"), pdu("m.room.bad")};
         });
       },
       Action::deny, "pdu-deny", "transaction_denied_by_content"},
      {"content rule with a room condition",
       [] {
         return with(inbound("a.partner.example", FE::send),
                     [](auto& f) { f.pdus = {pdu("m.room.message", "!muted:core.example")}; });
       },
       Action::deny, "pdu-room-deny", "transaction_denied_by_content"},
      {"EDU report keeps the transaction flowing",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) {
           f.edus = {{"m.typing", "", "", {}}, {"org.edu.new", "", "", {}}};
         });
       },
       Action::report, "edu-report", "transaction_reported_by_content"},
      {"content rules are per direction",
       [] {
         return with(outbound("a.partner.example", FE::send),
                     [](auto& f) { f.pdus = {pdu("org.custom.poll")}; });
       },
       Action::allow, "partners-all", "allowed_by_rule"},
      // ---- checks ----
      {"failed X-Matrix",
       [] {
         return with(inbound("a.partner.example", FE::send),
                     [](auto& f) { f.x_matrix = CheckResult::failed; });
       },
       Action::deny, "checks", "x_matrix_check_failed"},
      {"failed PDU hash",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) {
           f.pdus = {pdu("m.room.message")};
           f.pdus[0].hashes = CheckResult::failed;
         });
       },
       Action::deny, "checks", "pdu_hashes_check_failed"},
      {"PDU hash check relaxed for the lab",
       [] {
         return with(inbound("10.1.2.3", FE::send), [](auto& f) {
           f.pdus = {pdu("m.room.message")};
           f.pdus[0].hashes = CheckResult::failed;
         });
       },
       Action::allow, "lab-all", "allowed_by_rule"},
      {"signatures still required for the lab",
       [] {
         return with(inbound("10.1.2.3", FE::send), [](auto& f) {
           f.pdus = {pdu("m.room.message")};
           f.pdus[0].signatures = CheckResult::failed;
         });
       },
       Action::deny, "checks", "pdu_signatures_check_failed"},
      {"a PDU over 64 KiB is named as such, even where checks are relaxed",
       [] {
         return with(inbound("10.1.2.3", FE::send), [](auto& f) {
           f.pdus = {pdu("m.room.message")};
           f.pdus[0].hashes = CheckResult::failed;
           f.pdus[0].signatures = CheckResult::failed;
           f.pdus[0].too_large = true;
         });
       },
       Action::deny, "checks", "pdu_too_large"},
      {"EDU origin binding",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) {
           f.edus = {{"m.typing", "", "@u:evil.example", CheckResult::failed}};
         });
       },
       Action::deny, "checks", "edu_origin_binding_check_failed"},
      // ---- limits and media ----
      {"body too large",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) { f.body_bytes = 1001; });
       },
       Action::deny, "limits", "body_too_large"},
      {"too many PDUs",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) { f.pdu_count = 3; });
       },
       Action::deny, "limits", "too_many_pdus"},
      {"too many EDUs",
       [] {
         return with(inbound("a.partner.example", FE::send), [](auto& f) { f.edus.resize(4); });
       },
       Action::deny, "limits", "too_many_edus"},
      {"default limits elsewhere",
       [] {
         return with(inbound("10.1.2.3", FE::send), [](auto& f) {
           f.body_bytes = 5000;
           f.pdu_count = 50;
         });
       },
       Action::allow, "lab-all", "allowed_by_rule"},
      {"media too large",
       [] {
         return with(inbound("hq.partner2.example", FE::media_download), [](auto& f) {
           f.media = MediaFacts{600, "image/png"};
         });
       },
       Action::deny, "media", "media_too_large"},
      {"media type not allowed",
       [] {
         return with(inbound("hq.partner2.example", FE::media_download), [](auto& f) {
           f.media = MediaFacts{100, "text/html"};
         });
       },
       Action::deny, "media", "media_content_type_not_allowed"},
      {"media type glob with parameters",
       [] {
         return with(inbound("hq.partner2.example", FE::media_download), [](auto& f) {
           f.media = MediaFacts{100, "Image/PNG; q=1"};
         });
       },
       Action::allow, "hq-media", "allowed_by_rule"},
      {"media switched off per direction",
       [] { return outbound("hq.partner2.example", FE::media_thumbnail); }, Action::deny, "media",
       "media_not_allowed"},
  };
  for (const Case& c : cases) {
    const RequestFacts f = c.facts();
    const Decision d = evaluate(*policy, f);
    EXPECT_EQ(action_name(d.action), action_name(c.action)) << c.name;
    EXPECT_EQ(d.rule_id, c.rule) << c.name;
    EXPECT_EQ(d.reason, c.reason) << c.name;
    // A finding on an item decided exactly when the reason is one of the content reasons: the
    // gateway answers those on /send with 200 per PDU (docs/inbound.md).
    const std::string_view r = c.reason;
    const bool content =
        r.starts_with("transaction_") || r.starts_with("pdu_") || r.starts_with("edu_");
    EXPECT_EQ(d.by_content(), content) << c.name;
  }
}

// Events carried in answers meet the content rules of the direction they travel, under the
// answering endpoint or `send`: an event refused on /send is refused in a backfill too, a
// quarantine rule (send only) included, since an answer cannot be held.
TEST(Evaluate, AnswerEventsMeetTheContentRulesOfTheirDirection) {
  auto policy = testing::must_load(kPolicy);
  ASSERT_TRUE(policy);
  struct AnswerCase {
    const char* name;
    Direction direction;
    const char* peer;
    FE endpoint;
    PduFacts pdu;
    Action action;
    const char* rule;  // "" = no content rule decided
    const char* reason;
  };
  const AnswerCase cases[] = {
      {"a denied type in a backfill", Direction::inbound, "a.partner.example", FE::backfill,
       pdu("m.room.bad"), Action::deny, "pdu-deny", "denied_by_rule"},
      {"a quarantined type fetched by get_missing_events", Direction::inbound, "a.partner.example",
       FE::get_missing_events, pdu("org.custom.poll"), Action::quarantine, "pdu-quarantine",
       "quarantined_by_rule"},
      {"a room condition in a state answer", Direction::inbound, "a.partner.example", FE::state,
       pdu("m.room.message", "!muted:core.example"), Action::deny, "pdu-room-deny",
       "denied_by_rule"},
      {"an ordinary message", Direction::inbound, "a.partner.example", FE::event,
       pdu("m.room.message"), Action::allow, "", "no_content_rule"},
      {"inbound rules say nothing about the Core's answers", Direction::outbound,
       "a.partner.example", FE::backfill, pdu("org.custom.poll"), Action::allow, "",
       "no_content_rule"},
      {"a server the rules do not name", Direction::inbound, "stranger.example", FE::backfill,
       pdu("m.room.bad"), Action::allow, "", "no_content_rule"},
  };
  for (const AnswerCase& c : cases) {
    AnswerEventFacts f;
    f.direction = c.direction;
    f.peer = c.peer;
    f.endpoint = c.endpoint;
    f.pdu = c.pdu;
    const AnswerEventVerdict v = judge_answer_event(*policy, f);
    EXPECT_EQ(action_name(v.action), action_name(c.action)) << c.name;
    EXPECT_EQ(v.rule < 0 ? std::string() : policy->rules[static_cast<std::size_t>(v.rule)].id,
              c.rule)
        << c.name;
    EXPECT_EQ(v.reason, c.reason) << c.name;
    EXPECT_EQ(v.refused(), c.action == Action::deny || c.action == Action::quarantine) << c.name;
  }
}

// Conditions on the servers an event names: its sender's, and its room's creator (the domain
// of the room id). Events relayed by an allowed peer from a server in no (listed) federation.
TEST(Evaluate, ServersNamedByEvents) {
  auto policy = testing::must_load(R"(version: 1
server_name: core.example
default: deny
federations:
  closed: {servers: [a.closed.example, b.closed.example]}
  open: {servers: [partner.example]}
rules:
  - {id: closed-all, federation: closed, endpoints: ["@all"], action: allow}
  - {id: open-all, federation: open, endpoints: ["@all"], action: allow}
  - id: closed-senders
    federation: closed
    direction: inbound
    event_types: ["*"]
    sender_outside_federations: [closed]
    action: deny
  - id: closed-rooms
    federation: closed
    direction: inbound
    event_types: ["*"]
    room_creator_outside_federations: [closed]
    action: deny
  - id: anyone-relays
    federation: open
    direction: inbound
    event_types: ["*"]
    sender_outside_federations: all
    action: deny
)");
  ASSERT_TRUE(policy);
  struct ServerCase {
    const char* name;
    const char* peer;
    const char* sender;
    const char* room;
    Action action;
    const char* rule;
  };
  const ServerCase cases[] = {
      {"the peer's own event in its room", "a.closed.example", "@u:a.closed.example",
       "!r:a.closed.example", Action::allow, "closed-all"},
      {"relayed from another member of the closed federation", "a.closed.example",
       "@u:B.Closed.example:8448", "!r:b.closed.example", Action::allow, "closed-all"},
      {"relayed from the open federation into the closed one", "a.closed.example",
       "@u:partner.example", "!r:a.closed.example", Action::deny, "closed-senders"},
      {"a closed member's event in a room created outside", "a.closed.example",
       "@u:a.closed.example", "!r:matrix.example", Action::deny, "closed-rooms"},
      {"the Core's own events count as inside", "a.closed.example", "@u:core.example",
       "!r:core.example", Action::allow, "closed-all"},
      {"a v12 room names no creator: the condition cannot hold", "a.closed.example",
       "@u:a.closed.example", "!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", Action::allow,
       "closed-all"},
      {"a sender without a server names none: the condition cannot hold", "a.closed.example",
       "@nobody", "!r:a.closed.example", Action::allow, "closed-all"},
      {"all: any federation is inside", "partner.example", "@u:b.closed.example",
       "!r:partner.example", Action::allow, "open-all"},
      {"all: a server in none is outside", "partner.example", "@u:stranger.example",
       "!r:partner.example", Action::deny, "anyone-relays"},
  };
  for (const ServerCase& c : cases) {
    RequestFacts f = testing::inbound(c.peer, FE::send);
    f.pdus = {
        PduFacts{"m.room.message", c.room, c.sender, CheckResult::passed, CheckResult::passed}};
    const Decision d = evaluate(*policy, f);
    EXPECT_EQ(action_name(d.action), action_name(c.action)) << c.name;
    EXPECT_EQ(d.rule_id, c.rule) << c.name;
    // The same verdict when the event arrives in an answer (a backfill from that peer).
    AnswerEventFacts a;
    a.peer = c.peer;
    a.pdu = f.pdus[0];
    EXPECT_EQ(judge_answer_event(*policy, a).refused(), c.action == Action::deny) << c.name;
  }
  // explain says why a condition did not hold.
  RequestFacts f = testing::inbound("a.closed.example", FE::send);
  f.pdus = {PduFacts{"m.room.message", "!r:a.closed.example", "@u:b.closed.example",
                     CheckResult::passed, CheckResult::passed}};
  const Decision d = evaluate(*policy, f);
  bool said = false;
  for (const TraceStep& t : d.trace) {
    said = said || (policy->rules[t.rule].id == "closed-senders" &&
                    t.outcome == RuleOutcome::sender_not_outside);
  }
  EXPECT_TRUE(said);
  EXPECT_EQ(rule_outcome_text(RuleOutcome::sender_not_outside),
            "skipped: the sender's server is in a listed federation (or the event names none)");
}

// Rules on a room's members: a join into a room with a joined member on a server in no (listed)
// federation, as far as the gateway knows the room (RequestFacts::room_servers).
TEST(Evaluate, JoinsIntoMixedRooms) {
  auto policy = testing::must_load(R"(version: 1
server_name: core.example
default: deny
federations:
  closed: {servers: [a.closed.example, b.closed.example]}
  open: {servers: [partner.example]}
rules:
  - {id: closed-all, federation: closed, endpoints: ["@all"], action: allow}
  - {id: open-all, federation: open, endpoints: ["@all"], action: allow}
  - id: closed-no-mixed-joins
    federation: closed
    direction: both
    endpoints: [make_join, send_join]
    room_members_outside_federations: [closed]
    action: deny
  - id: open-no-joins-with-strangers
    federation: open
    direction: both
    endpoints: [make_join, send_join]
    room_members_outside_federations: all
    action: deny
)");
  ASSERT_TRUE(policy);
  EXPECT_TRUE(policy->reads_room_members);
  using Servers = std::optional<std::vector<std::string>>;
  struct MixedCase {
    const char* name;
    const char* peer;
    Direction direction;
    FE endpoint;
    Servers servers;
    Action action;
    const char* rule;
  };
  const Servers unknown;
  const MixedCase cases[] = {
      {"membership unknown: the condition cannot hold", "a.closed.example", Direction::inbound,
       FE::make_join, unknown, Action::allow, "closed-all"},
      {"only the Core and closed members", "a.closed.example", Direction::inbound, FE::make_join,
       Servers{{"core.example", "a.closed.example", "b.closed.example"}}, Action::allow,
       "closed-all"},
      {"an open member in a closed peer's room", "a.closed.example", Direction::inbound,
       FE::send_join, Servers{{"a.closed.example", "partner.example"}}, Action::deny,
       "closed-no-mixed-joins"},
      {"the Core joins out (outbound) into a mixed room", "b.closed.example", Direction::outbound,
       FE::send_join, Servers{{"b.closed.example", "stranger.example"}}, Action::deny,
       "closed-no-mixed-joins"},
      {"all: a member of any federation is inside", "partner.example", Direction::inbound,
       FE::make_join, Servers{{"partner.example", "a.closed.example"}}, Action::allow, "open-all"},
      {"all: a server in none is outside", "partner.example", Direction::inbound, FE::make_join,
       Servers{{"partner.example", "Stranger.example:8448"}}, Action::deny,
       "open-no-joins-with-strangers"},
      {"an empty room has nobody outside", "partner.example", Direction::inbound, FE::make_join,
       Servers{std::vector<std::string>{}}, Action::allow, "open-all"},
      {"another endpoint is not judged by the rule", "partner.example", Direction::inbound,
       FE::backfill, Servers{{"stranger.example"}}, Action::allow, "open-all"},
  };
  for (const MixedCase& c : cases) {
    RequestFacts f = c.direction == Direction::inbound ? testing::inbound(c.peer, c.endpoint)
                                                       : testing::outbound(c.peer, c.endpoint);
    f.room_id = "!room:a.closed.example";
    f.room_servers = c.servers;
    const Decision d = evaluate(*policy, f);
    EXPECT_EQ(action_name(d.action), action_name(c.action)) << c.name;
    EXPECT_EQ(d.rule_id, c.rule) << c.name;
  }
  // explain says why the condition did not hold.
  RequestFacts f = testing::inbound("a.closed.example", FE::make_join);
  f.room_id = "!room:a.closed.example";
  const Decision d = evaluate(*policy, f);
  bool said = false;
  for (const TraceStep& t : d.trace) {
    said = said || (policy->rules[t.rule].id == "closed-no-mixed-joins" &&
                    t.outcome == RuleOutcome::room_members_unknown);
  }
  EXPECT_TRUE(said);
  EXPECT_EQ(rule_outcome_text(RuleOutcome::room_members_unknown),
            "skipped: the room's membership is not known to the gateway");
  // What makes a room mixed for the audit flag: a server in no federation at all.
  EXPECT_TRUE(in_no_federation(*policy, "stranger.example"));
  EXPECT_FALSE(in_no_federation(*policy, "Partner.example:8448"));
  EXPECT_FALSE(in_no_federation(*policy, "core.example"));
  EXPECT_FALSE(in_no_federation(*policy, ""));
}

TEST(Evaluate, FindingsListEveryItem) {
  auto policy = testing::must_load(kPolicy);
  RequestFacts f = inbound("a.partner.example", FE::send);
  f.pdus = {pdu("m.room.message"), pdu("org.custom.poll")};
  f.edus = {{"m.typing", "", "", {}}};
  const Decision d = evaluate(*policy, f);
  ASSERT_EQ(d.findings.size(), 3u);
  EXPECT_EQ(d.findings[0].action, Action::allow);
  EXPECT_EQ(d.findings[0].reason, "no_content_rule");
  EXPECT_EQ(d.findings[1].action, Action::quarantine);
  EXPECT_EQ(policy->rules[static_cast<std::size_t>(d.findings[1].rule)].id, "pdu-quarantine");
  EXPECT_EQ(d.findings[2].kind, ItemKind::edu);
  EXPECT_FALSE(d.forwards());
}

TEST(Evaluate, TraceShowsPrecedence) {
  auto policy = testing::must_load(kPolicy);
  const Decision d = evaluate(*policy, inbound("hq.partner2.example", FE::media_download));
  bool decided = false, outranked = false;
  for (const TraceStep& t : d.trace) {
    const std::string& id = policy->rules[t.rule].id;
    if (id == "hq-media") decided = t.outcome == RuleOutcome::decided;
    if (id == "partners-no-media") outranked = t.outcome == RuleOutcome::outranked;
  }
  EXPECT_TRUE(decided);
  EXPECT_TRUE(outranked);
  EXPECT_EQ(d.federations.size(), 1u);
  EXPECT_EQ(d.settings.rate.per_second, 5);
}

TEST(Evaluate, ReportedRuleIsKeptWhenEnforcementDenies) {
  auto policy = testing::must_load(kPolicy);
  const Decision d = evaluate(*policy, inbound("x.other.example", FE::send));
  ASSERT_GE(d.reported_rule, 0);
  EXPECT_EQ(policy->rules[static_cast<std::size_t>(d.reported_rule)].id, "shadow-on-denied");
}

// The legacy media endpoints have no authenticated origin: only a rule naming them opens them,
// never `@all`, `@media`, `@unauthenticated` or a rule without endpoints; the media settings for
// the unknown origin apply.
TEST(Evaluate, LegacyMediaOnlyByName) {
  const std::string head = R"(
version: 1
server_name: core.example
default: deny
defaults: {media: {allowed: true, max_bytes: 100, content_types: ["image/*"]}}
rules:
  - {id: anyone-all, peer: anyone, direction: inbound, endpoints: ["@all", "@media", "@unauthenticated"], action: allow}
  - {id: unknown-everything, peer: unknown, direction: inbound, action: allow}
)";
  const std::string named =
      head +
      "  - {id: legacy, peer: unknown, direction: inbound, endpoints: [\"@legacy_media\"], "
      "action: allow}\n";
  const std::string no_media =
      named + "settings:\n  - {id: no-media, peer: unknown, media: {allowed: false}}\n";
  auto facts = [](FE e, std::optional<std::uint64_t> size = {}, std::string type = {}) {
    RequestFacts f = inbound(std::nullopt, e);
    f.server_name = "core.example";
    if (size || !type.empty()) f.media = MediaFacts{size, std::move(type)};
    return f;
  };
  const struct {
    const char* name;
    const std::string& policy;
    RequestFacts facts;
    Action action;
    const char* rule;
    const char* reason;
  } cases[] = {
      {"not named: default", head, facts(FE::media_legacy_download), Action::deny, "default",
       "default_deny"},
      {"thumbnail not named", head, facts(FE::media_legacy_thumbnail), Action::deny, "default",
       "default_deny"},
      {"federation media: peer unknown is the more specific rule", head, facts(FE::media_download),
       Action::allow, "unknown-everything", "allowed_by_rule"},
      {"named", named, facts(FE::media_legacy_download), Action::allow, "legacy",
       "allowed_by_rule"},
      {"named, answer too large", named, facts(FE::media_legacy_thumbnail, 101), Action::deny,
       "media", "media_too_large"},
      {"named, answer of a refused type", named, facts(FE::media_legacy_download, 5, "text/html"),
       Action::deny, "media", "media_content_type_not_allowed"},
      {"named, media not allowed for unknown", no_media, facts(FE::media_legacy_download),
       Action::deny, "media", "media_not_allowed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto policy = testing::must_load(c.policy);
    const Decision d = evaluate(*policy, c.facts);
    EXPECT_EQ(d.action, c.action);
    EXPECT_EQ(d.rule_id, c.rule);
    EXPECT_EQ(d.reason, c.reason);
  }
}

TEST(Evaluate, DefaultAllow) {
  auto policy = testing::must_load("version: 1\nserver_name: c.example\ndefault: allow\n");
  const Decision d = evaluate(*policy, inbound("anything.example", FE::send));
  EXPECT_EQ(d.action, Action::allow);
  EXPECT_EQ(d.reason, "default_allow");
}

TEST(Evaluate, ResolveSettingsPerField) {
  auto policy = testing::must_load(kPolicy);
  Settings in = resolve_settings(*policy, std::string("hq.partner2.example"), Direction::inbound);
  Settings out = resolve_settings(*policy, std::string("hq.partner2.example"), Direction::outbound);
  EXPECT_TRUE(in.media->allowed);
  EXPECT_FALSE(out.media->allowed);      // the exact-server entry wins for media...
  EXPECT_EQ(out.max_body_bytes, 1000u);  // ...while limits still come from the federation
  Settings none = resolve_settings(*policy, std::nullopt, Direction::inbound);
  EXPECT_EQ(none.max_body_bytes, 13107200u);
  EXPECT_EQ(none.source_limits, -1);
}

}  // namespace
}  // namespace bordergate::policy
