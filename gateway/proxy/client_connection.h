// One connection from a federation peer: TLS, then a loop of requests on
// keep-alive. Each request is buffered whole, walks the pipeline, is forwarded
// over the worker's upstream pool and its response streamed back. The
// connection owns its per-request state (parser, RequestContext) and tears
// down in a fixed order: timer, upstream exchange, socket, then itself from
// the socket's close callback. The Core's proxy connections are ClientConnections too: their
// tunnel side is client_tunnel.cc.
#pragma once

#include <memory>
#include <string>

#include "gateway/http/headers.h"
#include "gateway/http/request_parser.h"
#include "gateway/net/stream.h"
#include "gateway/outbound/proxy_listener.h"
#include "gateway/proxy/pipeline.h"
#include "gateway/proxy/proxy_tunnel.h"
#include "gateway/proxy/request_context.h"
#include "gateway/proxy/upstream_connection.h"

namespace bordergate {

class Worker;

class ClientConnection final : public StreamHandler,
                               public UpstreamClient,
                               private ProxyTunnel::Owner {
 public:
  // `outbound`: set for the Core's proxy listeners (a CONNECT tunnel per connection, whose inner
  // requests go to external servers instead of the Core); `listener` says which one: plain
  // CONNECT, CONNECT inside the gateway's own TLS, or direct mode (no CONNECT: the ClientHello's
  // SNI names the destination).
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
  // UpstreamClient
  void on_upstream_head(HttpResponseHead& head) override;
  void on_upstream_body(const char* data, size_t len) override;
  void on_upstream_batch_end() override;
  void on_upstream_complete() override;
  void on_upstream_failed(UpstreamErrorKind kind, const std::string& detail,
                          bool retryable) override;

 private:
  enum class State {
    proxy_tls,   // outbound TLS proxy listener: the handshake of the proxy's own TLS
    tunnel,      // outbound proxy: CONNECT head, tunnel gate or splice (ProxyTunnel)
    handshake,   // TLS not yet established
    idle,        // between requests (keep-alive), no byte of the next one yet
    reading,     // request head or body arriving
    forwarding,  // waiting for Core's response head
    holding,     // reading Core's whole media answer, to judge it before the peer sees any
    responding,  // streaming Core's response
    closing
  };
  static void on_timer(void* self);
  void process_input(const char* data, size_t len);
  void start_request();
  void run_phases();
  void resume_request();
  void forward();
  void respond_error(const GatewayError& error, bool close_after);
  // Answers (and closes) a request refused before it was read whole; audited where judged.
  void refuse_unread(const GatewayError& error);
  void finish_request();
  void next_request();
  void close_now();
  void arm_timer(Millis timeout);
  const LimitsConfig& limits() const;
  void record_request();
  void forward_outbound();
  void respond_outbound(const discovery::OutboundResponse& answer, outbound::ResponseCheck check);
  // A whole answer read before it is sent (a checked outbound answer, a held media answer): the
  // headers but their framing, with the gateway's own Content-Length.
  template <typename Headers>
  void respond_whole(int status, const Headers& headers, std::string_view body);
  // The held media answer is complete or outgrew its limit: judged and answered.
  void finish_held_media();
  void refuse_held_media(std::uint64_t bytes);
  // ProxyTunnel::Owner
  void tunnel_start_tls(SSL_CTX* ctx, std::string_view first_bytes) override;
  void tunnel_close(bool graceful) override;
  void tunnel_activity() override;

  Worker& worker_;
  size_t listener_index_;
  std::shared_ptr<const Runtime> runtime_;  // the snapshot the connection started with
  Stream stream_;
  Timer timer_;
  RequestParser parser_;
  RequestContext ctx_;
  std::string client_ip_;
  std::string pending_input_;  // bytes of a pipelined next request
  UpstreamConnection* upstream_ = nullptr;
  OutboundServices* outbound_ = nullptr;
  std::shared_ptr<const OutboundSettings> outbound_settings_;  // taken at accept
  outbound::ProxyListener listener_ = outbound::ProxyListener::connect;
  std::unique_ptr<ProxyTunnel> tunnel_;  // outbound proxy connections only
  bool outbound_pending_ = false;        // an inner request is out with the external server
  State state_ = State::handshake;
  BodyFraming framing_ = BodyFraming::none;
  HttpResponseHead held_head_;  // State::holding: the Core's answer head, sent once judged
  bool close_after_response_ = false;
  bool draining_ = false;
  bool continue_sent_ = false;
  bool waiting_drain_ = false;
  bool counted_ = false;
  bool peer_eof_ = false;  // the client half-closed while a request was in flight
  bool dispatching_ = false;
  bool resume_after_dispatch_ = false;
};

}  // namespace bordergate
