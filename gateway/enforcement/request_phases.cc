// The request-level enforcement phases (phases.h): classify, authenticate, verify, authorize,
// and what the pipeline asks around them (the answer to a policy refusal, the key wait's end,
// the Core's make_* answers). The phases over the items a request carries are item_phases.cc.
#include <chrono>

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

Outcome reserve_audit_place(JudgedRequest& r) {
  if (!r.services->audit) return Outcome::proceed();
  r.audit_ticket = r.services->audit->reserve();
  if (r.audit_ticket || !r.services->audit_fail_closed) return Outcome::proceed();
  r.denial = std::string(kAuditUnavailable);
  return Outcome::unavailable("The gateway cannot record decisions now; retry later");
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

  // Rules on a room's members read what the gateway has seen of the room.
  if (r.policy->reads_room_members && !f.room_id.empty() && r.services->room_members) {
    f.room_servers = r.services->room_members->servers(f.room_id);
  }
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

void note_joined_servers(JudgedRequest& r, const std::vector<JoinedServer>& joined) {
  if (!r.policy) return;
  std::uint64_t mixed = 0;
  for (const JoinedServer& j : joined) {
    if (!policy::in_no_federation(*r.policy, j.server)) continue;
    ++mixed;
    log_event(LogLevel::warn, "room_became_mixed",
              {{"room_id", j.room_id},
               {"server", j.server},
               {"direction", std::string(policy::direction_name(r.direction))},
               {"endpoint",
                r.route ? std::string(policy::endpoint_name(r.route->endpoint)) : std::string()}});
    if (r.mixed.size() < 100) r.mixed.push_back(j);  // bounded like every audit list
  }
  if (mixed > 0) r.services->metrics.count_mixed(r.direction, mixed);
}

Outcome judge_joined_room(JudgedRequest& r) {
  if (!r.route || !r.decision || !r.policy || !r.policy->reads_room_members ||
      !r.services->room_members) {
    return Outcome::proceed();
  }
  if (r.route->endpoint != E::send_join && r.route->endpoint != E::send_knock) {
    return Outcome::proceed();
  }
  policy::RequestFacts f = r.facts;
  f.room_servers = r.services->room_members->servers(r.route->params.room_id);
  if (f.room_servers == r.facts.room_servers) return Outcome::proceed();  // nothing new learnt
  policy::Decision d = policy::evaluate(*r.policy, f);
  if (d.forwards()) return Outcome::proceed();
  log_event(LogLevel::warn, "join_answer_refused",
            {{"room_id", r.route->params.room_id},
             {"rule", d.rule_id},
             {"direction", std::string(policy::direction_name(r.direction))}});
  r.facts = std::move(f);
  r.denial = std::string(d.reason);
  r.decision = std::move(d);
  return Outcome{Outcome::Kind::respond, answer_for(*r.decision)};
}

bool expire_key_wait(JudgedRequest& r) {
  if (r.keys_pending == 0) return false;
  r.keys_pending = 0;
  ++r.key_wait;
  r.keys_timed_out = true;
  return true;
}

}  // namespace bordergate::enforcement
