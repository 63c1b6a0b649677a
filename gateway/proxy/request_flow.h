// One request's way through the pipeline (pipeline.h), from the moment it was read whole to the
// moment it is answered: the request phases with their suspensions, the exchange with an
// Upstream, check_answer on the answer's head (stream or hold), the judgement of a held answer,
// and record. It knows no socket: what is to be written goes to its Client (the connection),
// which is why both directions can be driven through it in a unit test with a fake upstream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/admin/metrics.h"
#include "gateway/proxy/pipeline.h"
#include "gateway/proxy/request_context.h"
#include "gateway/proxy/upstream.h"

namespace bordergate {

class RequestFlow final : public AnswerSink {
 public:
  // What the flow asks of its connection: the answer, in the order it is to be written.
  class Client {
   public:
    // The gateway answers itself: a refusal, a failure, a withheld transaction.
    virtual void answer_error(const GatewayError& error, bool close_after) = 0;
    // An answer streamed as it arrives: its head, body pieces, a flush point after each batch
    // (the connection applies backpressure there: pause_upstream), its end.
    virtual void answer_head(const HttpResponseHead& head) = 0;
    virtual void answer_body(std::string_view data) = 0;
    virtual void answer_flush() = 0;
    virtual void answer_end() = 0;
    // An answer held and judged whole, sent with the gateway's own framing. The client keeps
    // the body, and its charge to the buffer budget, until the last byte is handed to the
    // socket, written as the peer reads.
    virtual void answer_whole(const HttpResponseHead& head, std::shared_ptr<const std::string> body,
                              BudgetLease lease) = 0;
    // The upstream failed after part of the answer was sent: only closing can say so.
    virtual void answer_cut() = 0;
    // A phase waits for server keys (true; bounded by limits.key_wait_timeout, then
    // key_wait_expired) or stopped waiting (false).
    virtual void awaiting_keys(bool waiting) = 0;

   protected:
    ~Client() = default;
  };

  enum class State : unsigned char {
    idle,        // no request
    phases,      // in the request phases, or suspended in one
    exchanging,  // the upstream has the request; no answer byte yet
    holding,     // the answer is read whole, or judged, before the client sees any of it
    streaming,   // the answer is passed on as it arrives
    answered,    // the client has the whole answer (or the gateway's own); record() is next
  };

  RequestFlow(RequestContext& ctx, Upstream& upstream, Client& client)
      : ctx_(ctx), upstream_(&upstream), client_(client) {}
  RequestFlow(const RequestFlow&) = delete;
  RequestFlow& operator=(const RequestFlow&) = delete;

  // Where admitted requests go from now on (an intercepted tunnel's destination).
  void set_upstream(Upstream& upstream) { upstream_ = &upstream; }
  State state() const { return state_; }
  bool in_flight() const { return state_ != State::idle && state_ != State::answered; }

  // ctx holds a request read whole: the phases run, and what follows from them.
  void start();
  // ctx.resume(): a suspended phase's wait is over; the request goes on at ctx.phase.
  void resume();
  // limits.key_wait_timeout ran out: the waiting phase answers without the missing keys.
  void key_wait_expired();
  // The client left, or the connection closes: the exchange is given up, nothing more is said.
  void cancel();
  // Backpressure from the connection while streaming.
  void pause_upstream();
  void resume_upstream();
  // The record phase, once the answer was written (or the client left); the flow is idle after.
  void record(WorkerMetrics& metrics);

  // AnswerSink
  void on_answer_head(HttpResponseHead& head) override;
  void on_answer_body(const char* data, std::size_t len) override;
  void on_answer_whole_body(std::string&& body, BudgetLease&& lease) override;
  void on_answer_batch_end() override;
  void on_answer_complete() override;
  void on_answer_failed(const UpstreamFailure& failure) override;

 private:
  void run_phases();
  void forward();
  void judge_held_answer();
  void refuse(const Outcome& outcome);
  void cancel_exchange();

  RequestContext& ctx_;
  Upstream* upstream_;
  Client& client_;
  State state_ = State::idle;
  bool exchange_ = false;  // the upstream has the request and owes an answer
};

}  // namespace bordergate
