// The front of one outbound proxy connection (docs/outbound.md), everything before the Core's
// first HTTP request inside the tunnel: the CONNECT head and its answer (or, in direct mode, the
// ClientHello whose SNI names the destination), admission by the policy, the egress allow list
// and the SSRF guard, and the ClientHello/SNI gate on the first tunnel bytes. It ends in one of
// three ways: the tunnel is refused (audited, closed), spliced unread to an egress destination
// (splice.h), or intercepted: TLS is terminated with a minted leaf and the connection's request
// loop serves the tunnel through the same pipeline as inbound requests (tunnel_requests.h,
// remote_upstream.h). This is the only place that knows the CONNECT method.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/net/openssl_ptr.h"
#include "gateway/outbound/client_hello.h"
#include "gateway/outbound/connect_head.h"
#include "gateway/outbound/proxy_listener.h"
#include "gateway/proxy/outbound_services.h"
#include "gateway/proxy/splice.h"
#include "gateway/proxy/tunnel_destination.h"

namespace bordergate {

class TunnelFront final : private Splice::Owner {
 public:
  // What the front asks of the connection that owns the Core's socket.
  class Owner {
   public:
    // Bytes to the Core (an answer to its head, spliced bytes), sent at once.
    virtual void front_write(std::string_view data) = 0;
    // Backpressure of a splice: stop or resume reading the Core's socket.
    virtual void front_read(bool reading) = 0;
    // Bytes written to the Core but not yet sent.
    virtual std::size_t front_queued() const = 0;
    // Terminate TLS on the Core's socket with `ctx`; `first_bytes` (the checked ClientHello and
    // anything after it) were already read and go to the TLS session first. Requests follow.
    virtual void front_intercept(SSL_CTX* ctx, std::string_view first_bytes) = 0;
    // Close the Core's socket: after the queued answer (graceful) or at once.
    virtual void front_close(bool graceful) = 0;
    // Some byte moved through a splice: the idle deadline starts again.
    virtual void front_activity() = 0;

   protected:
    ~Owner() = default;
  };

  // Where the front runs: the worker's loop (a splice's dial timer), its discovery, and the
  // process's enforcement services (policy, audit log; null without a policy).
  struct Env {
    uv_loop_t* loop = nullptr;
    TunnelDestination::Resolver resolver;
    enforcement::EnforcementServices* services = nullptr;
  };

  // `settings`: the outbound settings in force when the connection was accepted. Direct mode
  // has no head: the first bytes are the ClientHello.
  TunnelFront(Env env, OutboundServices& services, std::shared_ptr<const OutboundSettings> settings,
              Owner& owner, std::string client_ip, outbound::ProxyListener listener);
  ~TunnelFront();
  TunnelFront(const TunnelFront&) = delete;
  TunnelFront& operator=(const TunnelFront&) = delete;

  // Bytes from the Core before TLS termination: the head, the gate, the splice.
  void on_client_bytes(const char* data, std::size_t len);
  // The Core's socket ended (splice: the destination is closed too).
  void on_client_end();
  // The Core's socket drained its queued writes (splice backpressure).
  void on_client_drained();
  // A deadline of the owner passed before TLS: audited as a timeout.
  void on_timeout();
  // The TLS listener's own handshake failed (bytes that are not TLS, a client that does not
  // trust the proxy certificate): audited, and the owner closes the connection.
  void on_proxy_tls_failed(std::string_view error);

  // The admitted destination, shared with what serves an intercepted tunnel.
  const std::shared_ptr<TunnelDestination>& destination() const { return destination_; }

 private:
  enum class Stage { head, gate, splicing, intercepted, closed };
  // The ClientHello may span records up to 64 KiB (client_hello.h) plus one record header.
  static constexpr std::size_t kMaxGateBytes = 64 * 1024 + 16 * 1024 + 5;

  void answer_head(std::string rest);
  void refuse_head();
  void run_gate();
  // The gate's verdict on the bytes so far: true when the ClientHello passed; false while more
  // bytes are needed (refused past kMaxGateBytes) or after the tunnel was refused.
  bool passed(const outbound::TunnelGateVerdict& v);
  // Pending-delegation tunnels: any SNI on the operator's delegation hosts or of a federation
  // member; which member the tunnel serves is bound at its first request.
  void run_delegated_gate();
  // Direct mode: parses the ClientHello in buffered_ and admits its SNI; false while more bytes
  // are needed or after the connection was refused (audited, closed).
  bool admit_direct();
  // `parsed`: the SNI's target, when it parsed but was not admitted; `policy_sha256`: the policy
  // that refused it, when one did.
  void refuse_direct(std::string_view rule_id, std::string_view reason,
                     const outbound::ConnectTarget* parsed = nullptr,
                     std::string_view policy_sha256 = {});
  void refuse_tunnel(std::string_view reason);
  void intercept(const discovery::ServerName& leaf_name);
  // Counted and audited.
  void decide(const outbound::ProxyDecisionFacts& facts);
  outbound::ProxyDecisionFacts facts(std::string_view method, std::string_view endpoint) const;
  // Splice::Owner
  void splice_refused(std::string_view reason) override { refuse_tunnel(reason); }
  void splice_activity() override { owner_.front_activity(); }
  void splice_ended() override;
  void splice_to_client(std::string_view data) override { owner_.front_write(data); }
  void splice_read_client(bool reading) override { owner_.front_read(reading); }
  std::size_t splice_client_queued() const override { return owner_.front_queued(); }

  uv_loop_t* loop_;
  OutboundServices& services_;  // metrics
  Owner& owner_;
  std::shared_ptr<TunnelDestination> destination_;
  Stage stage_ = Stage::head;
  bool direct_ = false;
  outbound::ConnectHeadParser head_parser_;
  std::string head_target_;  // the CONNECT request-target or the SNI as received (for audit)
  std::string buffered_;     // tunnel bytes read before the gate decided
  SslCtxPtr leaf_context_;
  std::unique_ptr<Splice> splice_;
};

}  // namespace bordergate
