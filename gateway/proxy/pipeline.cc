#include "gateway/proxy/pipeline.h"

#include "gateway/common/log.h"
#include "gateway/inbound/inbound_phases.h"
#include "gateway/inbound/inbound_record.h"
#include "gateway/inbound/media_check.h"
#include "policy/endpoint.h"

namespace bordergate {
namespace {

inbound::PhaseEnv env_for(RequestContext& ctx) {
  return {ctx.keys, ctx.mailbox, ctx.resume,
          ctx.client_ip != nullptr ? *ctx.client_ip : std::string_view(), ctx.offload};
}

PhaseResult from_step(inbound::StepResult s) {
  switch (s.step) {
    case inbound::Step::proceed:
      return PhaseResult::proceed();
    case inbound::Step::suspend:
      return PhaseResult::suspend();
    case inbound::Step::respond:
      break;
  }
  PhaseResult r;
  r.kind = PhaseResult::Kind::respond;
  r.error.status = s.answer.status;
  r.error.errcode = s.answer.errcode;
  r.error.reason = std::move(s.answer.reason);
  r.error.retry_after_ms = s.answer.retry_after_ms;
  r.error.json_body = std::move(s.answer.json_body);
  return r;
}

bool enforcing(const RequestContext& ctx) { return ctx.inbound.services != nullptr; }

// Requests are judged (and audited) inbound, and outbound once the proxy tunnel set the
// direction on the inbound request (its phases judge both directions,
// docs/internals/outbound-checks.md); without a policy the gateway is a plain proxy.
bool start_enforcing(RequestContext& ctx) {
  const bool judged =
      ctx.direction == Direction::inbound || ctx.inbound.direction == policy::Direction::outbound;
  if (ctx.runtime == nullptr || ctx.runtime->inbound == nullptr || !judged) return false;
  ctx.inbound.services = ctx.runtime->inbound;
  return true;
}

}  // namespace

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::classify:
      return "classify";
    case Phase::authenticate:
      return "authenticate";
    case Phase::authorize:
      return "authorize";
    case Phase::inspect:
      return "inspect";
    case Phase::forward:
      return "forward";
    case Phase::check_response:
      return "check_response";
    case Phase::record:
      return "record";
  }
  return "unknown";
}

PhaseResult classify(RequestContext& ctx) {
  std::string_view path = ctx.request->target;
  auto starts = [&](std::string_view prefix) { return path.substr(0, prefix.size()) == prefix; };
  if (starts("/_matrix/federation/"))
    ctx.endpoint = EndpointClass::federation;
  else if (starts("/_matrix/key/"))
    ctx.endpoint = EndpointClass::key;
  else if (starts("/_matrix/media/"))
    ctx.endpoint = EndpointClass::media;
  else if (starts("/.well-known/matrix/"))
    ctx.endpoint = EndpointClass::well_known;
  else
    ctx.endpoint = EndpointClass::other;
  // Without a policy the gateway forwards as a plain proxy (logged at start).
  if (!start_enforcing(ctx)) return PhaseResult::proceed();
  return from_step(inbound::classify_request(ctx.inbound, *ctx.request));
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
  if (!start_enforcing(ctx)) return;
  ctx.inbound.denial = std::string(unread_reason(status));
  ctx.inbound.response_note = std::string(detail);
}

PhaseResult authenticate(RequestContext& ctx) {
  if (!enforcing(ctx)) return PhaseResult::proceed();
  inbound::PhaseEnv env = env_for(ctx);
  return from_step(inbound::authenticate_request(ctx.inbound, *ctx.request, env));
}

PhaseResult authorize(RequestContext& ctx) {
  if (!enforcing(ctx)) return PhaseResult::proceed();
  inbound::PhaseEnv env = env_for(ctx);
  return from_step(inbound::authorize_request(ctx.inbound, *ctx.request, env));
}

PhaseResult inspect(RequestContext& ctx) {
  if (!enforcing(ctx)) return PhaseResult::proceed();
  inbound::PhaseEnv env = env_for(ctx);
  return from_step(inbound::inspect_request(ctx.inbound, *ctx.request, env));
}

PhaseResult run_request_phases(RequestContext& ctx) {
  static constexpr PhaseResult (*kPhases[])(RequestContext&) = {&classify, &authenticate,
                                                                &authorize, &inspect};
  // A suspended phase runs again from the start of that phase when the request resumes.
  for (; ctx.next_phase < std::size(kPhases); ++ctx.next_phase) {
    PhaseResult r = kPhases[ctx.next_phase](ctx);
    if (r.kind != PhaseResult::Kind::proceed) return r;
  }
  return PhaseResult::proceed();
}

PhaseResult check_response(RequestContext& ctx, const HttpResponseHead& head) {
  // Inbound: the Core's make_* answers name the room's version (copied while they stream on).
  // Media answers the policy limits are held whole and judged before the peer sees them.
  if (enforcing(ctx)) {
    ctx.inbound.capture_answer = inbound::wants_core_answer(ctx.inbound, head.status);
    ctx.inbound.media_hold = inbound::core_media_hold_limit(ctx.inbound, head.status);
  }
  return PhaseResult::proceed();
}

void record(RequestContext& ctx, WorkerMetrics& metrics) {
  auto latency = std::chrono::steady_clock::now() - ctx.started;
  const HttpRequest& r = *ctx.request;
  metrics.request_done(ctx.direction, ctx.endpoint, ctx.status,
                       std::chrono::duration_cast<std::chrono::nanoseconds>(latency), r.body.size(),
                       ctx.response_bytes);
  if (enforcing(ctx)) {
    inbound::RequestOutcome o;
    o.method = r.method;
    o.client_ip = ctx.client_ip != nullptr ? std::string_view(*ctx.client_ip) : std::string_view();
    o.status = ctx.status;
    o.request_bytes = r.body.size();
    o.response_bytes = ctx.response_bytes;
    o.latency = std::chrono::duration_cast<std::chrono::nanoseconds>(latency);
    inbound::record_inbound(ctx.inbound, o);
  }
  if (log_enabled(LogLevel::info)) {
    // Path only up to the query: query strings may carry tokens.
    std::string_view path = r.target;
    path = path.substr(0, path.find('?'));
    const inbound::InboundRequest& in = ctx.inbound;
    std::string_view fed_endpoint =
        in.route ? policy::endpoint_name(in.route->endpoint) : std::string_view();
    std::string_view decision = enforcing(ctx) ? inbound::decision_action(in) : "not_enforced";
    std::string_view rule = in.decision ? std::string_view(in.decision->rule_id) : "";
    std::string_view reason = !in.denial.empty() ? std::string_view(in.denial)
                              : in.decision      ? in.decision->reason
                                                 : std::string_view();
    log_event(LogLevel::info, "request",
              {{"direction", direction_name(ctx.direction)},
               {"endpoint", endpoint_class_name(ctx.endpoint)},
               {"method", r.method},
               {"path", path},
               {"status", ctx.status},
               {"outcome", ctx.outcome},
               {"client", ctx.client_ip ? *ctx.client_ip : std::string()},
               {"federation_endpoint", fed_endpoint},
               {"origin", ctx.inbound.origin},
               {"decision", decision},
               {"rule", rule},
               {"reason", reason},
               {"room_version_unknown", ctx.inbound.room_version_unknown},
               {"request_bytes", static_cast<unsigned long>(r.body.size())},
               {"response_bytes", static_cast<unsigned long>(ctx.response_bytes)},
               {"duration_ms", std::chrono::duration<double, std::milli>(latency).count()}});
  }
}

}  // namespace bordergate
