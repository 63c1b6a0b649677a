#include "gateway/proxy/core_upstream.h"

#include <array>

#include "gateway/http/headers.h"
#include "gateway/proxy/request_context.h"
#include "gateway/proxy/worker.h"

namespace bordergate {
namespace {

bool idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

UpstreamFailure failure_of(UpstreamErrorKind kind, const std::string& detail) {
  static constexpr std::array<std::pair<Failure, const char*>, kUpstreamErrorKinds> kByKind = {{
      {Failure::core_refused, "connect_refused"},
      {Failure::core_connect_timeout, "connect_timeout"},
      {Failure::core_reset, "reset"},
      {Failure::core_response_timeout, "response_timeout"},
      {Failure::core_tls, "tls"},
      {Failure::core_protocol, "protocol"},
      {Failure::core_unreachable, "other"},
  }};
  const auto& [failure, code] = kByKind[static_cast<std::size_t>(kind)];
  return UpstreamFailure{failure, code, detail};
}

}  // namespace

void CoreUpstream::send(RequestContext& ctx, AnswerSink& sink) {
  ctx_ = &ctx;
  sink_ = &sink;
  retried_ = false;
  dispatch();
}

void CoreUpstream::dispatch() {
  const HttpRequest& req = *ctx_->request;
  std::string& head = worker_.scratch();
  head.clear();
  append_upstream_request_head(head, req, *ctx_->client_ip, ctx_->runtime->upstream_authority);
  connection_ = worker_.pool().acquire(ctx_->runtime, retried_);
  // May call back at once (a connection that already failed).
  connection_->send(head, req.body, req.method == "HEAD", this);
}

void CoreUpstream::cancel() {
  if (connection_ != nullptr) {
    connection_->detach();
    connection_ = nullptr;
  }
}

void CoreUpstream::pause_reading() {
  if (connection_ != nullptr) connection_->pause_reading();
}

void CoreUpstream::resume_reading() {
  if (connection_ != nullptr) connection_->resume_reading();
}

void CoreUpstream::on_upstream_head(HttpResponseHead& head) { sink_->on_answer_head(head); }

void CoreUpstream::on_upstream_body(const char* data, size_t len) {
  sink_->on_answer_body(data, len);
}

void CoreUpstream::on_upstream_batch_end() { sink_->on_answer_batch_end(); }

void CoreUpstream::on_upstream_complete() {
  connection_ = nullptr;
  sink_->on_answer_complete();
}

void CoreUpstream::on_upstream_failed(UpstreamErrorKind kind, const std::string& detail,
                                      bool retryable) {
  connection_ = nullptr;
  if (retryable && !retried_ && idempotent(ctx_->request->method)) {
    retried_ = true;  // a stale pooled connection; try once on a new one
    dispatch();
    return;
  }
  sink_->on_answer_failed(failure_of(kind, detail));
}

}  // namespace bordergate
