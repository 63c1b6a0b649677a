// The Core as the upstream of the requests of external servers: an exchange over one of the
// worker's keep-alive connections (upstream_pool.h), retried once on a fresh connection when a
// pooled one turns out stale before any answer byte and the method is idempotent.
#pragma once

#include "gateway/proxy/upstream.h"
#include "gateway/proxy/upstream_connection.h"

namespace bordergate {

class Worker;

class CoreUpstream final : public Upstream, private UpstreamClient {
 public:
  explicit CoreUpstream(Worker& worker) : worker_(worker) {}
  CoreUpstream(const CoreUpstream&) = delete;
  CoreUpstream& operator=(const CoreUpstream&) = delete;
  ~CoreUpstream() override { cancel(); }

  void send(RequestContext& ctx, AnswerSink& sink) override;
  void cancel() override;
  void pause_reading() override;
  void resume_reading() override;

 private:
  void dispatch();
  // UpstreamClient
  void on_upstream_head(HttpResponseHead& head) override;
  void on_upstream_body(const char* data, size_t len) override;
  void on_upstream_batch_end() override;
  void on_upstream_complete() override;
  void on_upstream_failed(UpstreamErrorKind kind, const std::string& detail,
                          bool retryable) override;

  Worker& worker_;
  RequestContext* ctx_ = nullptr;
  AnswerSink* sink_ = nullptr;
  UpstreamConnection* connection_ = nullptr;  // the exchange in flight
  bool retried_ = false;
};

}  // namespace bordergate
