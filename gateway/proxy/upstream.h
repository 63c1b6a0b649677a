// The upstream seam of the pipeline's forward phase: where a request goes once the phases let it.
// Two implementations: the Core's keep-alive pool for the requests of external servers
// (core_upstream.h) and, for the Core's requests inside an intercepted tunnel, the external
// server the tunnel leads to (remote_upstream.h: discovery, the SSRF guard, dialling, TLS).
// Either way the answer comes back to the connection through AnswerSink, piece by piece, or as
// one failure the connection answers from the table in gateway/http/outcome.h.
#pragma once

#include <cstddef>
#include <string>

#include "gateway/http/body_budget.h"
#include "gateway/http/message.h"
#include "gateway/http/outcome.h"

namespace bordergate {

struct RequestContext;

struct UpstreamFailure {
  Failure failure = Failure::core_unreachable;
  std::string code;    // snake_case, for the log: connect_refused, timeout, body_too_large, ...
  std::string detail;  // the upstream's own words, for the log only
};

// Receives one exchange's answer (implemented by ClientConnection).
class AnswerSink {
 public:
  virtual void on_answer_head(HttpResponseHead& head) = 0;
  virtual void on_answer_body(const char* data, std::size_t len) = 0;
  // The whole body at once, read by an upstream that buffers answers itself, with its charge to
  // the buffer budget: taken over without a copy where the sink holds answers, else handed on as
  // on_answer_body.
  virtual void on_answer_whole_body(std::string&& body, BudgetLease&& lease) {
    (void)lease;
    on_answer_body(body.data(), body.size());
  }
  // After each batch of body bytes: the moment to flush.
  virtual void on_answer_batch_end() = 0;
  virtual void on_answer_complete() = 0;
  // No answer (or only part of one) will come.
  virtual void on_answer_failed(const UpstreamFailure& failure) = 0;

 protected:
  ~AnswerSink() = default;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  // Sends ctx's request; its answer reaches `sink`, possibly before send returns (a failure).
  virtual void send(RequestContext& ctx, AnswerSink& sink) = 0;
  // The sink no longer wants this exchange's answer (its client left, or the answer was refused
  // half way); nothing more reaches the sink for it.
  virtual void cancel() = 0;
  // Backpressure: the client is not reading; stop reading the answer until it does.
  virtual void pause_reading() {}
  virtual void resume_reading() {}
};

}  // namespace bordergate
