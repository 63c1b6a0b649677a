// The fixed request pipeline. Every request walks these phases in this order,
// each a plain function over the same RequestContext returning proceed,
// respond (the gateway answers itself) or suspend (the phase will resume the
// request from a callback: key fetch, DNS, the upstream exchange).
//
//   classify -> authenticate -> authorize -> inspect -> forward
//            -> check_response -> record
#pragma once

#include <string>
#include <string_view>

#include "gateway/admin/metrics.h"
#include "gateway/http/error_response.h"
#include "gateway/proxy/request_context.h"

namespace bordergate {

enum class Phase { classify, authenticate, authorize, inspect, forward, check_response, record };

struct PhaseResult {
  enum class Kind { proceed, respond, suspend };
  Kind kind = Kind::proceed;
  GatewayError error;
  // respond only: the connection closes after this answer (Connection: close), e.g. an outbound
  // tunnel whose binding failed serves nothing more.
  bool close_connection = false;

  static PhaseResult proceed() { return {}; }
  static PhaseResult suspend() { return {Kind::suspend, {}}; }
  static PhaseResult respond(int status, const char* errcode, std::string reason) {
    return {Kind::respond, GatewayError{status, errcode, std::move(reason)}};
  }
};

const char* phase_name(Phase phase);

// Names the endpoint class from the raw path (bounded metric label); with a policy, the exact
// catalogue endpoint and a strict JSON body (inbound::classify_request).
PhaseResult classify(RequestContext& ctx);
// The X-Matrix request signature against the origin's keys (inbound::authenticate_request).
PhaseResult authenticate(RequestContext& ctx);
// The policy's decision on the request facts and the origin's rate limit
// (inbound::authorize_request).
PhaseResult authorize(RequestContext& ctx);
// Every PDU's hashes and signatures, every EDU's origin, the final decision over all items, and
// quarantine (inbound::inspect_request).
PhaseResult inspect(RequestContext& ctx);
// The phases before forward, in order; stops at the first that does not proceed.
PhaseResult run_request_phases(RequestContext& ctx);
// A request refused while it was read (HTTP framing, a size limit, a read timeout: `status` is
// what the gateway answers, `detail` its own words) never walks the phases; where requests are
// judged it is still a denial, audited by record() as endpoint `unrecognized` with the reason
// unread_reason(status) and `detail` as the note (docs/audit-and-quarantine.md).
void refuse_unread(RequestContext& ctx, int status, std::string_view detail);
// http_timeout (408), http_too_large (413, 431), http_method_unrecognized (405),
// http_unsupported (417), else http_malformed.
std::string_view unread_reason(int status);

// Forwarding lives in ClientConnection::forward (it needs the worker's pool).

// Looks at the Core's response head before it is streamed back: whether the answer is copied
// (make_* answers name the room version) or held whole (media under the media settings). The
// answers of external servers inside an outbound tunnel are checked in gateway/outbound
// (response_check.h) before the Core sees them.
PhaseResult check_response(RequestContext& ctx, const HttpResponseHead& head);
// Metrics, the access log line and, where requests are judged, the audit record.
void record(RequestContext& ctx, WorkerMetrics& metrics);

}  // namespace bordergate
