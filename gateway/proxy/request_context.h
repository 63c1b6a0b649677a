// Per-request state handed to every pipeline phase, the same for both directions. It lives
// inside the client connection and is reset between requests; the direction is data here
// (judged.direction), set by the connection's admission of the request, and everything a later
// phase needs (classification, the authenticated origin, the policy decision, the held answer)
// is a plain field.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/common/path_class.h"
#include "gateway/enforcement/judged_request.h"
#include "gateway/http/body_budget.h"
#include "gateway/http/message.h"
#include "gateway/http/outcome.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/keystore/worker_queue.h"
#include "gateway/outbound/response_check.h"
#include "gateway/proxy/runtime.h"

namespace bordergate {

// The phases every request walks, in this order (pipeline.h). The phases before forward run
// from run_request_phases; forward, check_answer and record are driven by the answer's arrival.
// A phase that waits is split at the wait: it starts the wait and suspends, and the request
// resumes at the phase after it, which consumes what arrived (pipeline.cc's schedule says where).
enum class Phase : unsigned char {
  admit,          // the request belongs to its connection (outbound: the tunnel's binding)
  classify,       // the catalogue endpoint and a strict JSON body
  authenticate,   // X-Matrix parsed, the origin's keys asked for; outbound: bound to the tunnel
  verify,         // every X-Matrix signature verified with the keys at hand
  authorize,      // the policy's decision on the request facts, the rate limit
  recall,         // /send: is this a retry of a held transaction (the quarantine store)
  inspect,        // a held retry answered; PDUs' and membership events' shape, their keys asked
  verify_events,  // the events verified with the keys at hand, EDUs
  decide,         // the final decision over every item; a held /send stored
  hold,           // the answer to a held /send once it is stored
  forward,        // the upstream: the Core's pool inbound, the tunnel's destination outbound
  check_answer,   // the answer's head (stream or hold), then a held answer judged whole
  record,         // metrics, the access log line, the audit record
};
inline constexpr std::size_t kPhaseCount = static_cast<std::size_t>(Phase::record) + 1;

struct RequestContext;

// Whether a request belongs to the connection it came on, before any policy judges it, and in
// which direction it goes: an outbound tunnel binds each inner request to what its front
// admitted (tunnel_requests.h). Connections of external servers have none: their requests are
// inbound.
class RequestAdmission {
 public:
  // Sets the request's direction and, for requests the policy judges, starts enforcement
  // (judged.services); a refusal is recorded in judged.admission.
  virtual Outcome admit(RequestContext& ctx) = 0;
  // A request refused while it was read (HTTP framing, a size limit, a read timeout) never
  // reaches admit: this notes the refusal for its record. `reason`: http_malformed, ...
  virtual void refuse_unread(RequestContext& ctx, std::string_view reason,
                             std::string_view detail) = 0;

 protected:
  ~RequestAdmission() = default;
};

struct RequestContext {
  std::shared_ptr<const Runtime> runtime;   // the snapshot this request runs under
  HttpRequest* request = nullptr;           // owned by the connection's parser
  const std::string* client_ip = nullptr;   // owned by the connection
  PathClass path_class = PathClass::other;  // the path's coarse class (metric label)
  std::chrono::steady_clock::time_point started{};
  int status = 0;                    // final status sent to the client
  std::uint64_t response_bytes = 0;  // body bytes sent to the client
  const char* outcome =
      "forwarded";             // forwarded | denied | gateway_error | upstream_error | client_gone
  Phase phase = Phase::admit;  // the phase to run, or to resume at after a suspension
  enforcement::JudgedRequest judged;  // direction, classification, origin, decision, items

  // The answer, once check_answer decided to hold it whole (media under the media settings,
  // every answer of an external server to the Core): its head and the limit its body is held
  // to. answer_body is then the held body, shared with a check running off the loop; for a
  // streamed make_* answer (judged.capture_answer) it is the bounded copy learnt from.
  std::optional<std::uint64_t> hold_limit;
  HttpResponseHead held_head;
  std::shared_ptr<std::string> answer_body;
  BudgetLease answer_lease;  // a held answer's bytes, charged to limits.max_buffered_bytes
  // An external server's held answer, judged (possibly off the loop): the verdict, once in.
  std::optional<outbound::ResponseCheck> answer_verdict;

  // Set once by the connection: who admits its requests (null: inbound), the key store, where
  // its answers arrive, how a suspended request resumes, and the thread pool.
  RequestAdmission* admission = nullptr;
  keystore::ServerKeyStore* keys = nullptr;
  std::shared_ptr<keystore::Mailbox> mailbox;
  std::function<void()> resume;
  std::function<void(std::function<void()>, std::function<void()>)> offload;

  Direction direction() const { return judged.direction; }
  bool enforcing() const { return judged.services != nullptr; }

  void reset() {
    phase = Phase::admit;
    judged.reset();
    runtime.reset();
    request = nullptr;
    path_class = PathClass::other;
    status = 0;
    response_bytes = 0;
    outcome = "forwarded";
    hold_limit.reset();
    held_head = HttpResponseHead{};
    answer_body.reset();
    answer_lease.release();
    answer_verdict.reset();
  }
};

}  // namespace bordergate
