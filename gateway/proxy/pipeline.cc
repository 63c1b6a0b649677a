#include "gateway/proxy/pipeline.h"

#include <array>

#include "gateway/audit/audit_record.h"
#include "gateway/common/log.h"
#include "gateway/enforcement/media_check.h"
#include "gateway/enforcement/phases.h"
#include "gateway/enforcement/record.h"
#include "gateway/enforcement/room_versions.h"
#include "gateway/enforcement/services.h"
#include "gateway/proxy/answer_check.h"
#include "policy/endpoint.h"

namespace bordergate {
namespace {

enforcement::PhaseEnv env_for(RequestContext& ctx) {
  return {ctx.keys, ctx.mailbox, ctx.resume,
          ctx.client_ip != nullptr ? *ctx.client_ip : std::string_view(), ctx.offload};
}

PathClass coarse_class(std::string_view path) {
  auto starts = [&](std::string_view prefix) { return path.substr(0, prefix.size()) == prefix; };
  if (starts("/_matrix/federation/")) return PathClass::federation;
  if (starts("/_matrix/key/")) return PathClass::key;
  if (starts("/_matrix/media/")) return PathClass::media;
  if (starts("/.well-known/matrix/")) return PathClass::well_known;
  return PathClass::other;
}

// Inbound requests are judged (and audited) when a policy is configured; without one the
// gateway is a plain proxy (logged at start). Outbound requests are judged once their tunnel
// admitted them as federation requests (RequestAdmission).
void start_inbound_enforcement(RequestContext& ctx) {
  if (ctx.runtime != nullptr && ctx.runtime->enforcement != nullptr) {
    ctx.judged.services = ctx.runtime->enforcement;
  }
}

struct Step {
  Phase phase;
  const char* name;
  Outcome (*run)(RequestContext&);  // null: driven by the answer's arrival, not by
                                    // run_request_phases (forward, check_answer, record)
  Phase resumes_at;                 // where the request continues after this phase suspended
};

// The schedule: every phase in the order of the Phase enum, and where a request it suspended
// resumes. A phase that waits resumes at the next one, which consumes what arrived (keys,
// the quarantine store's entry or put). admit (a delegated tunnel's discovery) and check_answer
// (the answer check's verdict) take in what arrived themselves, so they run again. The other
// phases never suspend and name themselves.
constexpr std::array<Step, kPhaseCount> kSchedule = {{
    {Phase::admit, "admit", &admit, Phase::admit},
    {Phase::classify, "classify", &classify, Phase::classify},
    {Phase::authenticate, "authenticate", &authenticate, Phase::verify},
    {Phase::verify, "verify", &verify, Phase::verify},
    {Phase::authorize, "authorize", &authorize, Phase::authorize},
    {Phase::recall, "recall", &recall, Phase::inspect},
    {Phase::inspect, "inspect", &inspect, Phase::verify_events},
    {Phase::verify_events, "verify_events", &verify_events, Phase::verify_events},
    {Phase::decide, "decide", &decide, Phase::hold},
    {Phase::hold, "hold", &hold, Phase::hold},
    {Phase::forward, "forward", nullptr, Phase::forward},
    {Phase::check_answer, "check_answer", nullptr, Phase::check_answer},
    {Phase::record, "record", nullptr, Phase::record},
}};

constexpr bool schedule_is_the_enum() {
  for (std::size_t i = 0; i < kSchedule.size(); ++i) {
    const Step& step = kSchedule[i];
    if (static_cast<std::size_t>(step.phase) != i) return false;
    // A request never resumes behind the phase that suspended it, nor past forward.
    if (step.resumes_at < step.phase ||
        (step.phase < Phase::forward) != (step.resumes_at < Phase::forward))
      return false;
  }
  return true;
}
// (Whether `run` is set is not asserted: GCC with -fsanitize=undefined does not take a function
// address compared with null as a constant expression.)
static_assert(schedule_is_the_enum(),
              "kSchedule lists every Phase in enum order, and a phase before forward resumes "
              "before forward");

const Step& step_of(Phase phase) { return kSchedule[static_cast<std::size_t>(phase)]; }

// A held answer the check refused: a policy refusal of media keeps its 4xx; any other is the
// answering side's fault (502): the external server's, or the Core's for its own answers.
GatewayError refusal_of(const outbound::ResponseCheck& check, bool core) {
  if (check.status >= 400 && check.status < 500) {
    return GatewayError{check.status, *check.errcode != '\0' ? check.errcode : "M_FORBIDDEN",
                        check.error, ErrorSource::policy};
  }
  if (core) return failure_answer(Failure::core_protocol, "The Core's answer cannot be checked");
  GatewayError e = failure_answer(Failure::remote_malformed, check.error);
  if (*check.errcode != '\0') e.errcode = check.errcode;
  return e;
}

// Where the originals of the redacted events were kept (quarantine ids), and which could not be
// kept: one remark for the audit record's note, bounded like the rest of it.
std::string evidence_note(const outbound::ResponseCheck& check) {
  std::string note;
  auto list = [&note](const char* what, const std::vector<std::string>& items) {
    if (items.empty()) return;
    if (!note.empty()) note += "; ";
    note += what;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (note.size() > 900) {
        note += " ... (" + std::to_string(items.size() - i) + " more)";
        break;
      }
      note += (i == 0 ? " " : ", ") + items[i];
    }
  };
  list("originals kept as evidence:", check.evidence_ids);
  list("originals NOT kept:", check.evidence_failures);
  return note;
}

// What the check of an external answer did: learnt room versions, the audit note, the
// counters; then the answer to send (filtered: the new body) or the refusal.
Outcome apply_answer_verdict(RequestContext& ctx) {
  enforcement::JudgedRequest& r = ctx.judged;
  outbound::ResponseCheck& check = *ctx.answer_verdict;
  // The Core's answer to a peer: its events travel outbound.
  const bool core = ctx.direction() == Direction::inbound;
  if (r.services != nullptr && r.route && outbound::response_needs_check(r.route->endpoint)) {
    if (!check.learnt_room_version.empty() && r.services->room_versions) {
      r.services->room_versions->learn(r.route->params.room_id, check.learnt_room_version);
    }
    // What the check did goes into the request's audit record (record_judged) and counters.
    r.response_note = outbound::audit_note(check);
    if (core && !r.response_note.empty()) r.response_note = "core answer: " + r.response_note;
    audit::append_note(r.response_note, evidence_note(check));
    r.answer_events = std::move(check.judged);
    enforcement::note_joined_servers(r, check.joined_servers);
    std::uint64_t by_outcome[enforcement::kEventOutcomes] = {};
    for (const enforcement::AnswerEvent& e : r.answer_events) {
      ++by_outcome[static_cast<std::size_t>(e.outcome)];
    }
    for (std::size_t o = 0; o < enforcement::kEventOutcomes; ++o) {
      r.services->metrics.count_answer_events(
          core ? policy::Direction::outbound : policy::Direction::inbound,
          policy::endpoint_name(r.route->endpoint),
          enforcement::event_outcome_name(static_cast<enforcement::EventOutcome>(o)),
          by_outcome[o]);
    }
    if (!core) {
      r.services->metrics.count_response(policy::endpoint_name(r.route->endpoint),
                                         check.action == outbound::ResponseAction::pass ? "pass"
                                         : check.action == outbound::ResponseAction::filtered
                                             ? "filtered"
                                             : "refuse");
    }
  }
  if (check.action == outbound::ResponseAction::refuse ||
      check.action == outbound::ResponseAction::need_keys) {
    log_event(LogLevel::warn, core ? "core_answer_refused" : "outbound_answer_refused",
              {{"reason", check.reason}, {"error", check.error}});
    r.denial = check.reason;
    return Outcome::respond(refusal_of(check, core));
  }
  if (r.services != nullptr) {
    // A join answer names the room's members: the join is judged again with them.
    if (Outcome s = enforcement::judge_joined_room(r); s.kind != Outcome::Kind::proceed) return s;
  }
  if (check.action == outbound::ResponseAction::filtered) *ctx.answer_body = std::move(check.body);
  return Outcome::proceed();
}

Outcome media_refusal(const enforcement::MediaVerdict& v) {
  log_event(LogLevel::warn, "core_media_refused", {{"reason", v.reason}, {"error", v.error}});
  return Outcome::respond(v.status, v.errcode, v.error, ErrorSource::policy);
}

}  // namespace

const char* phase_name(Phase phase) { return step_of(phase).name; }

Phase resumes_at(Phase phase) { return step_of(phase).resumes_at; }

Outcome admit(RequestContext& ctx) {
  ctx.path_class = coarse_class(ctx.request->target);
  if (ctx.admission != nullptr) return ctx.admission->admit(ctx);
  start_inbound_enforcement(ctx);
  return Outcome::proceed();
}

Outcome classify(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  if (Outcome s = enforcement::reserve_audit_place(ctx.judged); s.kind != Outcome::Kind::proceed)
    return s;
  return enforcement::classify_request(ctx.judged, *ctx.request);
}

Outcome authenticate(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  enforcement::PhaseEnv env = env_for(ctx);
  return enforcement::authenticate_request(ctx.judged, *ctx.request, env);
}

Outcome verify(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  enforcement::PhaseEnv env = env_for(ctx);
  return enforcement::verify_request(ctx.judged, *ctx.request, env);
}

Outcome authorize(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  enforcement::PhaseEnv env = env_for(ctx);
  return enforcement::authorize_request(ctx.judged, *ctx.request, env);
}

Outcome recall(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  enforcement::PhaseEnv env = env_for(ctx);
  return enforcement::recall_request(ctx.judged, env);
}

Outcome inspect(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  enforcement::PhaseEnv env = env_for(ctx);
  return enforcement::inspect_request(ctx.judged, *ctx.request, env);
}

Outcome verify_events(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  enforcement::PhaseEnv env = env_for(ctx);
  return enforcement::verify_events_request(ctx.judged, env);
}

Outcome decide(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  enforcement::PhaseEnv env = env_for(ctx);
  return enforcement::decide_request(ctx.judged, *ctx.request, env);
}

Outcome hold(RequestContext& ctx) {
  if (!ctx.enforcing()) return Outcome::proceed();
  return enforcement::hold_request(ctx.judged);
}

Outcome run_request_phases(RequestContext& ctx) {
  while (ctx.phase < Phase::forward) {
    const Step& step = step_of(ctx.phase);
    Outcome r = step.run(ctx);
    if (r.kind == Outcome::Kind::suspend) ctx.phase = step.resumes_at;
    if (r.kind != Outcome::Kind::proceed) return r;
    ctx.phase = static_cast<Phase>(static_cast<unsigned char>(ctx.phase) + 1);
  }
  return Outcome::proceed();
}

std::string_view unread_reason(int status) {
  switch (status) {
    case 408:
      return "http_timeout";
    case 413:
    case 431:
      return "http_too_large";
    case 405:
      return "http_method_unrecognized";
    case 417:
      return "http_unsupported";
    default:
      return "http_malformed";
  }
}

void refuse_unread(RequestContext& ctx, int status, std::string_view detail) {
  if (ctx.admission != nullptr) {
    return ctx.admission->refuse_unread(ctx, unread_reason(status), detail);
  }
  start_inbound_enforcement(ctx);
  if (!ctx.enforcing()) return;
  ctx.judged.denial = std::string(unread_reason(status));
  ctx.judged.response_note = std::string(detail);
}

namespace {

// The Core's 2xx answers that carry events (backfill, get_missing_events, event, state,
// event_auth, send_join) are held whole, up to this size, and their events judged by the
// outbound rules before the peer sees them (a larger answer is refused 502: it cannot be judged).
constexpr std::uint64_t kMaxHeldCoreEventAnswerBytes = 64ULL << 20;

bool core_answer_events_held(const RequestContext& ctx, int status) {
  const enforcement::JudgedRequest& r = ctx.judged;
  return ctx.direction() == Direction::inbound && ctx.enforcing() && r.route && status >= 200 &&
         status <= 299 && outbound::answer_carries_events(r.route->endpoint);
}

}  // namespace

Outcome check_answer(RequestContext& ctx, const HttpResponseHead& head) {
  ctx.phase = Phase::check_answer;
  if (ctx.direction() == Direction::outbound) {
    // An external server's answer reaches the Core only after it was checked whole; the
    // upstream has read it whole already, bounded by outbound.max_response_bytes.
    ctx.hold_limit = UINT64_MAX;
  } else if (ctx.enforcing()) {
    // The Core's make_* answers name the room's version (copied while they stream on). Media
    // answers the policy limits, and answers that carry events, are held whole and judged
    // before the peer sees them.
    ctx.judged.capture_answer = enforcement::wants_core_answer(ctx.judged, head.status);
    ctx.hold_limit = enforcement::core_media_hold_limit(ctx.judged, head.status);
    if (core_answer_events_held(ctx, head.status)) ctx.hold_limit = kMaxHeldCoreEventAnswerBytes;
  }
  if (ctx.hold_limit) {
    ctx.held_head = head;
    ctx.answer_body = std::make_shared<std::string>();
    ctx.answer_lease = BudgetLease(ctx.runtime->limits.budget, BufferKind::answer);
  } else if (ctx.judged.capture_answer) {
    ctx.answer_body = std::make_shared<std::string>();
  }
  return Outcome::proceed();
}

Outcome check_held_answer(RequestContext& ctx) {
  enforcement::JudgedRequest& r = ctx.judged;
  if (ctx.direction() == Direction::outbound ||
      core_answer_events_held(ctx, ctx.held_head.status)) {
    if (!ctx.answer_verdict) {
      if (r.services == nullptr || !r.route || !outbound::response_needs_check(r.route->endpoint)) {
        // Egress and answers without events pass unchecked.
        outbound::ResponseCheck unchecked;
        unchecked.reason = "response_unchecked";
        ctx.answer_verdict = std::move(unchecked);
      } else if (!start_answer_check(ctx)) {
        ctx.phase = resumes_at(Phase::check_answer);  // the verdict is judged there
        return Outcome::suspend();
      }
    }
    return apply_answer_verdict(ctx);
  }
  const std::string_view type = ctx.held_head.headers.find("content-type").value_or("");
  enforcement::MediaVerdict v = enforcement::check_core_media_answer(r, type, *ctx.answer_body);
  if (v.refused) return media_refusal(v);
  return Outcome::proceed();
}

Outcome refuse_unheld_answer(RequestContext& ctx, std::uint64_t bytes) {
  ctx.answer_body.reset();
  ctx.answer_lease.release();
  ctx.judged.denial = "answer_budget_exhausted";
  log_event(LogLevel::warn, "answer_refused",
            {{"reason", "answer_budget_exhausted"}, {"bytes", static_cast<unsigned long>(bytes)}});
  return Outcome::respond(failure_answer(Failure::answer_budget));
}

Outcome refuse_oversized_answer(RequestContext& ctx, std::uint64_t bytes) {
  ctx.answer_body.reset();
  ctx.answer_lease.release();
  if (core_answer_events_held(ctx, ctx.held_head.status)) {
    // Events the gateway cannot judge do not cross.
    ctx.judged.denial = "core_answer_too_large";
    log_event(LogLevel::warn, "core_answer_refused",
              {{"reason", "core_answer_too_large"}, {"bytes", static_cast<unsigned long>(bytes)}});
    return Outcome::respond(failure_answer(
        Failure::core_protocol, "The Core's answer is larger than the gateway can judge"));
  }
  return media_refusal(enforcement::refuse_oversized_core_media(ctx.judged, bytes));
}

void record(RequestContext& ctx, WorkerMetrics& metrics) {
  ctx.phase = Phase::record;
  auto latency = std::chrono::steady_clock::now() - ctx.started;
  const HttpRequest& r = *ctx.request;
  metrics.request_done(ctx.direction(), ctx.path_class, ctx.status,
                       std::chrono::duration_cast<std::chrono::nanoseconds>(latency), r.body.size(),
                       ctx.response_bytes);
  const enforcement::JudgedRequest& in = ctx.judged;
  enforcement::RequestOutcome o;
  o.method = r.method;
  o.client_ip = ctx.client_ip != nullptr ? std::string_view(*ctx.client_ip) : std::string_view();
  o.status = ctx.status;
  o.request_bytes = r.body.size();
  o.response_bytes = ctx.response_bytes;
  o.latency = std::chrono::duration_cast<std::chrono::nanoseconds>(latency);
  if (ctx.enforcing()) {
    enforcement::record_judged(in, o);
  } else if (in.admission && ctx.runtime != nullptr && ctx.runtime->enforcement != nullptr &&
             ctx.runtime->enforcement->audit) {
    // Decided by the connection's admission (an outbound binding refusal, egress).
    ctx.runtime->enforcement->audit->submit(enforcement::audit_record(in, o));
  }
  if (log_enabled(LogLevel::info)) {
    // Path only up to the query: query strings may carry tokens.
    std::string_view path = r.target;
    path = path.substr(0, path.find('?'));
    std::string_view fed_endpoint =
        in.route ? policy::endpoint_name(in.route->endpoint) : std::string_view();
    std::string_view decision = ctx.enforcing() ? enforcement::decision_action(in) : "not_enforced";
    std::string_view rule = in.decision ? std::string_view(in.decision->rule_id) : "";
    std::string_view reason = !in.denial.empty() ? std::string_view(in.denial)
                              : in.decision      ? in.decision->reason
                                                 : std::string_view();
    log_event(LogLevel::info, "request",
              {{"direction", policy::direction_name(ctx.direction())},
               {"endpoint", path_class_name(ctx.path_class)},
               {"method", r.method},
               {"path", path},
               {"status", ctx.status},
               {"outcome", ctx.outcome},
               {"client", ctx.client_ip ? *ctx.client_ip : std::string()},
               {"federation_endpoint", fed_endpoint},
               {"origin", in.origin},
               {"decision", decision},
               {"rule", rule},
               {"reason", reason},
               {"quarantine_id", in.quarantine_id},
               {"room_version_unknown", in.room_version_unknown},
               {"request_bytes", static_cast<unsigned long>(r.body.size())},
               {"response_bytes", static_cast<unsigned long>(ctx.response_bytes)},
               {"duration_ms", std::chrono::duration<double, std::milli>(latency).count()}});
  }
}

}  // namespace bordergate
