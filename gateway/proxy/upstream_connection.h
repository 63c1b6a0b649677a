// One keep-alive connection to Core (plain or TLS). It carries one exchange
// at a time: the request is written whole, the response is parsed and handed
// to the UpstreamClient piece by piece. Between exchanges it waits in the
// worker's pool; it deletes itself once its socket is closed.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gateway/admin/metrics.h"
#include "gateway/http/response_parser.h"
#include "gateway/net/stream.h"
#include "gateway/proxy/runtime.h"

namespace bordergate {

class UpstreamPool;

// Receives the response of one exchange (implemented by ClientConnection).
class UpstreamClient {
 public:
  virtual void on_upstream_head(HttpResponseHead& head) = 0;
  virtual void on_upstream_body(const char* data, size_t len) = 0;
  // Called after each read from Core was parsed: the moment to flush.
  virtual void on_upstream_batch_end() = 0;
  virtual void on_upstream_complete() = 0;
  // `retryable`: the failure happened on a reused connection before any
  // response byte, so the request may be sent again on a fresh one.
  virtual void on_upstream_failed(UpstreamErrorKind kind, const std::string& detail,
                                  bool retryable) = 0;

 protected:
  ~UpstreamClient() = default;
};

class UpstreamConnection final : public StreamHandler, public ResponseSink {
 public:
  UpstreamConnection(UpstreamPool& pool, uv_loop_t* loop, std::shared_ptr<const Runtime> runtime);
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  const Runtime* runtime() const { return runtime_.get(); }
  bool reused() const { return exchanges_ > 0; }

  // Starts an exchange; head and body are copied before returning (the
  // client may be called back synchronously if the connection already failed).
  void send(std::string_view head, std::string_view body, bool head_request,
            UpstreamClient* client);
  // The client is gone mid-exchange: the connection cannot be reused.
  void detach();
  void pause_reading();
  void resume_reading();
  // Moves an idle connection into the pool's keep-alive state.
  void park();
  void close();

  // StreamHandler
  void on_stream_connected(int status) override;
  void on_stream_tls_ready() override;
  void on_stream_data(const char* data, size_t len) override;
  void on_stream_end(int uv_status, bool tls_failure) override;
  void on_stream_closed() override;
  // ResponseSink
  void on_response_head(HttpResponseHead& head) override;
  void on_response_body(const char* data, size_t len) override;
  void on_response_complete() override;

 private:
  enum class State { connecting, handshaking, ready, busy, idle, closed };
  static void on_timer(void* self);
  void connect();
  void ready();
  void finish_exchange();
  void fail(UpstreamErrorKind kind, const std::string& detail, bool retryable);

  UpstreamPool& pool_;
  std::shared_ptr<const Runtime> runtime_;
  Stream stream_;
  Timer timer_;
  ResponseParser parser_;
  State state_ = State::connecting;
  UpstreamClient* client_ = nullptr;
  std::string pending_request_;  // written once the connection is ready
  std::string connect_error_;    // a synchronous connect failure, reported by send()
  bool head_request_ = false;
  bool reading_ = true;
  unsigned exchanges_ = 0;
};

}  // namespace bordergate
