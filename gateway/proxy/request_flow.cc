#include "gateway/proxy/request_flow.h"

#include "gateway/common/log.h"
#include "gateway/enforcement/phases.h"

namespace bordergate {

void RequestFlow::start() {
  state_ = State::phases;
  run_phases();
}

void RequestFlow::run_phases() {
  Outcome r = run_request_phases(ctx_);
  if (r.kind == Outcome::Kind::respond) return refuse(r);
  // Suspended: a key answer, discovery or the quarantine's put calls resume() on this loop
  // later, at ctx.phase. A key wait is bounded: the fetcher's own timeouts do not cover a
  // stalled key store.
  if (r.kind == Outcome::Kind::suspend) {
    if (ctx_.judged.keys_pending > 0) client_.awaiting_keys(true);
    return;
  }
  forward();
}

void RequestFlow::resume() {
  // Only a request that still waits: a request that ended disarmed its callbacks
  // (ctx.judged.alive), and an exchange in flight has nothing to resume.
  if (exchange_) return;
  if (state_ == State::phases) {
    client_.awaiting_keys(false);
    run_phases();
  } else if (state_ == State::holding && ctx_.phase == Phase::check_answer) {
    judge_held_answer();
  }
}

void RequestFlow::key_wait_expired() {
  if (state_ == State::phases && !exchange_ && enforcement::expire_key_wait(ctx_.judged)) {
    run_phases();
  }
}

void RequestFlow::forward() {
  ctx_.phase = Phase::forward;
  state_ = State::exchanging;
  exchange_ = true;
  upstream_->send(ctx_, *this);  // may answer at once (a failure)
}

void RequestFlow::cancel_exchange() {
  if (!exchange_) return;
  exchange_ = false;
  upstream_->cancel();
}

void RequestFlow::cancel() { cancel_exchange(); }

void RequestFlow::pause_upstream() {
  if (exchange_) upstream_->pause_reading();
}

void RequestFlow::resume_upstream() {
  if (exchange_) upstream_->resume_reading();
}

void RequestFlow::refuse(const Outcome& outcome) {
  ctx_.outcome = outcome_label(outcome.error.source);
  state_ = State::answered;
  client_.answer_error(outcome.error, outcome.close_connection);
}

void RequestFlow::on_answer_head(HttpResponseHead& head) {
  check_answer(ctx_, head);
  if (const auto limit = ctx_.hold_limit) {
    // Nothing reaches the client before the whole answer is judged.
    if (head.content_length && *head.content_length > *limit) {
      cancel_exchange();
      return refuse(refuse_oversized_answer(ctx_, *limit + 1));
    }
    if (head.content_length && !ctx_.answer_lease.admit(*head.content_length)) {
      cancel_exchange();
      return refuse(refuse_unheld_answer(ctx_, *head.content_length));
    }
    state_ = State::holding;
    return;
  }
  state_ = State::streaming;
  ctx_.status = head.status;
  client_.answer_head(head);
}

void RequestFlow::on_answer_body(const char* data, std::size_t len) {
  if (state_ == State::holding) {
    std::string& held = *ctx_.answer_body;
    const std::uint64_t needed = held.size() + len;
    if (needed > *ctx_.hold_limit) {
      // The rest of the answer is never read: the exchange is given up.
      cancel_exchange();
      return refuse(refuse_oversized_answer(ctx_, needed));
    }
    if (!ctx_.answer_lease.make_room(held, len, *ctx_.hold_limit)) {
      cancel_exchange();
      return refuse(refuse_unheld_answer(ctx_, needed));
    }
    held.append(data, len);
    return;
  }
  if (state_ != State::streaming || len == 0) return;
  ctx_.response_bytes += len;
  if (ctx_.judged.capture_answer) {
    std::string& copy = *ctx_.answer_body;
    if (copy.size() + len <= enforcement::kMaxCoreAnswerBytes) {
      copy.append(data, len);
    } else {
      ctx_.judged.capture_answer = false;  // not one of the small answers learnt from
      copy.clear();
    }
  }
  client_.answer_body(std::string_view(data, len));
}

void RequestFlow::on_answer_whole_body(std::string&& body, BudgetLease&& lease) {
  if (state_ == State::holding && ctx_.answer_body && ctx_.answer_body->empty()) {
    if (body.size() > *ctx_.hold_limit) {
      cancel_exchange();
      return refuse(refuse_oversized_answer(ctx_, body.size()));
    }
    // Taken over: no second copy, and the bytes stay charged once.
    *ctx_.answer_body = std::move(body);
    ctx_.answer_lease = std::move(lease);
    return;
  }
  on_answer_body(body.data(), body.size());
}

void RequestFlow::on_answer_batch_end() {
  if (state_ == State::streaming) client_.answer_flush();
}

void RequestFlow::on_answer_complete() {
  exchange_ = false;
  if (state_ == State::holding) return judge_held_answer();
  if (state_ != State::streaming) return;
  if (ctx_.judged.capture_answer)
    enforcement::learn_from_core_answer(ctx_.judged, *ctx_.answer_body);
  state_ = State::answered;
  client_.answer_end();
}

void RequestFlow::judge_held_answer() {
  Outcome r = check_held_answer(ctx_);
  if (r.kind == Outcome::Kind::suspend) return;  // resume() at check_answer
  if (r.kind == Outcome::Kind::respond) return refuse(r);
  state_ = State::answered;
  client_.answer_whole(ctx_.held_head, ctx_.answer_body, std::move(ctx_.answer_lease));
}

void RequestFlow::on_answer_failed(const UpstreamFailure& failure) {
  exchange_ = false;
  if (state_ == State::streaming) {
    // Part of the answer is already out: the only honest signal left is to cut the connection.
    log_event(LogLevel::warn, "upstream_failed_mid_response",
              {{"error", failure.code}, {"detail", failure.detail}});
    ctx_.outcome = "upstream_error";
    state_ = State::answered;
    client_.answer_cut();
    return;
  }
  if (state_ != State::exchanging && state_ != State::holding) return;
  GatewayError e = failure_answer(failure.failure);
  log_event(LogLevel::warn,
            e.source == ErrorSource::remote ? "outbound_forward_failed" : "upstream_failed",
            {{"error", failure.code}, {"detail", failure.detail}});
  refuse(Outcome::respond(std::move(e)));
}

void RequestFlow::record(WorkerMetrics& metrics) {
  bordergate::record(ctx_, metrics);
  state_ = State::idle;
}

}  // namespace bordergate
