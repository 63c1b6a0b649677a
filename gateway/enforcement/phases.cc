#include "gateway/enforcement/phases.h"

#include <chrono>
#include <set>
#include <tuple>

#include "gateway/enforcement/edu_binding.h"
#include "gateway/enforcement/services.h"
#include "policy/evaluate.h"

namespace bordergate::enforcement {
namespace {

using matrix::Json;
using matrix::JsonObject;
using policy::CheckResult;
using policy::FederationEndpoint;
using E = FederationEndpoint;

constexpr std::size_t kSpecMaxPdus = 50;  // federation-notes §6.1
constexpr std::size_t kSpecMaxEdus = 100;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const std::string* str(const JsonObject& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->second.string_if();
}

// Asks the key store for every key in `needs` (deduplicated); the request suspends until all
// answers arrived. Returns false when nothing had to be asked.
bool await_keys(JudgedRequest& r, std::vector<KeyNeed> needs, PhaseEnv& env) {
  std::set<std::tuple<std::string, std::string, std::int64_t>> unique;
  for (KeyNeed& n : needs) {
    // Pinned and cached keys need no wait: asking for them would only bounce the request through
    // the worker's mailbox (an eventfd write and a loop turn) to learn what is known now.
    if (env.keys != nullptr && env.keys->get_key_now(n.server, n.key_id, n.valid_at_ms)) continue;
    unique.emplace(std::move(n.server), std::move(n.key_id), n.valid_at_ms);
  }
  if (unique.empty()) return false;
  if (env.keys == nullptr) {
    // No key store on this worker (its federation state failed to start): nothing can be
    // verified, so the phase answers as for a wait that ran out (401 / 503).
    r.keys_timed_out = true;
    return false;
  }
  r.keys_pending = static_cast<std::uint32_t>(unique.size());
  r.keys_timed_out = false;
  const std::uint32_t wait = ++r.key_wait;
  std::weak_ptr<int> alive = r.alive;
  JudgedRequest* req = &r;
  for (const auto& [server, key_id, at] : unique) {
    env.keys->get_key(server, key_id, at, env.mailbox,
                      [alive, req, wait, resume = env.resume](Result<matrix::VerifyKey>) {
                        // The request may have ended (client gone) while the fetch ran,
                        // or stopped waiting (timeout).
                        if (alive.expired() || req->key_wait != wait) return;
                        if (--req->keys_pending == 0) resume();
                      });
  }
  return true;
}

matrix::KeyLookup cached_keys(const PhaseEnv& env) {
  if (env.keys == nullptr) {
    return [](std::string_view, std::string_view, std::int64_t) -> Result<matrix::VerifyKey> {
      return make_error("key_unavailable", "no key store on this worker");
    };
  }
  return env.keys->cached_lookup();
}

bool outbound(const JudgedRequest& r) { return r.direction == policy::Direction::outbound; }

// The server the request is addressed to: the Core inbound, the tunnel's server outbound.
const std::string& receiver(const JudgedRequest& r) {
  return outbound(r) ? r.destination : r.services->server_name;
}

Outcome bad_json(std::string reason) {
  return Outcome::respond(400, "M_BAD_JSON", std::move(reason));
}

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

// Stores the intact transaction durably (off the loop), then answers 200 with an error per PDU.
Outcome quarantine_transaction(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  if (r.services->quarantine == nullptr || !env.offload) {
    r.denial = "quarantine_unavailable";
    return Outcome::respond(503, "M_UNKNOWN", "The transaction cannot be accepted now",
                            ErrorSource::gateway);
  }
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
  held->answer_status = 200;
  held->answer_body = withheld_transaction_answer(
      r.pdus, outbound(r) ? "Held back by the sending server's border gateway policy"
                          : "Held back by the receiving server's policy");
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
    r.denial = "quarantine_unavailable";
    return Outcome::respond(503, "M_UNKNOWN", "The transaction cannot be accepted now",
                            ErrorSource::gateway);
  }
  r.quarantine_id = put->id;
  Outcome s{Outcome::Kind::respond, {}};
  s.error.status = put->answer_status;
  s.error.json_body = put->answer_body;
  s.error.reason = "quarantined";
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
  if (r.decision->action == policy::Action::quarantine) {
    // Only a signed /send transaction can be held back and answered by the gateway.
    if (r.route->endpoint == E::send) return quarantine_transaction(r, http, env);
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
    r.facts.pdus.push_back(v.facts);
    r.pdus.push_back(std::move(v));
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

std::vector<std::string_view> authorization_values(const HttpRequest& http) {
  std::vector<std::string_view> values;
  for (const HeaderField& h : http.headers) {
    if (lower_ascii(h.name) == "authorization") values.push_back(h.value);
  }
  return values;
}

// Whether the endpoint's catalogue entry needs X-Matrix (the key endpoints, version,
// .well-known, the legacy media paths do not).
bool carries_x_matrix(const JudgedRequest& r) {
  return policy::endpoint_info(r.route->endpoint).auth == policy::EndpointAuth::x_matrix;
}

Outcome auth_failed(JudgedRequest& r, std::string code, std::string text) {
  r.auth_failure = code;
  r.denial = std::move(code);
  return Outcome::respond(401, "M_UNAUTHORIZED", std::move(text));
}

// Outbound: the request comes from the Core (the proxy client, authenticated by the proxy
// credentials). Its X-Matrix headers must parse and bind it: origin the Core, destination the
// tunnel's server. The Core's signature is not verified here: the receiving server verifies it,
// and verifying would mean fetching the Core's keys for every start (docs/outbound.md).
Outcome authenticate_core_request(JudgedRequest& r, const HttpRequest& http) {
  r.origin = r.services->server_name;
  if (policy::endpoint_info(r.route->endpoint).auth != policy::EndpointAuth::x_matrix) {
    return Outcome::proceed();
  }
  auto fail = [&](int status, const char* errcode, std::string code, std::string text) {
    r.auth_failure = code;
    r.denial = std::move(code);
    return Outcome::respond(status, errcode, std::move(text));
  };
  const std::vector<std::string_view> values = authorization_values(http);
  auto auths = matrix::parse_xmatrix_headers(values);
  if (!auths) {
    return fail(401, "M_UNAUTHORIZED", auths.error().code,
                "Malformed or missing X-Matrix authorization: " + auths.error().message);
  }
  for (const matrix::XMatrixAuth& a : *auths) {
    if (!same_server(a.origin, r.services->server_name)) {
      return fail(403, "M_FORBIDDEN", "xmatrix_origin_not_core",
                  "The X-Matrix origin is not this gateway's Core");
    }
    if (!a.destination) {
      return fail(401, "M_UNAUTHORIZED", "xmatrix_destination_missing",
                  "The X-Matrix authorization names no destination");
    }
    if (!same_server(*a.destination, r.destination)) {
      return fail(403, "M_FORBIDDEN", "xmatrix_destination_mismatch",
                  "The X-Matrix destination is not the server this tunnel leads to");
    }
  }
  r.auths = std::move(auths.value());
  return Outcome::proceed();
}

// A legacy media path: its serverName is the receiver's; inbound, the query must also say
// allow_remote=false exactly once, so the Core never fetches a third server's media for a peer
// that reached it unauthenticated (docs/inbound.md, "Legacy media").
Outcome check_legacy_media(JudgedRequest& r, const HttpRequest& http) {
  if (!same_server(r.route->params.server_name, receiver(r))) {
    r.denial = "media_server_not_destination";
    return Outcome::respond(403, "M_FORBIDDEN",
                            outbound(r) ? "The media path names another server than the "
                                          "destination"
                                        : "The media path names another server than this "
                                          "one; only its own media is served here");
  }
  if (!outbound(r) && !allow_remote_false(http.target)) {
    r.denial = "allow_remote_not_false";
    return Outcome::respond(400, "M_INVALID_PARAM",
                            "A legacy media request must carry allow_remote=false exactly once");
  }
  return Outcome::proceed();
}

}  // namespace

GatewayError answer_for(const policy::Decision& d) {
  GatewayError a;
  const std::string because = std::string(d.reason) + " (rule " + d.rule_id + ")";
  if (d.rule_id == policy::kChecksRuleId && d.reason == "x_matrix_check_failed") {
    a.status = 401;
    a.errcode = "M_UNAUTHORIZED";
  } else if (d.rule_id == policy::kLimitsRuleId) {
    a.status = 413;
    a.errcode = "M_TOO_LARGE";
  } else {
    a.status = 403;
    a.errcode = "M_FORBIDDEN";
  }
  a.reason = "Refused by policy: " + because;
  a.source = ErrorSource::policy;
  return a;
}

std::string withheld_transaction_answer(const std::vector<PduVerdict>& pdus,
                                        std::string_view error) {
  JsonObject by_id;
  for (const PduVerdict& p : pdus) {
    if (p.event_id.empty()) continue;
    by_id[p.event_id] = Json(JsonObject{{"error", Json(std::string(error))}});
  }
  return matrix::compact_json(Json(JsonObject{{"pdus", Json(std::move(by_id))}}));
}

Outcome classify_request(JudgedRequest& r, const HttpRequest& http) {
  // The legacy media paths are client-server API: only the Core's outbound requests may use them.
  auto c = outbound(r) ? classify_outbound_endpoint(http.method, http.target)
                       : classify_endpoint(http.method, http.target);
  if (!c) {
    r.denial = c.error().code;
    if (c.error().code == "method_not_allowed") {
      return Outcome::respond(405, "M_UNRECOGNIZED", "Method not allowed on this endpoint");
    }
    return Outcome::respond(404, "M_UNRECOGNIZED", "Unrecognized request");
  }
  r.route = std::move(c.value());
  r.policy = r.services->policy->snapshot();
  if (!http.body.empty()) {
    auto body = matrix::parse_json(http.body);
    if (!body) {
      // Well-formed JSON the strict parser refuses (numbers outside the canonical range,
      // floats) is M_BAD_JSON; anything else is not JSON at all.
      const std::string& code = body.error().code;
      if (code == "float_not_allowed" || code == "integer_out_of_range") {
        r.denial = "bad_json";
        return Outcome::respond(400, "M_BAD_JSON", "The body is not canonical JSON: " + code);
      }
      r.denial = "not_json";
      return Outcome::respond(400, "M_NOT_JSON", "The body is not valid JSON");
    }
    r.body = std::move(body.value());
  }
  return Outcome::proceed();
}

Outcome authenticate_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  if (outbound(r)) return authenticate_core_request(r, http);
  // Endpoints without X-Matrix: the origin stays unknown; the policy decides.
  if (!carries_x_matrix(r)) return Outcome::proceed();
  const std::vector<std::string_view> values = authorization_values(http);
  auto auths = matrix::parse_xmatrix_headers(values);
  if (!auths) {
    const std::string& code = auths.error().code;
    if (code == "missing_xmatrix") return auth_failed(r, code, "Missing X-Matrix authorization");
    if (code == "origin_mismatch")
      return auth_failed(r, code, "X-Matrix headers name different origins");
    return auth_failed(r, code, "Malformed X-Matrix authorization: " + auths.error().message);
  }
  r.auths = std::move(auths.value());
  for (const matrix::XMatrixAuth& a : r.auths) {
    if (a.destination && !same_server(*a.destination, r.services->server_name)) {
      return auth_failed(r, "wrong_destination", "The request is addressed to another server");
    }
  }
  std::vector<KeyNeed> needs;
  const std::int64_t now = now_ms();
  for (const matrix::XMatrixAuth& a : r.auths) needs.push_back({a.origin, a.key_id, now});
  if (await_keys(r, std::move(needs), env)) return Outcome::suspend();
  return Outcome::proceed();
}

Outcome verify_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  if (outbound(r) || !carries_x_matrix(r)) return Outcome::proceed();
  // Strict: every X-Matrix header must verify (a request never passes on one good signature
  // next to a bad or unverifiable one).
  const matrix::KeyLookup keys = cached_keys(env);
  const Json* content = r.body ? &*r.body : nullptr;
  const std::int64_t now = now_ms();
  for (const matrix::XMatrixAuth& a : r.auths) {
    Status s = matrix::verify_xmatrix(a, http.method, http.target, r.services->server_name, content,
                                      keys, now);
    if (!s.ok()) {
      const std::string& code = s.error().code;
      if ((code == "unknown_key" || code == "key_unavailable") && r.keys_timed_out)
        return auth_failed(
            r, "key_fetch_timeout",
            "The origin's signing key " + a.key_id + " could not be obtained in time");
      if (code == "unknown_key" || code == "key_unavailable")
        return auth_failed(r, code,
                           "The origin's signing key " + a.key_id + " could not be obtained");
      if (code == "key_expired")
        return auth_failed(r, code, "The origin's signing key has expired");
      if (code == "wrong_destination")
        return auth_failed(r, code, "The request is addressed to another server");
      return auth_failed(r, code, "Invalid X-Matrix signature");
    }
  }
  r.origin = r.auths.front().origin;
  return Outcome::proceed();
}

Outcome authorize_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env) {
  const Classification& c = *r.route;
  policy::RequestFacts& f = r.facts;
  f.direction = r.direction;
  if (!r.origin.empty()) f.origin = r.origin;
  f.destination = receiver(r);
  f.endpoint = c.endpoint;
  f.room_id = c.params.room_id;
  f.user_id = c.params.user_id;
  f.event_id = c.params.event_id;
  f.server_name = c.params.server_name;
  if (policy::is_media_endpoint(c.endpoint)) {
    // Federation media paths name no server: the destination is the media's origin. A legacy
    // path names it, and it must be the destination: the gateway judges (and the receiver
    // answers) that server's own media only, never a third server's fetched through it.
    if (c.legacy_media) {
      if (Outcome s = check_legacy_media(r, http); s.kind != Outcome::Kind::proceed) return s;
    }
    f.server_name = receiver(r);
  }
  f.body_bytes = http.body.size();
  // Outbound X-Matrix is bound to the tunnel but not verified (authenticate_core_request).
  f.x_matrix = r.origin.empty() || outbound(r) ? CheckResult::not_run : CheckResult::passed;

  // Request-level decision first: a refused peer costs no body inspection.
  policy::Decision d = policy::evaluate(*r.policy, f);
  if (!d.forwards()) {
    r.denial = std::string(d.reason);
    r.decision = std::move(d);
    return Outcome{Outcome::Kind::respond, answer_for(*r.decision)};
  }
  // Outbound: one bucket per destination (the Core is the only client).
  const std::string key = outbound(r)        ? "outbound:" + lower_ascii(r.destination)
                          : r.origin.empty() ? "ip:" + std::string(env.client_ip)
                                             : lower_ascii(r.origin);
  auto verdict =
      r.services->rate_limiter.acquire(key, d.settings.rate, policy::RateLimiter::Clock::now());
  r.decision = std::move(d);
  if (!verdict.admitted) {
    r.denial = "rate_limited";
    Outcome s = Outcome::respond(429, "M_LIMIT_EXCEEDED", "Too many requests", ErrorSource::policy);
    s.error.retry_after_ms = std::max<std::int64_t>(1, verdict.retry_after.count());
    return s;
  }
  return Outcome::proceed();
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

bool wants_core_answer(const JudgedRequest& r, int status) {
  // Outbound answers come from the external server: never learnt from (response_check.h).
  if (status != 200 || !r.route || outbound(r)) return false;
  const E e = r.route->endpoint;
  return e == E::make_join || e == E::make_leave || e == E::make_knock;
}

void learn_from_core_answer(JudgedRequest& r, std::string_view body) {
  // The Core is trusted for its own rooms' versions; the first answer for a room wins.
  auto json = matrix::parse_json(body, {.max_depth = 64, .max_bytes = kMaxCoreAnswerBytes});
  if (!json || !json->is_object() || r.route->params.room_id.empty()) return;
  const std::string* version = str(*json->object_if(), "room_version");
  if (version == nullptr || matrix::find_room_version(*version) == nullptr) return;
  r.services->room_versions->learn(r.route->params.room_id, *version);
}

bool expire_key_wait(JudgedRequest& r) {
  if (r.keys_pending == 0) return false;
  r.keys_pending = 0;
  ++r.key_wait;
  r.keys_timed_out = true;
  return true;
}

}  // namespace bordergate::enforcement
