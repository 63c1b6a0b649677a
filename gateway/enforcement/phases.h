// The enforcement phases of both directions (docs/inbound.md, docs/outbound.md), one function
// per phase of the proxy's schedule (gateway/proxy/pipeline.h). Each returns an Outcome
// (gateway/http/outcome.h): proceed, respond or suspend. A phase that suspends (waiting for server
// keys, the quarantine store) has started the wait and returns; PhaseEnv::resume then continues
// the request on its own loop at the phase after it, which consumes what arrived: authenticate ->
// verify, recall -> inspect, inspect -> verify_events, decide -> hold. No phase runs twice.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "gateway/enforcement/judged_request.h"
#include "gateway/http/message.h"
#include "gateway/http/outcome.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/keystore/worker_queue.h"

namespace bordergate::enforcement {

struct PhaseEnv {
  // The process-wide key store (pinned keys, cache, fetches; gateway/proxy/federation.h) and the
  // worker's federation mailbox its answers arrive through. Null keys: nothing verifies.
  keystore::ServerKeyStore* keys = nullptr;
  std::shared_ptr<keystore::Mailbox> mailbox;
  std::function<void()> resume;  // continues a suspended request at the phase after the one
                                 // that suspended
  std::string_view client_ip;    // rate-limit key for requests without origin
  // Runs `work` on a thread pool and then `done` on this loop (the quarantine's fsynced put).
  std::function<void(std::function<void()> work, std::function<void()> done)> offload;
};

// A place in the audit queue for the request's record (fail closed, AuditLog::reserve): when
// the audit log cannot take records, the request is refused before anything is judged or
// forwarded, 503 M_UNAVAILABLE with Retry-After (denial audit_unavailable; such refusals are
// counted by bordergate_audit_refused_total, not recorded), unless audit.on_failure is forward.
Outcome reserve_audit_place(JudgedRequest& r);
// The catalogue endpoint and a strict JSON body.
Outcome classify_request(JudgedRequest& r, const HttpRequest& http);
// Inbound: the X-Matrix headers parsed and addressed to us; asks for the origin's keys that are
// not at hand (suspends). Outbound: the whole phase, bound to the Core and the tunnel's server.
Outcome authenticate_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env);
// Inbound: every X-Matrix signature verified with the keys at hand; 401 key_fetch_timeout when
// the wait for them was cut. Nothing to do outbound or for endpoints without X-Matrix.
Outcome verify_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env);
// The policy's decision on the request facts, the rate limit.
Outcome authorize_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env);
// /send: asks the quarantine store (off the loop, suspends) whether this (origin, txnId) is a
// retry of a held transaction. Nothing to do for other endpoints.
Outcome recall_request(JudgedRequest& r, PhaseEnv& env);
// A held retry recall found is answered from the store; else the transaction's or membership
// event's shape, and a wait for the keys of its events (suspends); make_* and user/devices users.
Outcome inspect_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env);
// The events inspect found, verified with the keys at hand (503 key_fetch_timeout when the wait
// was cut); then what follows from them: the event id in a membership path, /send's EDUs.
Outcome verify_events_request(JudgedRequest& r, PhaseEnv& env);
// The final policy decision over every item; a /send held back is stored off the loop
// (suspends). Nothing to do for endpoints without events.
Outcome decide_request(JudgedRequest& r, const HttpRequest& http, PhaseEnv& env);
// The answer to a held transaction once its put finished; nothing to do when nothing was held.
Outcome hold_request(JudgedRequest& r);

// Ends the key wait a suspended request is in (limits.key_wait_timeout ran out): answers that
// arrive later are ignored, and the phase the request resumes at (verify, verify_events) answers
// without the missing keys (X-Matrix: 401 M_UNAUTHORIZED key_fetch_timeout; PDU keys: 503, so the
// origin retries). False when the request is not waiting for keys (e.g. a quarantine put is in
// flight).
bool expire_key_wait(JudgedRequest& r);

// The Core's answers the gateway learns from (make_join/make_leave/make_knock: the room's
// version). `wants_core_answer` says whether to keep a copy of the body (at most
// kMaxCoreAnswerBytes; a longer one is not learnt from); `learn_from_core_answer` reads it.
inline constexpr std::size_t kMaxCoreAnswerBytes = 64 * 1024;
bool wants_core_answer(const JudgedRequest& r, int status);
void learn_from_core_answer(JudgedRequest& r, std::string_view body);

// Room membership (room_members.h). `note_joined_servers` takes what RoomMembers::observe
// returned for memberships this request or its answer carried, and flags every room a server in
// no federation of the policy joined (the room became mixed): the request's audit record lists
// them (mixed_room_ids / mixed_room_servers), a warning is logged and
// bordergate_rooms_mixed_total counts them.
void note_joined_servers(JudgedRequest& r, const std::vector<JoinedServer>& joined);
// send_join / send_knock once the answer's memberships were recorded: the request decided again
// with the room's members as the gateway now knows them (room_members_outside_federations). A
// refusal replaces the request's decision; the answer is then not delivered. Proceeds for every
// other request, and when the policy has no rule on room members.
Outcome judge_joined_room(JudgedRequest& r);

// How a refusing policy decision is answered (pure; table-tested):
//   checks/x_matrix_check_failed -> 401 M_UNAUTHORIZED; limits -> 413 M_TOO_LARGE;
//   everything else (rules, default, media, PDU/EDU checks) -> 403 M_FORBIDDEN.
GatewayError answer_for(const policy::Decision& decision);

// The 200 answer to a /send transaction the gateway keeps back (quarantine): every PDU gets an
// error so the origin's queue moves on: {"pdus":{"<event id>":{"error":"<reason>"}}}. PDUs
// without an event id (unparseable) cannot be named and are left out, as Synapse does.
std::string withheld_transaction_answer(const std::vector<PduVerdict>& pdus,
                                        std::string_view error);

}  // namespace bordergate::enforcement
