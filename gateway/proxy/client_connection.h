// One client connection: TLS, then a loop of requests on keep-alive. Each request is read
// whole, handed to the RequestFlow (the pipeline, the upstream exchange, the answer's check),
// and what the flow answers is written back, streamed or whole. The same loop serves both
// directions: an external server's connection (its requests go to the Core's pool) and the
// Core's outbound proxy connection once its tunnel front intercepted the tunnel (its requests are
// admitted by the tunnel and go to the tunnel's destination). The connection owns its
// per-request state (parser, RequestContext) and tears down in a fixed order: timer, upstream
// exchange, socket, then itself from the socket's close callback.
#pragma once

#include <memory>
#include <string>

#include "gateway/http/headers.h"
#include "gateway/http/request_parser.h"
#include "gateway/net/stream.h"
#include "gateway/outbound/proxy_listener.h"
#include "gateway/proxy/core_upstream.h"
#include "gateway/proxy/pipeline.h"
#include "gateway/proxy/remote_upstream.h"
#include "gateway/proxy/request_context.h"
#include "gateway/proxy/request_flow.h"
#include "gateway/proxy/tunnel_front.h"
#include "gateway/proxy/tunnel_requests.h"

namespace bordergate {

class Worker;

class ClientConnection final : public StreamHandler,
                               private RequestFlow::Client,
                               private TunnelFront::Owner {
 public:
  // `outbound`: set for the Core's proxy listeners, whose connections start with a tunnel front
  // (tunnel_front.h); `listener` says which one.
  ClientConnection(Worker& worker, size_t listener_index, OutboundServices* outbound = nullptr,
                   outbound::ProxyListener listener = outbound::ProxyListener::connect);
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Takes the pending connection from `server`; false if that failed (the
  // connection then closes itself).
  bool accept(uv_stream_t* server);
  // Graceful shutdown: close now if between requests, else after this one.
  void drain();
  // Immediate shutdown.
  void abort();

  // Intrusive list of the worker's connections.
  ClientConnection* prev = nullptr;
  ClientConnection* next = nullptr;

  // StreamHandler
  void on_stream_tls_ready() override;
  void on_stream_data(const char* data, size_t len) override;
  void on_stream_end(int uv_status, bool tls_failure) override;
  void on_stream_drained() override;
  void on_stream_closed() override;

 private:
  enum class State {
    front_tls,  // a TLS proxy listener: the handshake of the proxy's own TLS
    front,      // the tunnel front: before the tunnel is intercepted, spliced or refused
    handshake,  // TLS not yet established
    idle,       // between requests (keep-alive), no byte of the next one yet
    reading,    // request head or body arriving
    in_flight,  // the request is with the flow (phases, upstream, answer): flow_.state()
    closing
  };
  static void on_timer(void* self);
  bool accept_outbound();
  void process_input(const char* data, size_t len);
  void start_request();
  // Answers (and closes) a request refused before it was read whole; audited where judged.
  void refuse_unread(const GatewayError& error);
  void finish_request();
  void next_request();
  void close_now();
  void arm_timer(Millis timeout);
  const LimitsConfig& limits() const;
  void record_request();
  // RequestFlow::Client
  void answer_error(const GatewayError& error, bool close_after) override;
  void answer_head(const HttpResponseHead& head) override;
  void answer_body(std::string_view data) override;
  void answer_flush() override;
  void answer_end() override;
  // A whole answer (held, judged): its headers but their framing, with the gateway's own
  // Content-Length; the body follows in pieces as the client reads (write_held_body).
  void answer_whole(const HttpResponseHead& held, std::shared_ptr<const std::string> body,
                    BudgetLease lease) override;
  // Queues the held body's next pieces while the client keeps up; once all is queued, the
  // request is finished and the body and its charge let go.
  void write_held_body();
  void answer_cut() override;
  void awaiting_keys(bool waiting) override;
  // TunnelFront::Owner
  void front_write(std::string_view data) override;
  void front_read(bool reading) override;
  std::size_t front_queued() const override { return stream_.bytes_in_flight(); }
  void front_intercept(SSL_CTX* ctx, std::string_view first_bytes) override;
  void front_close(bool graceful) override;
  void front_activity() override;

  Worker& worker_;
  size_t listener_index_;
  std::shared_ptr<const Runtime> runtime_;  // the snapshot the connection started with
  Stream stream_;
  Timer timer_;
  RequestParser parser_;
  RequestContext ctx_;
  std::string client_ip_;
  std::string pending_input_;  // bytes of a pipelined next request
  CoreUpstream core_;
  RequestFlow flow_;  // to the Core, or to the intercepted tunnel's destination
  // The Core's proxy connections: their settings (taken at accept), the tunnel front, and once
  // intercepted, the admission of its requests and their upstream.
  OutboundServices* outbound_ = nullptr;
  std::shared_ptr<const OutboundSettings> outbound_settings_;
  outbound::ProxyListener listener_ = outbound::ProxyListener::connect;
  std::unique_ptr<TunnelFront> front_;
  std::unique_ptr<TunnelRequests> tunnel_requests_;
  std::unique_ptr<RemoteUpstream> remote_;
  State state_ = State::handshake;
  BodyFraming framing_ = BodyFraming::none;
  bool close_after_response_ = false;
  bool draining_ = false;
  bool continue_sent_ = false;
  bool waiting_drain_ = false;
  // A held answer's body on its way out (answer_whole), how much of it is queued, and its
  // charge to the buffer budget: at most kHighWater more of it is ever in the socket's queue.
  std::shared_ptr<const std::string> held_body_;
  std::size_t held_sent_ = 0;
  BudgetLease held_lease_;
  bool counted_ = false;
  bool peer_eof_ = false;  // the client half-closed while a request was in flight
  bool dispatching_ = false;
  bool resume_after_dispatch_ = false;
};

}  // namespace bordergate
