// The enforcement phases over the items a request carries (phases.h): recall (a held /send
// retried), inspect (the transaction or membership event, the events' keys), verify_events
// (hashes and signatures), decide (the policy over every item) and hold (quarantine). The
// request-level phases are request_phases.cc.
#include "gateway/common/log.h"
#include "gateway/enforcement/edu_binding.h"
#include "gateway/enforcement/phase_support.h"
#include "gateway/enforcement/phases.h"
#include "gateway/enforcement/services.h"
#include "policy/evaluate.h"

namespace bordergate::enforcement {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): the phases' own helpers
using matrix::Json;
using matrix::JsonObject;
using policy::CheckResult;
using policy::FederationEndpoint;
using E = FederationEndpoint;

constexpr std::size_t kSpecMaxPdus = 50;  // federation-notes §6.1
constexpr std::size_t kSpecMaxEdus = 100;

// A short summary of what made the policy hold the transaction back: item, type, reason.
std::string findings_summary(const JudgedRequest& r) {
  std::string out;
  for (const policy::Finding& f : r.decision->findings) {
    if (f.action == policy::Action::allow) continue;
    const bool pdu = f.kind == policy::ItemKind::pdu;
    const std::string& type =
        pdu ? r.facts.pdus[f.index].event_type : r.facts.edus[f.index].edu_type;
    if (!out.empty()) out += "; ";
    out += (pdu ? "pdu " : "edu ") + std::to_string(f.index) + " " + type + ": " +
           std::string(f.reason);
    if (out.size() > 2000) break;
  }
  return out;
}

// The per-PDU error a content verdict on /send answers with, as the sender reads it.
std::string withheld_error(const JudgedRequest& r, policy::Action action) {
  const bool held = action == policy::Action::quarantine;
  if (outbound(r)) {
    return held ? "Held back by the sending server's border gateway policy"
                : "Refused by the sending server's border gateway policy";
  }
  return held ? "Held back by the receiving server's policy"
              : "Refused by the receiving server's policy";
}

// The store cannot keep the transaction (no store, disk full, I/O error): nothing is forwarded
// and nothing answered 200, which would make the origin drop it; as for an audit log that cannot
// write, the origin is told to retry.
Outcome quarantine_unavailable(JudgedRequest& r) {
  r.denial = "quarantine_unavailable";
  return Outcome::unavailable("The transaction cannot be kept for review now; retry later");
}

// A content verdict (quarantine or deny) on /send: the intact transaction is stored durably
// (off the loop) as held or denied, then answered 200 with an error per PDU (hold), so the
// sender's queue moves on. It is never forwarded in part: it is signed as a whole.
Outcome store_transaction(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  if (r.services->quarantine == nullptr || !env.offload) return quarantine_unavailable(r);
  const policy::Action action = r.decision->action;
  auto held = std::make_shared<quarantine::HeldRequest>();
  quarantine::copy_request(http, *held);
  held->direction = std::string(policy::direction_name(r.direction));
  held->origin = r.origin;
  held->txn_id = r.route->params.txn_id;
  held->destination = receiver(r);
  held->remote_addr = std::string(env.client_ip);
  held->rule_id = r.decision->rule_id;
  held->reason = std::string(r.decision->reason);
  held->findings = findings_summary(r);
  held->verdict = action == policy::Action::quarantine ? quarantine::StoredVerdict::quarantine
                                                       : quarantine::StoredVerdict::deny;
  held->answer_status = 200;
  held->answer_body = withheld_transaction_answer(r.pdus, withheld_error(r, action));
  auto result = std::make_shared<std::optional<Result<quarantine::PutResult>>>();
  quarantine::QuarantineStore* store = r.services->quarantine.get();
  std::weak_ptr<int> alive = r.alive;
  JudgedRequest* req = &r;
  env.offload([held, result, store] { result->emplace(store->put(*held)); },
              [alive, req, result, resume = env.resume] {
                if (alive.expired()) return;  // stored; the origin's retry gets the answer
                req->quarantine_result = std::move(*result);
                resume();
              });
  return Outcome::suspend();
}

// The answer from the store's result: the put decide started (hold), or the entry of a held
// retry recall found (inspect).
Outcome quarantine_answer(JudgedRequest& r) {
  const Result<quarantine::PutResult>& put = *r.quarantine_result;
  r.services->metrics.quarantine_put(put.ok());
  if (!put.ok()) {
    // Not durable: a 200 would make the origin drop the transaction. Let it retry.
    log_event(LogLevel::error, "quarantine_write_failed",
              {{"error", put.error().code},
               {"detail", put.error().message},
               {"origin", r.origin},
               {"txn_id", r.route->params.txn_id}});
    return quarantine_unavailable(r);
  }
  r.quarantine_id = put->id;
  Outcome s{Outcome::Kind::respond, {}};
  s.error.status = put->answer_status;
  s.error.json_body = put->answer_body;
  s.error.reason = put->verdict == quarantine::StoredVerdict::quarantine ? "quarantined" : "denied";
  s.error.source = ErrorSource::policy;
  return s;
}

// A retried /send (same origin and txnId) whose first attempt was held, as recall found it: the
// stored answer (nothing inspected, stored or forwarded).
Outcome answer_held_retry(JudgedRequest& r, const HttpRequest& http) {
  const quarantine::Entry& e = *r.held_before;
  quarantine::PutResult retry;
  retry.id = e.id;
  retry.existed = true;
  retry.same_body = e.request.body == http.body;
  retry.answer_status = e.request.answer_status;
  retry.answer_body = e.request.answer_body;
  r.quarantine_result = std::move(retry);
  return quarantine_answer(r);
}

// The endpoints whose body carries events: inspect collects them, verify_events checks them
// and decide judges every item.
bool carries_events(E endpoint) {
  return endpoint == E::send || endpoint == E::invite || endpoint == E::send_join ||
         endpoint == E::send_leave || endpoint == E::send_knock;
}

// Final policy decision over the complete facts.
Outcome decide(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  r.decision = policy::evaluate(*r.policy, r.facts);
  if (r.decision->forwards()) return Outcome::proceed();
  // A verdict on the content of /send (a rule on an event or EDU type, a failed item check) is
  // stored and answered 200 per PDU: a 4xx would leave the refused PDUs at the head of the
  // sender's queue, and every later event to this server would wait behind them. Request-level
  // refusals (limits, request rules) keep their 4xx.
  if (r.route->endpoint == E::send && r.decision->by_content()) {
    return store_transaction(r, http, env);
  }
  if (r.decision->action == policy::Action::quarantine) {
    // Only a signed /send transaction can be held back and answered by the gateway.
    r.denial = std::string(r.decision->reason);
    return Outcome::respond(
        403, "M_FORBIDDEN",
        "Refused by policy: " + r.denial + " (rule " + r.decision->rule_id + ")",
        ErrorSource::policy);
  }
  r.denial = std::string(r.decision->reason);
  Outcome s{Outcome::Kind::respond, answer_for(*r.decision)};
  return s;
}

// Asks for the keys of the events inspect found that are not at hand. True: the request
// suspends until they arrived (verify_events continues).
bool await_event_keys(JudgedRequest& r, PhaseEnv& env) {
  std::vector<KeyNeed> needs;
  for (const JsonObject* e : r.events) collect_key_needs(*e, needs);
  return await_keys(r, std::move(needs), env);
}

// Checks the events inspect found with the keys at hand. Returns proceed when the verdicts are
// in r.pdus / r.facts.pdus.
Outcome check_events(JudgedRequest& r, PhaseEnv& env) {
  if (r.keys_timed_out) {
    // Transient: a 503 makes the origin retry the transaction later; a 403 would drop it.
    r.denial = "key_fetch_timeout";
    return Outcome::respond(503, "M_UNKNOWN",
                            "Signing keys of the events could not be obtained in time",
                            ErrorSource::gateway);
  }
  matrix::KeyLookup keys = cached_keys(env);
  r.pdus.clear();
  r.facts.pdus.clear();
  std::vector<Membership> memberships;
  for (const JsonObject* e : r.events) {
    const matrix::RoomVersionRules* version = r.events_version;
    const std::string* room = str(*e, "room_id");
    if (version == nullptr && room != nullptr) version = r.services->room_versions->find(*room);
    PduVerdict v = inspect_pdu(*e, version, keys);
    if (!v.version_known) r.room_version_unknown = true;
    // Learn the version a verified create event founds.
    if (v.error.empty() && v.facts.event_type == "m.room.create" && v.version_known) {
      std::string room_id = room != nullptr ? *room : std::string();
      if (room_id.empty()) {
        if (auto rid = matrix::compute_room_id(*e, *matrix::find_room_version(v.verified_as)))
          room_id = *rid;
      }
      r.services->room_versions->learn(room_id, v.verified_as);
    }
    // Who is in the room: from the membership events of transactions their sender's server
    // signed (the Core's own, outbound, are its to state), whatever the policy decides about the
    // event: it is in the room's history either way. The one event of send_join, send_knock or
    // invite is not yet in the room (the resident server may refuse it); the room's later
    // traffic tells.
    if (r.route->endpoint == E::send &&
        (v.facts.signatures == CheckResult::passed || outbound(r))) {
      if (auto m = membership_of(*e)) memberships.push_back(std::move(*m));
    }
    r.facts.pdus.push_back(v.facts);
    r.pdus.push_back(std::move(v));
  }
  if (!memberships.empty() && r.services->room_members) {
    note_joined_servers(r, r.services->room_members->observe(memberships));
  }
  return Outcome::proceed();
}

// /send after its PDUs were checked: the EDUs' facts (inspect_send checked the shape of the
// transaction).
Outcome read_edus(JudgedRequest& r) {
  const JsonObject& txn = *r.body->object_if();
  static const matrix::JsonArray kNoEdus;
  const matrix::JsonArray* edus = &kNoEdus;
  if (auto e = txn.find("edus"); e != txn.end()) edus = e->second.array_if();
  r.facts.edus.clear();
  for (const Json& edu : *edus) {
    if (!edu.is_object()) return bad_json("Every EDU must be a JSON object");
    r.facts.edus.push_back(edu_facts(edu, r.origin));
  }
  r.facts.pdu_count = static_cast<std::uint32_t>(r.events.size());
  r.facts.edu_count = static_cast<std::uint32_t>(edus->size());
  return Outcome::proceed();
}

Outcome inspect_send(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  if (r.held_before) return answer_held_retry(r, http);
  const JsonObject* txn = r.body ? r.body->object_if() : nullptr;
  if (txn == nullptr) return bad_json("The transaction must be a JSON object");
  const std::string* origin = str(*txn, "origin");
  if (origin == nullptr) return bad_json("The transaction has no origin");
  if (!same_server(*origin, r.origin)) {
    r.denial = "transaction_origin_mismatch";
    return Outcome::respond(403, "M_FORBIDDEN", "The transaction origin is not the signing server");
  }
  auto pdus_it = txn->find("pdus");
  if (pdus_it == txn->end() || !pdus_it->second.is_array()) {
    return bad_json("The transaction has no pdus array");
  }
  const matrix::JsonArray& pdus = *pdus_it->second.array_if();
  static const matrix::JsonArray kNoEdus;
  const matrix::JsonArray* edus = &kNoEdus;
  if (auto e = txn->find("edus"); e != txn->end()) {
    if (!e->second.is_array()) return bad_json("edus must be an array");
    edus = e->second.array_if();
  }
  if (pdus.size() > kSpecMaxPdus) {
    r.denial = "too_many_pdus";
    return bad_json("More than 50 PDUs in one transaction");
  }
  if (edus->size() > kSpecMaxEdus) {
    r.denial = "too_many_edus";
    return bad_json("More than 100 EDUs in one transaction");
  }
  for (const Json& p : pdus) {
    if (!p.is_object()) return bad_json("Every PDU must be a JSON object");
    r.events.push_back(p.object_if());
  }
  if (await_event_keys(r, env)) return Outcome::suspend();
  return Outcome::proceed();
}

// send_join / send_leave / send_knock / invite: one membership event in the body.
Outcome inspect_membership_event(JudgedRequest& r, PhaseEnv& env) {
  const E endpoint = r.route->endpoint;
  const JsonObject* body = r.body ? r.body->object_if() : nullptr;
  if (body == nullptr) return bad_json("The body must be a JSON object");
  const JsonObject* event = body;
  const matrix::RoomVersionRules* version = nullptr;
  if (endpoint == E::invite && r.route->api_version == 2) {
    const std::string* rv = str(*body, "room_version");
    auto ev = body->find("event");
    if (rv == nullptr || ev == body->end() || !ev->second.is_object()) {
      return bad_json("An invite needs room_version and event");
    }
    version = matrix::find_room_version(*rv);
    if (version == nullptr) {
      r.denial = "unsupported_room_version";
      Outcome s = Outcome::respond(400, "M_INCOMPATIBLE_ROOM_VERSION",
                                   "The gateway does not know room version " + *rv);
      return s;
    }
    event = ev->second.object_if();
  }
  auto invalid = [&](std::string denial, std::string text) {
    r.denial = std::move(denial);
    return Outcome::respond(400, "M_INVALID_PARAM", std::move(text));
  };
  const std::string* type = str(*event, "type");
  const std::string* sender = str(*event, "sender");
  const std::string* state_key = str(*event, "state_key");
  const std::string* room = str(*event, "room_id");
  const Json* membership = nullptr;
  if (auto c = event->find("content"); c != event->end()) membership = c->second.find("membership");
  const std::string* ms = membership != nullptr ? membership->string_if() : nullptr;
  const char* expected = endpoint == E::send_join    ? "join"
                         : endpoint == E::send_leave ? "leave"
                         : endpoint == E::send_knock ? "knock"
                                                     : "invite";
  if (type == nullptr || *type != "m.room.member")
    return invalid("not_a_member_event", "Not an m.room.member event");
  if (ms == nullptr || *ms != expected) {
    return invalid("wrong_membership", std::string("The membership must be ") + expected);
  }
  if (room == nullptr || *room != r.route->params.room_id) {
    return invalid("room_mismatch", "The event's room is not the room in the path");
  }
  if (sender == nullptr || !same_server(user_server(*sender), r.origin)) {
    r.denial = "sender_not_on_origin";
    return Outcome::respond(403, "M_FORBIDDEN", "The event's sender is not on the origin server");
  }
  if (state_key == nullptr) return invalid("no_state_key", "The event has no state_key");
  if (endpoint == E::invite) {
    if (!same_server(user_server(*state_key), receiver(r))) {
      r.denial = "invitee_not_local";
      return Outcome::respond(403, "M_FORBIDDEN", "The invited user is not a user of this server");
    }
    r.facts.invite_sender = *sender;
    r.facts.invite_target = *state_key;
    r.facts.user_id = *state_key;
  } else {
    if (*state_key != *sender)
      return invalid("state_key_not_sender", "state_key must equal sender");
    r.facts.user_id = *sender;
  }
  if (version != nullptr) r.services->room_versions->learn(*room, version->id);
  r.events.push_back(event);
  r.events_version = version;
  if (await_event_keys(r, env)) return Outcome::suspend();
  return Outcome::proceed();
}

}  // namespace

std::string withheld_transaction_answer(const std::vector<PduVerdict>& pdus,
                                        std::string_view error) {
  JsonObject by_id;
  for (const PduVerdict& p : pdus) {
    if (p.event_id.empty()) continue;
    by_id[p.event_id] = Json(JsonObject{{"error", Json(std::string(error))}});
  }
  return matrix::compact_json(Json(JsonObject{{"pdus", Json(std::move(by_id))}}));
}

Outcome recall_request(JudgedRequest& r, PhaseEnv& env) {
  if (r.route->endpoint != E::send) return Outcome::proceed();
  if (r.services->quarantine == nullptr || !env.offload) return Outcome::proceed();
  // The store's in-memory index knows every held transaction: a new one (nearly every /send)
  // costs no SQLite lookup and no trip through the thread pool.
  if (!r.services->quarantine->may_contain(policy::direction_name(r.direction), r.origin,
                                           r.route->params.txn_id)) {
    return Outcome::proceed();
  }
  auto found = std::make_shared<std::optional<Result<std::optional<quarantine::Entry>>>>();
  quarantine::QuarantineStore* store = r.services->quarantine.get();
  std::weak_ptr<int> alive = r.alive;
  JudgedRequest* req = &r;
  env.offload(
      [found, store, direction = std::string(policy::direction_name(r.direction)),
       origin = r.origin,
       txn = r.route->params.txn_id] { found->emplace(store->lookup(direction, origin, txn)); },
      [alive, req, found, resume = env.resume] {
        if (alive.expired()) return;
        // A failed lookup inspects the transaction as new: holding it again finds the entry.
        if (found->has_value() && (*found)->ok()) req->held_before = std::move((*found)->value());
        resume();
      });
  return Outcome::suspend();
}

Outcome inspect_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  const Classification& c = *r.route;
  switch (c.endpoint) {
    case E::send:
      return inspect_send(r, http, env);
    case E::invite:
    case E::send_join:
    case E::send_leave:
    case E::send_knock:
      return inspect_membership_event(r, env);
    case E::make_join:
    case E::make_leave:
    case E::make_knock:
      if (!same_server(user_server(c.params.user_id), r.origin)) {
        r.denial = "user_not_on_origin";
        return Outcome::respond(403, "M_FORBIDDEN", "The user is not on the origin server");
      }
      return Outcome::proceed();
    case E::user_devices:
      if (!same_server(user_server(c.params.user_id), receiver(r))) {
        r.denial = "user_not_local";
        return Outcome::respond(403, "M_FORBIDDEN", "The user is not a user of this server");
      }
      return Outcome::proceed();
    default:
      return Outcome::proceed();
  }
}

Outcome verify_events_request(JudgedRequest& r, PhaseEnv& env) {
  if (!carries_events(r.route->endpoint)) return Outcome::proceed();
  if (Outcome s = check_events(r, env); s.kind != Outcome::Kind::proceed) return s;
  if (r.route->endpoint == E::send) return read_edus(r);
  // The event id in the path must name this event.
  const PduVerdict& v = r.pdus.front();
  if (v.error.empty() && v.event_id != r.route->params.event_id) {
    r.denial = "event_id_mismatch";
    return Outcome::respond(400, "M_INVALID_PARAM",
                            "The event id in the path does not match the event");
  }
  return Outcome::proceed();
}

Outcome decide_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  // Endpoints without events keep the request-level decision of authorize.
  if (!carries_events(r.route->endpoint)) return Outcome::proceed();
  return decide(r, http, env);
}

Outcome hold_request(JudgedRequest& r) {
  if (!r.quarantine_result) return Outcome::proceed();  // nothing held back
  return quarantine_answer(r);
}

}  // namespace bordergate::enforcement
