#include "gateway/proxy/pipeline.h"

#include "gateway/common/log.h"

namespace bordergate {

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
  return PhaseResult::proceed();
}

PhaseResult authenticate(RequestContext&) {
  // Filled by the X-Matrix request-authentication issue: until then every
  // request passes unauthenticated, exactly as Core would see it directly.
  return PhaseResult::proceed();
}

PhaseResult authorize(RequestContext&) {
  // Filled by the policy issue (Decision evaluate(Policy, RequestFacts)).
  return PhaseResult::proceed();
}

PhaseResult inspect(RequestContext&) {
  // Filled by the PDU/EDU inspection issue (hashes, signatures, sizes).
  return PhaseResult::proceed();
}

PhaseResult run_request_phases(RequestContext& ctx) {
  for (auto phase : {&classify, &authenticate, &authorize, &inspect}) {
    PhaseResult r = phase(ctx);
    if (r.kind != PhaseResult::Kind::proceed) return r;
  }
  return PhaseResult::proceed();
}

PhaseResult check_response(RequestContext&, const HttpResponseHead&) {
  // Filled by the policy issue for responses leaving towards the peer.
  return PhaseResult::proceed();
}

void record(RequestContext& ctx, WorkerMetrics& metrics) {
  auto latency = std::chrono::steady_clock::now() - ctx.started;
  const HttpRequest& r = *ctx.request;
  metrics.request_done(ctx.direction, ctx.endpoint, ctx.status,
                       std::chrono::duration_cast<std::chrono::nanoseconds>(latency), r.body.size(),
                       ctx.response_bytes);
  if (log_enabled(LogLevel::info)) {
    // Path only up to the query: query strings may carry tokens.
    std::string_view path = r.target;
    path = path.substr(0, path.find('?'));
    log_event(LogLevel::info, "request",
              {{"direction", direction_name(ctx.direction)},
               {"endpoint", endpoint_class_name(ctx.endpoint)},
               {"method", r.method},
               {"path", path},
               {"status", ctx.status},
               {"outcome", ctx.outcome},
               {"client", ctx.client_ip ? *ctx.client_ip : std::string()},
               {"request_bytes", static_cast<unsigned long>(r.body.size())},
               {"response_bytes", static_cast<unsigned long>(ctx.response_bytes)},
               {"duration_ms", std::chrono::duration<double, std::milli>(latency).count()}});
  }
}

}  // namespace bordergate
