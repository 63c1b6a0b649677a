// The response phase of outbound enforcement: events in external answers (backfill,
// get_missing_events, event, state, event_auth, send_join v1/v2), make_* templates, invites
// signed back, and remote media against the media policy. Events are built and signed in the
// test with gateway/matrix (keys generated per run), then tampered with.
#include "gateway/outbound/response_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>

#include "gateway/enforcement/edu_binding.h"
#include "gateway/matrix/event.h"
#include "gateway/matrix/redaction.h"
#include "gateway/outbound/media_answer.h"
#include "tests/unit/policy/test_util.h"
#include "tests/unit/source_dir.h"

namespace bordergate::outbound {
namespace {

using matrix::Json;
using matrix::JsonArray;
using matrix::JsonObject;
using E = policy::FederationEndpoint;
using enforcement::EventOutcome;

constexpr const char* kRoom = "!room:remote.example";
constexpr const char* kCore = "core.example";
constexpr const char* kRemote = "remote.example";

JsonObject parse_object(std::string_view text) {
  auto j = matrix::parse_json(text);
  EXPECT_TRUE(j.ok()) << text;
  return *j->object_if();
}

struct World {
  std::map<std::string, matrix::SigningKey, std::less<>> signing = {
      {"core.example", matrix::SigningKey::generate("c1")},
      {"remote.example", matrix::SigningKey::generate("r1")},
      {"other.example", matrix::SigningKey::generate("o1")},
      {"late.example", matrix::SigningKey::generate("l1")},  // not in the cache at first
  };
  bool late_cached = false;
  const matrix::RoomVersionRules* v10 = matrix::find_room_version("10");

  matrix::KeyLookup keys() const {
    return [this](std::string_view server, std::string_view key_id,
                  std::int64_t) -> Result<matrix::VerifyKey> {
      auto it = signing.find(server);
      if (it == signing.end() || it->second.key_id() != key_id ||
          (server == "late.example" && !late_cached))
        return make_error("unknown_key", "not cached");
      return it->second.verify_key();
    };
  }

  JsonObject sign(JsonObject e, std::string_view server) const {
    EXPECT_TRUE(matrix::hash_and_sign_event(e, *v10, server, signing.at(std::string(server))).ok());
    return e;
  }

  JsonObject create() const {
    return sign(
        parse_object(R"({"type":"m.room.create","state_key":"","room_id":"!room:remote.example",
        "sender":"@creator:remote.example","origin_server_ts":1700000000000,"depth":1,
        "prev_events":[],"auth_events":[],"content":{"room_version":"10"}})"),
        kRemote);
  }

  JsonObject message(std::string_view sender_server, std::string body,
                     std::string room = kRoom) const {
    JsonObject e = parse_object(R"({"type":"m.room.message","origin_server_ts":1700000000100,
        "depth":5,"prev_events":["$p"],"auth_events":["$a"],"content":{"msgtype":"m.text"}})");
    e["room_id"] = Json(std::move(room));
    e["sender"] = Json("@u:" + std::string(sender_server));
    (*e["content"].object_if())["body"] = Json(std::move(body));
    return sign(std::move(e), sender_server);
  }

  JsonObject member(std::string_view user, std::string_view membership, std::string room,
                    std::string_view sender) const {
    JsonObject e = parse_object(R"({"type":"m.room.member","origin_server_ts":1700000000200,
        "depth":6,"prev_events":["$p"],"auth_events":["$a"],"content":{}})");
    e["room_id"] = Json(std::move(room));
    e["sender"] = Json(sender);
    e["state_key"] = Json(user);
    (*e["content"].object_if())["membership"] = Json(membership);
    return sign(std::move(e), enforcement::user_server(sender));
  }

  // A message of `server` re-typed as `type` (hashed and signed again).
  JsonObject typed(std::string_view server, const char* type, std::string body,
                   std::string room = kRoom) const {
    JsonObject e = message(server, std::move(body), std::move(room));
    e["type"] = Json(type);
    e.erase("signatures");
    e.erase("hashes");
    return sign(std::move(e), server);
  }

  std::string id(const JsonObject& e) const { return *matrix::compute_event_id(e, *v10); }
};

JsonObject tampered(JsonObject e) {
  (*e["content"].object_if())["body"] = Json("changed after signing");
  return e;
}

// Signed by a server other than the sender's (`by`): the signature check fails
// (missing_signature).
JsonObject forged(const World& w, JsonObject e, std::string_view by = "other.example") {
  e.erase("signatures");
  return w.sign(std::move(e), by);
}

std::string dump(const Json& j) { return matrix::compact_json(j); }

// A policy for remote.example, every endpoint allowed; tests add their content rules.
constexpr const char* kRemotePolicyHead = R"(version: 1
server_name: core.example
default: deny
federations:
  remote: {servers: [remote.example]}
rules:
  - {id: remote-all, federation: remote, direction: both, endpoints: ["@all"], action: allow})";

struct Exchange {
  ResponseCheckInput in;
  ResponseCheck run(const World& w, std::string body, int status = 200) {
    body_ = std::move(body);
    in.answer = {status, "application/json", body_};
    return check_response(in, w.keys());
  }
  std::string body_;
};

Exchange asking(E endpoint, int api_version = 1, std::string_view event_id = {}) {
  Exchange r;
  r.in.asked.endpoint = endpoint;
  r.in.asked.api_version = api_version;
  r.in.asked.room_id = kRoom;
  r.in.asked.event_id = event_id;
  r.in.asked.destination = kRemote;
  r.in.asked.core_server_name = kCore;
  return r;
}

TEST(ResponseCheck, RemovableListsDropFailingEventsOnly) {
  World w;
  const JsonObject good1 = w.message(kRemote, "one");
  const JsonObject good2 = w.message("other.example", "two (relayed from another server)");
  struct Case {
    const char* name;
    E endpoint;
    const char* key;
    JsonObject bad;  // empty = none
    const char* error;
  };
  const Case cases[] = {
      {"all good", E::backfill, "pdus", {}, ""},
      {"signed by a server that is not the sender's", E::backfill, "pdus",
       forged(w, w.message(kRemote, "forged")), "missing_signature"},
      {"another room", E::get_missing_events, "events",
       w.message(kRemote, "elsewhere", "!elsewhere:remote.example"), "wrong_room"},
      {"forged in get_missing_events", E::get_missing_events, "events",
       forged(w, w.message(kRemote, "y")), "missing_signature"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    JsonArray events{Json(good1)};
    if (!c.bad.empty()) events.push_back(Json(c.bad));
    events.push_back(Json(good2));
    JsonObject body{{c.key, Json(events)}};
    if (c.endpoint == E::backfill) {
      body["origin"] = Json(kRemote);
      body["origin_server_ts"] = Json(std::int64_t{1700000000999});
    }
    Exchange r = asking(c.endpoint);
    ResponseCheck got = r.run(w, dump(Json(body)));
    EXPECT_EQ(got.events_checked, events.size());
    if (c.bad.empty()) {
      EXPECT_EQ(got.action, ResponseAction::pass);
      EXPECT_EQ(got.reason, "response_ok");
      EXPECT_TRUE(got.body.empty());
      continue;
    }
    ASSERT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
    ASSERT_EQ(got.removed.size(), 1u);
    EXPECT_EQ(got.removed[0].error, c.error);
    EXPECT_EQ(got.reason, "response_events_filtered");
    // The kept events are byte-identical in canonical form and in order; the rest survives.
    auto filtered = matrix::parse_json(got.body);
    ASSERT_TRUE(filtered.ok());
    const JsonArray& kept = *filtered->find(c.key)->array_if();
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(*matrix::canonical_json(kept[0]), *matrix::canonical_json(Json(good1)));
    EXPECT_EQ(*matrix::canonical_json(kept[1]), *matrix::canonical_json(Json(good2)));
    if (c.endpoint == E::backfill) {
      EXPECT_NE(filtered->find("origin"), nullptr);
    }
    EXPECT_EQ(audit_note(got), "response_events_filtered: removed " + got.removed[0].event_id +
                                   " (" + c.error + ")");
  }
}

TEST(ResponseCheck, MissingKeysAreReportedThenFailAfterTheFetch) {
  World w;
  const JsonObject late = w.message("late.example", "from a server whose key is not cached");
  JsonObject body{{"pdus", Json(JsonArray{Json(w.message(kRemote, "a")), Json(late)})}};
  Exchange r = asking(E::backfill);
  ResponseCheck first = r.run(w, dump(Json(body)));
  ASSERT_EQ(first.action, ResponseAction::need_keys);
  ASSERT_EQ(first.missing_keys.size(), 1u);
  EXPECT_EQ(first.missing_keys[0].server, "late.example");
  EXPECT_EQ(first.missing_keys[0].key_id, "ed25519:l1");
  EXPECT_EQ(first.missing_keys[0].valid_at_ms, 1700000000100);  // origin_server_ts

  // The key store found it: the event passes.
  w.late_cached = true;
  r.in.keys_awaited = true;
  EXPECT_EQ(r.run(w, dump(Json(body))).action, ResponseAction::pass);
  // The key store could not get it: the event is removed, no second fetch round.
  w.late_cached = false;
  ResponseCheck final_run = r.run(w, dump(Json(body)));
  ASSERT_EQ(final_run.action, ResponseAction::filtered);
  EXPECT_TRUE(final_run.missing_keys.empty());
}

// An event whose signatures verify but whose content no longer matches its hash is what an
// event redacted at its origin looks like; Synapse serves such events in backfill and state
// answers and keeps them as redacted when it receives them. The gateway passes them in their
// redacted form (the same bytes again when already redacted), in every kind of answer, and
// never refuses a state for them.
TEST(ResponseCheck, EventsWhoseContentNoLongerMatchesTheirHashArriveRedacted) {
  World w;
  const JsonObject original = w.message(kRemote, "deleted later by its sender");
  const JsonObject pruned = *matrix::redact_event(original, *w.v10);  // as the origin serves it
  const JsonObject changed = tampered(original);  // altered on the way: redacted likewise
  const std::string redacted_form = *matrix::canonical_json(Json(pruned));
  for (const JsonObject* e : {&pruned, &changed}) {
    Exchange r = asking(E::backfill);
    ResponseCheck got = r.run(w, dump(Json(JsonObject{{"pdus", Json(JsonArray{Json(*e)})}})));
    ASSERT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
    EXPECT_TRUE(got.removed.empty());
    EXPECT_EQ(got.arrived_redacted, 1u);
    EXPECT_TRUE(got.originals.empty());  // nothing refused: no original to keep
    ASSERT_EQ(got.judged.size(), 1u);
    EXPECT_EQ(got.judged[0].outcome, EventOutcome::arrived_redacted);
    EXPECT_EQ(got.judged[0].event_id, w.id(original));
    auto body = matrix::parse_json(got.body);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(*matrix::canonical_json(body->find("pdus")->array_if()->front()), redacted_form);
  }
  Exchange state = asking(E::state);
  ResponseCheck got =
      state.run(w, dump(Json(JsonObject{{"auth_chain", Json(JsonArray{Json(w.create())})},
                                        {"pdus", Json(JsonArray{Json(pruned)})}})));
  EXPECT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
  EXPECT_EQ(got.learnt_room_version, "10");
}

// The Core's answers to a peer (AnswerSource::core): the events travel outbound and meet the
// outbound rules for that peer. The Core's events pass as served (its redacted copies too); a
// refused one is redacted under the room's version. One the rules refuse whose version cannot
// be established is not let through: the answer is refused.
TEST(ResponseCheck, TheCoresAnswersMeetTheOutboundRules) {
  World w;
  const auto policy = policy::testing::must_load(std::string(kRemotePolicyHead) + R"(
  - {id: keep-inside, federation: remote, direction: outbound, event_types: [org.internal], action: deny}
  - {id: in-only, federation: remote, direction: inbound, event_types: [m.room.message], action: deny}
)");
  ASSERT_TRUE(policy);
  constexpr const char* kCoreRoom = "!room:core.example";
  auto core_event = [&](const char* type, std::string body) {
    return w.typed(kCore, type, std::move(body), kCoreRoom);
  };
  const JsonObject message = core_event("m.room.message", "fine to share");
  const JsonObject internal = core_event("org.internal", "agency only");
  const JsonObject pruned = *matrix::redact_event(core_event("m.room.message", "deleted"), *w.v10);
  auto ask = [&](const matrix::RoomVersionRules* known) {
    Exchange r = asking(E::backfill);
    r.in.source = AnswerSource::core;
    r.in.asked.room_id = kCoreRoom;
    r.in.asked.destination = kRemote;  // the peer that asked
    r.in.policy = policy.get();
    r.in.room_versions = [known](std::string_view) { return known; };
    return r;
  };
  Exchange r = ask(w.v10);
  ResponseCheck got =
      r.run(w, dump(Json(JsonObject{
                   {"origin", Json(kCore)},
                   {"pdus", Json(JsonArray{Json(message), Json(internal), Json(pruned)})}})));
  ASSERT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
  EXPECT_EQ(got.redacted, 1u);
  EXPECT_EQ(got.arrived_redacted, 0u);  // the Core's redacted copy passes as it is
  auto body = matrix::parse_json(got.body);
  ASSERT_TRUE(body.ok());
  const JsonArray& out = *body->find("pdus")->array_if();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(*matrix::canonical_json(out[0]), *matrix::canonical_json(Json(message)));
  EXPECT_EQ(*matrix::canonical_json(out[1]),
            *matrix::canonical_json(Json(*matrix::redact_event(internal, *w.v10))));
  EXPECT_EQ(*matrix::canonical_json(out[2]), *matrix::canonical_json(Json(pruned)));
  ASSERT_EQ(got.judged.size(), 3u);
  EXPECT_EQ(got.judged[1].rule_id, "keep-inside");

  // Unknown room version, but the event verifies under a candidate (the Core's key is at hand).
  Exchange unknown = ask(nullptr);
  got = unknown.run(w, dump(Json(JsonObject{{"pdus", Json(JsonArray{Json(internal)})}})));
  EXPECT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
  EXPECT_EQ(got.redacted, 1u);
  // Unknown version and an unverifiable event the rules refuse: not let through unredacted.
  JsonObject unverifiable = internal;
  unverifiable.erase("signatures");
  got = unknown.run(w, dump(Json(JsonObject{{"pdus", Json(JsonArray{Json(unverifiable)})}})));
  EXPECT_EQ(got.action, ResponseAction::refuse);
  EXPECT_EQ(got.reason, "response_event_unredactable");
  // The same unverifiable event, allowed by the rules: passed as served.
  JsonObject other = message;
  other.erase("signatures");
  got = unknown.run(w, dump(Json(JsonObject{{"pdus", Json(JsonArray{Json(other)})}})));
  EXPECT_EQ(got.action, ResponseAction::pass) << got.reason;
}

// Content rules over the events of an answer (the inbound rules: they travel to the Core). A
// refused event is delivered in its redacted form (same event id, signatures still valid,
// content gone), never removed: the Core's DAG stays whole. A quarantine rule refuses too (an
// answer cannot be held); a report rule forwards and is listed.
TEST(ResponseCheck, EventsTheRulesRefuseAreDeliveredRedacted) {
  World w;
  const auto policy = policy::testing::must_load(std::string(kRemotePolicyHead) + R"(
  - {id: no-secrets, federation: remote, direction: inbound, event_types: [org.secret], action: deny}
  - {id: hold-polls, federation: remote, direction: inbound, event_types: [org.poll], action: quarantine}
  - {id: watch-notes, federation: remote, direction: inbound, event_types: [org.note], action: report}
  - {id: out-only, federation: remote, direction: outbound, event_types: [m.room.message], action: deny}
)");
  ASSERT_TRUE(policy);
  auto typed = [&](const char* type, std::string body) {
    return w.typed(kRemote, type, std::move(body));
  };
  const JsonObject plain = w.message(kRemote, "an ordinary message");
  const JsonObject secret = typed("org.secret", "do not cross");
  const JsonObject poll = typed("org.poll", "a poll");
  const JsonObject note = typed("org.note", "a note");
  auto redacted = [&](const JsonObject& e) {
    return *matrix::canonical_json(Json(*matrix::redact_event(e, *w.v10)));
  };

  // get_missing_events: the refused ones redacted in place, in order; the others untouched.
  Exchange r = asking(E::get_missing_events);
  r.in.policy = policy.get();
  JsonArray events{Json(plain), Json(secret), Json(poll), Json(note)};
  ResponseCheck got = r.run(w, dump(Json(JsonObject{{"events", Json(events)}})));
  ASSERT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
  EXPECT_EQ(got.reason, "response_events_redacted");
  EXPECT_EQ(got.redacted, 2u);
  EXPECT_TRUE(got.removed.empty());
  auto body = matrix::parse_json(got.body);
  ASSERT_TRUE(body.ok());
  const JsonArray& out = *body->find("events")->array_if();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(*matrix::canonical_json(out[0]), *matrix::canonical_json(Json(plain)));
  EXPECT_EQ(*matrix::canonical_json(out[1]), redacted(secret));
  EXPECT_EQ(*matrix::canonical_json(out[2]), redacted(poll));
  EXPECT_EQ(*matrix::canonical_json(out[3]), *matrix::canonical_json(Json(note)));
  // The redacted form keeps its id and its signature: it verifies as an event whose content
  // hash no longer matches (what a receiving homeserver treats as redacted).
  EXPECT_EQ(w.id(*out[1].object_if()), w.id(secret));
  EXPECT_EQ(out[1].find("content")->object_if()->size(), 0u);
  enforcement::PduVerdict again = enforcement::inspect_pdu(*out[1].object_if(), w.v10, w.keys());
  EXPECT_EQ(again.error, "content_hash_mismatch");
  ASSERT_EQ(got.judged.size(), 4u);
  const EventOutcome expected[] = {EventOutcome::forward, EventOutcome::redacted,
                                   EventOutcome::redacted, EventOutcome::report};
  const char* rules[] = {"", "no-secrets", "hold-polls", "watch-notes"};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got.judged[i].outcome, expected[i]) << i;
    EXPECT_EQ(got.judged[i].rule_id, rules[i]) << i;
    EXPECT_EQ(got.judged[i].event_id, w.id(*events[i].object_if())) << i;
  }
  EXPECT_EQ(audit_note(got), "redacted by policy: " + w.id(secret) + " (rule no-secrets), " +
                                 w.id(poll) + " (rule hold-polls)");
  // The originals of the refused events, as they arrived, for the evidence store.
  ASSERT_EQ(got.originals.size(), 2u);
  EXPECT_EQ(got.originals[0].event_id, w.id(secret));
  EXPECT_EQ(got.originals[0].event_type, "org.secret");
  EXPECT_EQ(got.originals[0].rule_id, "no-secrets");
  EXPECT_EQ(got.originals[0].json, matrix::compact_json(Json(secret)));
  EXPECT_EQ(got.originals[1].rule_id, "hold-polls");

  // A single event (/event) and a complete set (state): redacted too, never refused.
  const std::string secret_id = w.id(secret);  // the request names it (a view into this)
  Exchange one = asking(E::event, 1, secret_id);
  one.in.asked.room_id = {};
  one.in.policy = policy.get();
  got = one.run(w, dump(Json(JsonObject{{"origin", Json(kRemote)},
                                        {"origin_server_ts", Json(std::int64_t{1})},
                                        {"pdus", Json(JsonArray{Json(secret)})}})));
  ASSERT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
  auto single = matrix::parse_json(got.body);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(*matrix::canonical_json(single->find("pdus")->array_if()->front()), redacted(secret));
  Exchange state = asking(E::state);
  state.in.policy = policy.get();
  got = state.run(w, dump(Json(JsonObject{{"auth_chain", Json(JsonArray{Json(w.create())})},
                                          {"pdus", Json(JsonArray{Json(plain), Json(secret)})}})));
  ASSERT_EQ(got.action, ResponseAction::filtered) << got.reason << " " << got.error;
  EXPECT_EQ(got.redacted, 1u);
  EXPECT_EQ(got.judged.size(), 3u);

  // Without a policy, or with rules of the other direction only, nothing changes.
  Exchange unjudged = asking(E::get_missing_events);
  got = unjudged.run(w, dump(Json(JsonObject{{"events", Json(events)}})));
  EXPECT_EQ(got.action, ResponseAction::pass);
  EXPECT_TRUE(got.judged.empty());
}

TEST(ResponseCheck, SingleEventMustVerifyAndBeTheOneAskedFor) {
  World w;
  const JsonObject e = w.message(kRemote, "asked");
  const std::string id = w.id(e);
  auto body = [](const JsonObject& ev) {
    return dump(Json(JsonObject{{"origin", Json(kRemote)},
                                {"origin_server_ts", Json(std::int64_t{1})},
                                {"pdus", Json(JsonArray{Json(ev)})}}));
  };
  struct Case {
    const char* name;
    std::string body;
    ResponseAction action;
    const char* reason;
  };
  const Case cases[] = {
      {"the event", body(e), ResponseAction::pass, "response_ok"},
      {"content changed (arrives redacted)", body(tampered(e)), ResponseAction::filtered,
       "response_events_redacted"},
      {"forged", body(forged(w, e)), ResponseAction::refuse, "response_event_failed"},
      {"another event", body(w.message(kRemote, "other")), ResponseAction::refuse,
       "response_event_id_mismatch"},
      {"two events", dump(Json(JsonObject{{"pdus", Json(JsonArray{Json(e), Json(e)})}})),
       ResponseAction::refuse, "response_malformed"},
      {"not JSON", "{\"pdus\": [", ResponseAction::refuse, "response_malformed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Exchange r = asking(E::event, 1, id);
    r.in.asked.room_id = {};  // /event names no room
    ResponseCheck got = r.run(w, c.body);
    EXPECT_EQ(got.action, c.action) << got.error;
    EXPECT_EQ(got.reason, c.reason);
    if (c.action == ResponseAction::refuse) {
      EXPECT_EQ(got.status, 502);
      EXPECT_STREQ(got.errcode, "M_UNKNOWN");
      EXPECT_FALSE(got.error.empty());
      EXPECT_EQ(audit_note(got), "response refused: " + std::string(c.reason));
    } else if (c.action == ResponseAction::filtered) {
      EXPECT_EQ(got.arrived_redacted, 1u);
      EXPECT_EQ(audit_note(got),
                "1 events arrived redacted (content hash mismatch, signatures valid), passed "
                "redacted");
    } else {
      EXPECT_EQ(audit_note(got), "");
    }
  }
}

// send_join (v2 object, v1 [200, {...}]), state and event_auth: nothing may be removed.
// The membership events among an answer's verified events are handed to the room-members
// tracker: a send_join's state names every member of the room, whatever the rules decide.
TEST(ResponseCheck, MembershipsOfVerifiedEventsAreCollected) {
  World w;
  const JsonObject create = w.create();
  const JsonObject join = w.member("@joiner:core.example", "join", kRoom, "@joiner:core.example");
  const JsonObject remote = w.member("@a:remote.example", "join", kRoom, "@a:remote.example");
  const JsonObject other = w.member("@b:other.example", "leave", kRoom, "@b:other.example");
  const std::string body =
      dump(Json(JsonObject{{"state", Json(JsonArray{Json(create), Json(remote), Json(other)})},
                           {"auth_chain", Json(JsonArray{Json(create), Json(remote)})}}));
  Exchange r = asking(E::send_join, 2, w.id(join));
  ResponseCheck got = r.run(w, body);
  ASSERT_EQ(got.action, ResponseAction::pass) << got.error;
  std::vector<std::tuple<std::string, bool, std::int64_t>> seen;
  for (const enforcement::Membership& m : got.memberships) {
    EXPECT_EQ(m.room_id, kRoom);
    seen.emplace_back(m.user_id, m.joined, m.depth);
  }
  // State and auth chain both (in no promised order): the tracker takes repeats in its stride.
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::tuple<std::string, bool, std::int64_t>>{
                      {"@a:remote.example", true, 6},
                      {"@a:remote.example", true, 6},
                      {"@b:other.example", false, 6}}));
  // A forged member event is not taken (the whole answer is refused anyway).
  const std::string forged_body =
      dump(Json(JsonObject{{"state", Json(JsonArray{Json(create), Json(forged(w, remote))})},
                           {"auth_chain", Json(JsonArray{})}}));
  ResponseCheck refused = r.run(w, forged_body);
  EXPECT_EQ(refused.action, ResponseAction::refuse);
  EXPECT_TRUE(refused.memberships.empty());
}

TEST(ResponseCheck, CompleteSetsAreRefusedOnAnyFailingEvent) {
  World w;
  const JsonObject create = w.create();
  const JsonObject join = w.member("@joiner:core.example", "join", kRoom, "@joiner:core.example");
  const std::string join_id = w.id(join);
  const JsonObject m1 = w.message(kRemote, "state one");
  const JsonObject m2 = w.message("other.example", "auth two");
  auto send_join = [&](JsonArray state, JsonArray auth, std::optional<JsonObject> event, int api) {
    JsonObject o{{"state", Json(std::move(state))}, {"auth_chain", Json(std::move(auth))}};
    if (event) o["event"] = Json(*event);
    if (api == 1) return dump(Json(JsonArray{Json(200), Json(std::move(o))}));
    return dump(Json(std::move(o)));
  };
  struct Case {
    const char* name;
    E endpoint;
    int api;
    std::string body;
    ResponseAction action;
    const char* reason;
  };
  const Case cases[] = {
      {"send_join v2", E::send_join, 2,
       send_join({Json(create), Json(m1)}, {Json(create), Json(m2)}, join, 2), ResponseAction::pass,
       "response_ok"},
      {"send_join v1 array form", E::send_join, 1,
       send_join({Json(create), Json(m1)}, {Json(m2)}, std::nullopt, 1), ResponseAction::pass,
       "response_ok"},
      {"send_join v2 state event arrives redacted", E::send_join, 2,
       send_join({Json(create), Json(tampered(m1))}, {Json(m2)}, std::nullopt, 2),
       ResponseAction::filtered, "response_events_redacted"},
      {"send_join v2 forged state", E::send_join, 2,
       send_join({Json(create), Json(forged(w, m1))}, {Json(m2)}, std::nullopt, 2),
       ResponseAction::refuse, "response_event_failed"},
      {"send_join v2 forged auth chain", E::send_join, 2,
       send_join({Json(create)}, {Json(forged(w, m2, kRemote))}, std::nullopt, 2),
       ResponseAction::refuse, "response_event_failed"},
      {"send_join v2 another join event", E::send_join, 2,
       send_join({Json(create)}, {Json(m2)},
                 w.member("@else:core.example", "join", kRoom, "@else:core.example"), 2),
       ResponseAction::refuse, "response_event_id_mismatch"},
      {"send_join v1 without the array", E::send_join, 1,
       send_join({Json(create)}, {Json(m2)}, std::nullopt, 2), ResponseAction::refuse,
       "response_malformed"},
      {"send_join v2 without auth_chain", E::send_join, 2,
       dump(Json(JsonObject{{"state", Json(JsonArray{})}})), ResponseAction::refuse,
       "response_malformed"},
      {"state", E::state, 1,
       dump(Json(JsonObject{{"pdus", Json(JsonArray{Json(create), Json(m1)})},
                            {"auth_chain", Json(JsonArray{Json(m2)})}})),
       ResponseAction::pass, "response_ok"},
      {"state, event of another room", E::state, 1,
       dump(Json(JsonObject{
           {"pdus", Json(JsonArray{Json(w.message(kRemote, "x", "!other:remote.example"))})},
           {"auth_chain", Json(JsonArray{})}})),
       ResponseAction::refuse, "response_event_failed"},
      {"event_auth", E::event_auth, 1,
       dump(Json(JsonObject{{"auth_chain", Json(JsonArray{Json(create), Json(m2)})}})),
       ResponseAction::pass, "response_ok"},
      {"event_auth event arrives redacted", E::event_auth, 1,
       dump(Json(JsonObject{{"auth_chain", Json(JsonArray{Json(tampered(m2))})}})),
       ResponseAction::filtered, "response_events_redacted"},
      {"event_auth forged", E::event_auth, 1,
       dump(Json(JsonObject{{"auth_chain", Json(JsonArray{Json(forged(w, m2, kRemote))})}})),
       ResponseAction::refuse, "response_event_failed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Exchange r = asking(c.endpoint, c.api, join_id);
    ResponseCheck got = r.run(w, c.body);
    EXPECT_EQ(got.action, c.action) << got.error;
    EXPECT_EQ(got.reason, c.reason);
    if (c.action == ResponseAction::pass && c.endpoint != E::event_auth) {
      // The verified create event of the room founds its version; refused answers teach nothing.
      EXPECT_EQ(got.learnt_room_version, "10");
      EXPECT_FALSE(got.room_version_unknown);
    }
    if (c.action == ResponseAction::refuse) {
      EXPECT_EQ(got.status, 502);
      EXPECT_TRUE(got.learnt_room_version.empty());
    }
  }
}

TEST(ResponseCheck, ACreateEventFromAnotherServerTeachesNoVersion) {
  World w;
  JsonObject create =
      parse_object(R"({"type":"m.room.create","state_key":"","room_id":"!room:remote.example",
      "sender":"@mallory:other.example","origin_server_ts":1700000000000,"depth":1,
      "prev_events":[],"auth_events":[],"content":{"room_version":"1"}})");
  create = w.sign(std::move(create), "other.example");
  Exchange r = asking(E::event_auth);
  ResponseCheck got =
      r.run(w, dump(Json(JsonObject{{"auth_chain", Json(JsonArray{Json(create)})}})));
  EXPECT_TRUE(got.learnt_room_version.empty());
}

TEST(ResponseCheck, StateIdsShape) {
  World w;
  Exchange r = asking(E::state_ids);
  EXPECT_EQ(r.run(w, R"({"pdu_ids":["$a","$b:x"],"auth_chain_ids":[]})").action,
            ResponseAction::pass);
  EXPECT_EQ(r.run(w, R"({"pdu_ids":["a"],"auth_chain_ids":[]})").reason, "response_malformed");
  EXPECT_EQ(r.run(w, R"({"pdu_ids":[]})").reason, "response_malformed");
  EXPECT_EQ(r.run(w, R"({"pdu_ids":[1],"auth_chain_ids":[]})").reason, "response_malformed");
}

TEST(ResponseCheck, MakeTemplatesMustMatchTheRequest) {
  World w;
  const std::string user = "@joiner:core.example";
  auto tmpl = [&](const char* version, const char* type, const char* room,
                  const std::string& sender, const std::string& state_key, const char* membership) {
    JsonObject event{{"type", Json(type)},
                     {"room_id", Json(room)},
                     {"sender", Json(sender)},
                     {"state_key", Json(state_key)},
                     {"origin_server_ts", Json(std::int64_t{1})},
                     {"content", Json(JsonObject{{"membership", Json(membership)}})}};
    return dump(Json(JsonObject{{"room_version", Json(version)}, {"event", Json(event)}}));
  };
  const std::vector<std::string> offered = {"9", "10", "11"};
  struct Case {
    const char* name;
    E endpoint;
    std::string body;
    const char* reason;
  };
  const std::string other = "@else:core.example";
  const Case cases[] = {
      {"join", E::make_join, tmpl("10", "m.room.member", kRoom, user, user, "join"), "response_ok"},
      {"leave", E::make_leave, tmpl("10", "m.room.member", kRoom, user, user, "leave"),
       "response_ok"},
      {"knock", E::make_knock, tmpl("10", "m.room.member", kRoom, user, user, "knock"),
       "response_ok"},
      {"wrong membership", E::make_join, tmpl("10", "m.room.member", kRoom, user, user, "leave"),
       "template_mismatch"},
      {"wrong type", E::make_join, tmpl("10", "m.room.message", kRoom, user, user, "join"),
       "template_mismatch"},
      {"wrong room", E::make_join,
       tmpl("10", "m.room.member", "!x:remote.example", user, user, "join"), "template_mismatch"},
      {"wrong sender", E::make_join, tmpl("10", "m.room.member", kRoom, other, user, "join"),
       "template_mismatch"},
      {"wrong state_key", E::make_join, tmpl("10", "m.room.member", kRoom, user, other, "join"),
       "template_mismatch"},
      {"version not offered", E::make_join, tmpl("8", "m.room.member", kRoom, user, user, "join"),
       "room_version_not_offered"},
      {"unknown version", E::make_join,
       tmpl("org.example.v99", "m.room.member", kRoom, user, user, "join"), "unknown_room_version"},
      {"no event", E::make_join, R"({"room_version":"10"})", "response_malformed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Exchange r = asking(c.endpoint);
    r.in.asked.user_id = user;
    if (c.endpoint != E::make_leave) r.in.asked.offered_versions = offered;
    ResponseCheck got = r.run(w, c.body);
    EXPECT_EQ(got.reason, c.reason) << got.error;
    EXPECT_EQ(got.action, std::string_view(c.reason) == "response_ok" ? ResponseAction::pass
                                                                      : ResponseAction::refuse);
    EXPECT_TRUE(got.learnt_room_version.empty());  // a template is the peer's unsigned word
  }
}

TEST(ResponseCheck, InviteComesBackSignedByTheInviteesServer) {
  World w;
  const std::string room = "!r2:core.example";
  const JsonObject sent = w.member("@bob:remote.example", "invite", room, "@alice:core.example");
  JsonObject countersigned = sent;
  ASSERT_TRUE(
      matrix::hash_and_sign_event(countersigned, *w.v10, kRemote, w.signing.at("remote.example"))
          .ok());
  JsonObject altered = countersigned;
  (*altered["content"].object_if())["membership"] = Json("join");
  JsonObject other_signer = sent;
  ASSERT_TRUE(matrix::hash_and_sign_event(other_signer, *w.v10, "other.example",
                                          w.signing.at("other.example"))
                  .ok());
  JsonObject core_signature_gone = countersigned;
  (*core_signature_gone["signatures"].object_if()).erase(kCore);
  auto v2 = [](const JsonObject& e) { return dump(Json(JsonObject{{"event", Json(e)}})); };
  auto v1 = [](const JsonObject& e) {
    return dump(Json(JsonArray{Json(200), Json(JsonObject{{"event", Json(e)}})}));
  };
  struct Case {
    const char* name;
    int api;
    std::string body;
    const char* reason;
  };
  const Case cases[] = {
      {"v2 countersigned", 2, v2(countersigned), "response_ok"},
      {"v1 countersigned", 1, v1(countersigned), "response_ok"},
      {"not countersigned", 2, v2(sent), "invite_not_signed_by_invitee"},
      {"signed by another server", 2, v2(other_signer), "invite_not_signed_by_invitee"},
      {"altered", 2, v2(altered), "invite_event_altered"},
      {"the Core's signature removed", 2, v2(core_signature_gone), "response_event_failed"},
      {"v1 answer in v2 form", 1, v2(countersigned), "response_malformed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Exchange r = asking(E::invite, c.api, w.id(sent));
    r.in.asked.room_id = room;
    r.in.asked.sent_event = &sent;
    r.in.room_versions = [&](std::string_view) { return w.v10; };
    ResponseCheck got = r.run(w, c.body);
    EXPECT_EQ(got.reason, c.reason) << got.error;
  }
}

TEST(ResponseCheck, ErrorsAndUncheckedEndpointsPass) {
  World w;
  Exchange r = asking(E::backfill);
  EXPECT_EQ(r.run(w, R"({"errcode":"M_FORBIDDEN","error":"no"})", 403).action,
            ResponseAction::pass);
  Exchange send = asking(E::send);
  EXPECT_EQ(send.run(w, "not even json").action, ResponseAction::pass);
  EXPECT_FALSE(response_needs_check(E::send));
  EXPECT_FALSE(response_needs_check(E::query_profile));
  EXPECT_TRUE(response_needs_check(E::send_join));
  EXPECT_TRUE(response_needs_check(E::media_download));
}

std::string multipart(std::string_view boundary, std::string_view second_part) {
  return "--" + std::string(boundary) + "\r\nContent-Type: application/json\r\n\r\n{}\r\n--" +
         std::string(boundary) + "\r\n" + std::string(second_part) + "\r\n--" +
         std::string(boundary) + "--\r\n";
}

// One row of the media tables: the answer, the policy, and the verdict (errcode "" = passes).
struct MediaCase {
  const char* name;
  std::string content_type;
  std::string body;
  const policy::MediaPolicy* media;
  const char* reason;
  const char* errcode;
};

void expect_verdict(const ResponseCheck& got, const MediaCase& c) {
  EXPECT_EQ(got.reason, c.reason) << got.error;
  const bool passes = std::string_view(c.errcode).empty();
  EXPECT_EQ(got.action, passes ? ResponseAction::pass : ResponseAction::refuse);
  if (!passes) {
    // Policy refusals are 4xx (Synapse backs a server off after a 5xx from it); an answer that
    // is not what the endpoint answers is the remote server's failure, 502.
    const int want = c.reason == std::string_view("media_too_large")      ? 413
                     : c.reason == std::string_view("response_malformed") ? 502
                                                                          : 403;
    EXPECT_EQ(got.status, want);
    EXPECT_STREQ(got.errcode, c.errcode);
  }
}

TEST(MediaAnswer, SizeAndTypeAgainstThePolicy) {
  policy::MediaPolicy images;
  images.max_bytes = 16;
  images.content_types = {"image/*", "application/pdf"};
  policy::MediaPolicy none;
  none.allowed = false;
  const std::string png = "Content-Type: image/png\r\n\r\n" + std::string(16, '\x89');
  const MediaCase cases[] = {
      {"allowed image at the limit", "multipart/mixed; boundary=b0", multipart("b0", png), &images,
       "response_ok", ""},
      {"quoted boundary", "Multipart/Mixed; charset=x; boundary=\"a b:c\"", multipart("a b:c", png),
       &images, "response_ok", ""},
      {"one byte over", "multipart/mixed; boundary=b0",
       multipart("b0", "Content-Type: image/png\r\n\r\n" + std::string(17, 'x')), &images,
       "media_too_large", "M_TOO_LARGE"},
      {"type not allowed", "multipart/mixed; boundary=b0",
       multipart("b0", "Content-Type: text/html\r\n\r\n<p>"), &images,
       "media_content_type_not_allowed", "M_FORBIDDEN"},
      {"no type while types are restricted", "multipart/mixed; boundary=b0",
       multipart("b0", "\r\nabc"), &images, "media_content_type_not_allowed", "M_FORBIDDEN"},
      {"redirect", "multipart/mixed; boundary=b0",
       multipart("b0", "Location: https://cdn.remote.example/x\r\n\r\n"), &images, "media_redirect",
       ""},
      {"redirect, headers only (RFC 2046)", "multipart/mixed; boundary=b0",
       multipart("b0", "Location: https://cdn.remote.example/x\r\n"), &images, "media_redirect",
       ""},
      {"a header line without its CRLF", "multipart/mixed; boundary=b0",
       multipart("b0", "Location: https://cdn.remote.example/x"), &images, "response_malformed",
       "M_UNKNOWN"},
      {"media not allowed", "multipart/mixed; boundary=b0", multipart("b0", png), &none,
       "media_not_allowed", "M_FORBIDDEN"},
      {"no policy", "multipart/mixed; boundary=b0",
       multipart("b0", "Content-Type: text/html\r\n\r\n<p>"), nullptr, "response_ok", ""},
      {"not multipart", "image/png", std::string(4, 'x'), &images, "response_malformed",
       "M_UNKNOWN"},
      {"no boundary", "multipart/mixed", multipart("b0", png), &images, "response_malformed",
       "M_UNKNOWN"},
      {"unclosed", "multipart/mixed; boundary=b0",
       "--b0\r\nContent-Type: application/json\r\n\r\n{}\r\n--b0\r\n" + png, &images,
       "response_malformed", "M_UNKNOWN"},
      {"three parts", "multipart/mixed; boundary=b0", multipart("b0", png + "\r\n--b0\r\n" + png),
       &images, "response_malformed", "M_UNKNOWN"},
      {"first part not JSON", "multipart/mixed; boundary=b0",
       "--b0\r\nContent-Type: text/plain\r\n\r\n{}\r\n--b0\r\n" + png + "\r\n--b0--", &images,
       "response_malformed", "M_UNKNOWN"},
      {"two Content-Types", "multipart/mixed; boundary=b0",
       multipart("b0", "Content-Type: image/png\r\nContent-Type: text/html\r\n\r\nx"), &images,
       "response_malformed", "M_UNKNOWN"},
  };
  for (const MediaCase& c : cases) {
    SCOPED_TRACE(c.name);
    expect_verdict(check_media_answer(c.content_type, c.body, c.media), c);
  }
  // Through check_response: only 2xx answers of the media endpoints are judged.
  ResponseCheckInput in;
  in.asked.endpoint = E::media_thumbnail;
  in.media = &images;
  const std::string big = multipart("b0", "Content-Type: image/png\r\n\r\n" + std::string(99, 'x'));
  in.answer = {200, "multipart/mixed; boundary=b0", big};
  EXPECT_EQ(check_response(in, {}).reason, "media_too_large");
  in.answer.status = 404;
  EXPECT_EQ(check_response(in, {}).action, ResponseAction::pass);
}

// Legacy /_matrix/media/{v3,r0} answers: the body is the media itself, typed by the answer's
// Content-Type; the same policy, and a multipart body is not unwrapped (it is what it says).
TEST(MediaAnswer, LegacyPlainAnswersAgainstThePolicy) {
  policy::MediaPolicy images;
  images.max_bytes = 16;
  images.content_types = {"image/*"};
  policy::MediaPolicy any_size = images;
  any_size.max_bytes.reset();
  policy::MediaPolicy none;
  none.allowed = false;
  const MediaCase cases[] = {
      {"image at the limit", "image/png", std::string(16, 'x'), &images, "response_ok", ""},
      {"type with parameters and case", " IMAGE/PNG; q=1 ", std::string(3, 'x'), &images,
       "response_ok", ""},
      {"one byte over", "image/png", std::string(17, 'x'), &images, "media_too_large",
       "M_TOO_LARGE"},
      {"type not allowed", "text/html", "<p>", &images, "media_content_type_not_allowed",
       "M_FORBIDDEN"},
      {"no type while types are restricted", "", "abc", &images, "media_content_type_not_allowed",
       "M_FORBIDDEN"},
      {"multipart is just a type here", "multipart/mixed; boundary=b0",
       multipart("b0", "Content-Type: image/png\r\n\r\nx"), &any_size,
       "media_content_type_not_allowed", "M_FORBIDDEN"},
      {"media not allowed", "image/png", "x", &none, "media_not_allowed", "M_FORBIDDEN"},
      {"no policy", "text/html", "<p>", nullptr, "response_ok", ""},
      {"empty media", "image/png", "", &images, "response_ok", ""},
  };
  for (const MediaCase& c : cases) {
    SCOPED_TRACE(c.name);
    expect_verdict(check_plain_media_answer(c.content_type, c.body, c.media), c);
  }
  // Through check_response: asked.legacy_media chooses the plain reading, for both endpoints.
  ResponseCheckInput in;
  in.media = &images;
  in.asked.legacy_media = true;
  const std::string big(99, 'x');
  for (E e : {E::media_download, E::media_thumbnail}) {
    in.asked.endpoint = e;
    in.answer = {200, "image/png", "0123456789"};
    EXPECT_EQ(check_response(in, {}).action, ResponseAction::pass);
    in.answer = {200, "image/png", big};
    EXPECT_EQ(check_response(in, {}).reason, "media_too_large");
    in.answer = {404, "application/json", R"({"errcode":"M_NOT_FOUND"})"};
    EXPECT_EQ(check_response(in, {}).action, ResponseAction::pass);
  }
  // The same plain answer to a federation media request is malformed (not multipart).
  in.asked.legacy_media = false;
  in.answer = {200, "image/png", "0123456789"};
  EXPECT_EQ(check_response(in, {}).reason, "response_malformed");
}

TEST(MediaAnswer, PartsAreReadExactly) {
  auto part = parse_media_multipart("multipart/mixed; boundary=xyz",
                                    "preamble\r\n--xyz\r\ncontent-type: application/json\r\n\r\n"
                                    "{}\r\n--xyz  \r\nContent-Type: image/gif\r\n\r\nGIF\r\n89"
                                    "\r\n--xyz--\r\nepilogue");
  ASSERT_TRUE(part.ok()) << part.error().message;
  EXPECT_EQ(part->content_type, "image/gif");
  EXPECT_EQ(part->bytes, "GIF\r\n89");
  EXPECT_FALSE(part->location);
}

// Events signed independently, by python3-signedjson (tests/integration/matrix_events_helper.py;
// the fuzz seeds, key seed [7, 0 x 31] for remote.example, ed25519:f1): one verifies, one was
// tampered with after signing.
TEST(ResponseCheck, EventsSignedByPythonSignedjson) {
  const std::uint8_t seed[32] = {7};
  const matrix::SigningKey key = *matrix::SigningKey::from_seed("f1", seed);
  const matrix::KeyLookup keys = [&](std::string_view server, std::string_view key_id,
                                     std::int64_t) -> Result<matrix::VerifyKey> {
    if (server == "remote.example" && key_id == "ed25519:f1") return key.verify_key();
    return make_error("unknown_key", "not cached");
  };
  auto seed_body = [](const char* name) {
    std::ifstream in(
        std::string(BG_SOURCE_DIR) + "/tests/fuzz/corpus/response_check_fuzzer/" + name,
        std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_GT(bytes.size(), 2u) << name;
    return bytes.substr(2);  // the fuzzer's endpoint and flag bytes
  };
  const std::string backfill = seed_body("backfill");
  ResponseCheckInput in;
  in.asked.endpoint = E::backfill;
  in.asked.room_id = "!r:remote.example";
  in.answer = {200, "application/json", backfill};
  in.room_versions = [](std::string_view) { return matrix::find_room_version("10"); };
  ResponseCheck got = check_response(in, keys);
  // The seed's second event has content that no longer matches its hash (its signature, over
  // the redacted form, still verifies): delivered redacted, as Synapse keeps it.
  ASSERT_EQ(got.action, ResponseAction::filtered) << got.error;
  EXPECT_TRUE(got.removed.empty());
  EXPECT_EQ(got.arrived_redacted, 1u);
  EXPECT_EQ(got.events_checked, 2u);

  // The event endpoint with the verifying one: its id is computed from the Python-signed bytes.
  const std::string event = seed_body("event");
  auto parsed = matrix::parse_json(event);
  ASSERT_TRUE(parsed.ok());
  const std::string id = *matrix::compute_event_id(
      *parsed->find("pdus")->array_if()->front().object_if(), *matrix::find_room_version("10"));
  in.asked.endpoint = E::event;
  in.asked.event_id = id;
  in.answer.body = event;
  EXPECT_EQ(check_response(in, keys).action, ResponseAction::pass);
}

}  // namespace
}  // namespace bordergate::outbound
