// The fixed request pipeline of both directions. Every request walks the phases of
// request_context.h in their order, each a plain function over the same RequestContext
// returning an Outcome: proceed, respond (the gateway answers itself) or suspend (the request
// waits for a key fetch, discovery, the quarantine store or the answer check, and a callback
// resumes it at ctx.phase).
//
//   admit -> classify -> authenticate -> verify -> authorize -> recall -> inspect
//         -> verify_events -> decide -> hold                        (run_request_phases)
//         -> forward (an Upstream: the Core's pool, or a tunnel's destination)
//         -> check_answer (at the head: stream or hold; a held answer judged whole)
//         -> record
//
// A phase that waits is split at the wait: it starts the wait and suspends, and the request
// resumes at the next phase, which consumes what arrived (authenticate -> verify, recall ->
// inspect, inspect -> verify_events, decide -> hold); admit and check_answer take in what
// arrived themselves and run again. resumes_at() reads this from the schedule in pipeline.cc.
//
// An inbound request and a request inside an outbound tunnel take the same list; the direction
// is data in the context, set by the connection's admission (RequestAdmission).
#pragma once

#include <string>
#include <string_view>

#include "gateway/admin/metrics.h"
#include "gateway/http/outcome.h"
#include "gateway/proxy/request_context.h"

namespace bordergate {

const char* phase_name(Phase phase);
// The phase a request continues at when `phase` suspended it (the schedule's data).
Phase resumes_at(Phase phase);

// The coarse class of the path (bounded metric label); then the connection's admission, or, for
// inbound requests, enforcement when a policy is configured.
Outcome admit(RequestContext& ctx);
// The exact catalogue endpoint and a strict JSON body (enforcement::classify_request).
Outcome classify(RequestContext& ctx);
// X-Matrix: inbound parsed and the origin's keys asked for (suspends while they are fetched),
// outbound bound to the Core and the tunnel's destination (enforcement::authenticate_request).
Outcome authenticate(RequestContext& ctx);
// Inbound X-Matrix signatures verified with the keys at hand (enforcement::verify_request).
Outcome verify(RequestContext& ctx);
// The policy's decision on the request facts and the rate limit (enforcement::authorize_request).
Outcome authorize(RequestContext& ctx);
// /send: the quarantine store asked whether this is a retry of a held transaction (suspends
// while it is asked off the loop; enforcement::recall_request).
Outcome recall(RequestContext& ctx);
// A held retry answered from the store; the shape of PDUs, EDUs and membership events, their
// keys asked for (suspends while they are fetched); make_* and user/devices users
// (enforcement::inspect_request).
Outcome inspect(RequestContext& ctx);
// Every PDU's hashes and signatures with the keys at hand, the event id of a membership path,
// every EDU's origin (enforcement::verify_events_request).
Outcome verify_events(RequestContext& ctx);
// The final decision over all items; a /send held back is stored off the loop (suspends;
// enforcement::decide_request).
Outcome decide(RequestContext& ctx);
// The answer to a held /send once it is stored (enforcement::hold_request).
Outcome hold(RequestContext& ctx);
// Runs the phases from ctx.phase up to forward; stops at the first that does not proceed. A
// respond leaves ctx.phase at the phase that answered; a suspend sets it to resumes_at() of the
// phase that suspended, where the request continues.
Outcome run_request_phases(RequestContext& ctx);

// A request refused while it was read (HTTP framing, a size limit, a read timeout: `status` is
// what the gateway answers, `detail` its own words) never walks the phases; where requests are
// judged it is still a denial, audited by record() as endpoint `unrecognized` with the reason
// unread_reason(status) and `detail` as the note (docs/audit-and-quarantine.md).
void refuse_unread(RequestContext& ctx, int status, std::string_view detail);
// http_timeout (408), http_too_large (413, 431), http_method_unrecognized (405),
// http_unsupported (417), else http_malformed.
std::string_view unread_reason(int status);

// check_answer, at the answer's head: whether it is streamed as it arrives (make_* answers are
// copied on the way to learn the room version) or held whole (media under the media settings,
// every answer of an external server to the Core) and judged by check_held_answer first.
Outcome check_answer(RequestContext& ctx, const HttpResponseHead& head);
// check_answer, once a held answer is complete (body: ctx.answer_body): proceed = send it
// (an external answer the check filtered is replaced by the filtered body), respond = the
// gateway refuses it, suspend = the check waits for keys or runs off the loop and resumes the
// request at resumes_at(check_answer), which judges it again with the verdict in.
Outcome check_held_answer(RequestContext& ctx);
// A held answer that outgrew its limit while it arrived (`bytes` read so far).
Outcome refuse_oversized_answer(RequestContext& ctx, std::uint64_t bytes);
// An answer to be held that does not fit limits.max_buffered_bytes (`bytes`: declared, or held
// so far): 503 M_UNAVAILABLE with Retry-After, denial answer_budget_exhausted.
Outcome refuse_unheld_answer(RequestContext& ctx, std::uint64_t bytes);

// Metrics, the access log line and, where requests are judged or admitted, the audit record.
void record(RequestContext& ctx, WorkerMetrics& metrics);

}  // namespace bordergate
