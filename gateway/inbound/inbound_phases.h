// The enforcement phases of both directions (docs/inbound.md, docs/outbound.md): classify,
// authenticate (X-Matrix), authorize (policy, rate limit) and inspect (PDUs, EDUs, membership
// events). Each returns an Outcome (gateway/http/outcome.h): proceed, respond or suspend (waiting
// for server keys; the same phase runs again once they arrived, through PhaseEnv::resume on the
// request's own loop).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "gateway/http/message.h"
#include "gateway/http/outcome.h"
#include "gateway/inbound/inbound_request.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/keystore/worker_queue.h"

namespace bordergate::inbound {

struct PhaseEnv {
  // The process-wide key store (pinned keys, cache, fetches; gateway/proxy/federation.h) and the
  // worker's federation mailbox its answers arrive through. Null keys: nothing verifies.
  keystore::ServerKeyStore* keys = nullptr;
  std::shared_ptr<keystore::Mailbox> mailbox;
  std::function<void()> resume;  // re-runs the suspended phase
  std::string_view client_ip;    // rate-limit key for requests without origin
  // Runs `work` on a thread pool and then `done` on this loop (the quarantine's fsynced put).
  std::function<void(std::function<void()> work, std::function<void()> done)> offload;
};

Outcome classify_request(InboundRequest& r, const HttpRequest& http);
Outcome authenticate_request(InboundRequest& r, const HttpRequest& http, PhaseEnv& env);
Outcome authorize_request(InboundRequest& r, const HttpRequest& http, PhaseEnv& env);
Outcome inspect_request(InboundRequest& r, const HttpRequest& http, PhaseEnv& env);

// Ends the key wait a suspended request is in (limits.key_wait_timeout ran out): answers that
// arrive later are ignored, and the phase, run again, answers without the missing keys
// (X-Matrix: 401 M_UNAUTHORIZED key_fetch_timeout; PDU keys: 503, so the origin retries).
// False when the request is not waiting for keys (e.g. a quarantine put is in flight).
bool expire_key_wait(InboundRequest& r);

// The Core's answers the gateway learns from (make_join/make_leave/make_knock: the room's
// version). `wants_core_answer` says whether to keep a copy of the body (at most
// kMaxCoreAnswerBytes; a longer one is not learnt from); `learn_from_core_answer` reads it.
inline constexpr std::size_t kMaxCoreAnswerBytes = 64 * 1024;
bool wants_core_answer(const InboundRequest& r, int status);
void learn_from_core_answer(InboundRequest& r, std::string_view body);

// How a refusing policy decision is answered (pure; table-tested):
//   checks/x_matrix_check_failed -> 401 M_UNAUTHORIZED; limits -> 413 M_TOO_LARGE;
//   everything else (rules, default, media, PDU/EDU checks) -> 403 M_FORBIDDEN.
GatewayError answer_for(const policy::Decision& decision);

// The 200 answer to a /send transaction the gateway keeps back (quarantine): every PDU gets an
// error so the origin's queue moves on: {"pdus":{"<event id>":{"error":"<reason>"}}}. PDUs
// without an event id (unparseable) cannot be named and are left out, as Synapse does.
std::string withheld_transaction_answer(const std::vector<PduVerdict>& pdus,
                                        std::string_view error);

}  // namespace bordergate::inbound
