// The Core's side of one outbound proxy connection (docs/outbound.md): the CONNECT head with its
// answer and audit record, the ClientHello/SNI gate on the first tunnel bytes, then either a
// splice to the resolved, SSRF-guarded destination (egress `tunnel`) or TLS termination with a
// minted leaf, after which the owning ClientConnection runs its usual request loop and asks this
// object to bind, judge, forward (through the worker's discovery and verified HTTPS client) and
// audit each inner request.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/discovery/https_client.h"
#include "gateway/discovery/resolution.h"
#include "gateway/net/stream.h"
#include "gateway/outbound/connect_answer.h"
#include "gateway/outbound/connect_head.h"
#include "gateway/outbound/connect_record.h"
#include "gateway/outbound/delegation_binding.h"
#include "gateway/outbound/proxy_listener.h"
#include "gateway/outbound/response_check.h"
#include "gateway/proxy/outbound_services.h"
#include "gateway/proxy/pipeline.h"
#include "policy/policy.h"

namespace bordergate {

class Worker;

class ProxyTunnel final : public StreamHandler {
 public:
  // What the tunnel asks of the connection that owns the Core's socket.
  class Owner {
   public:
    // Terminate TLS on the Core's socket with `ctx`; `first_bytes` (the checked ClientHello and
    // anything after it) were already read and go to the TLS session first.
    virtual void tunnel_start_tls(SSL_CTX* ctx, std::string_view first_bytes) = 0;
    // Close the Core's socket: after the queued answer (graceful) or at once.
    virtual void tunnel_close(bool graceful) = 0;
    // Some byte moved through a splice: the idle deadline starts again.
    virtual void tunnel_activity() = 0;

   protected:
    ~Owner() = default;
  };

  // `listener`: where the Core's connection came in (metric label; every audit record of a
  // connection on the TLS listener or in direct mode says so, inner requests included). Direct
  // mode still starts with start_direct().
  // `settings`: the outbound settings in force when the connection was accepted.
  ProxyTunnel(Worker& worker, OutboundServices& services,
              std::shared_ptr<const OutboundSettings> settings, Stream& client, Owner& owner,
              std::string client_ip, outbound::ProxyListener listener);
  ~ProxyTunnel();
  ProxyTunnel(const ProxyTunnel&) = delete;
  ProxyTunnel& operator=(const ProxyTunnel&) = delete;

  // Direct mode (docs/outbound.md): called once before any byte. There is no CONNECT head: the
  // first bytes must be a TLS ClientHello whose SNI names the destination, admitted exactly as
  // a CONNECT to that name on port 8448 (federation destinations only).
  void start_direct();
  // Bytes from the Core before TLS termination: the CONNECT head, the gate, the splice.
  void on_client_bytes(const char* data, size_t len);
  // The Core's socket ended (splice: the destination is closed too).
  void on_client_end();
  // The Core's socket drained its queued writes (splice backpressure).
  void on_client_drained();
  // A deadline of the owner passed before TLS: audited as a timeout.
  void on_timeout();
  // The TLS listener's own handshake failed (bytes that are not TLS, a client that does not
  // trust the proxy certificate): audited, and the owner closes the connection.
  void on_proxy_tls_failed(std::string_view error);
  bool splicing() const { return stage_ == Stage::splicing; }

  // Intercepted tunnels, once per inner request: tunnel binding, classification and
  // policy::evaluate(Direction::outbound). proceed = forward; respond = the gateway answers.
  PhaseResult check_request(RequestContext& ctx);
  // An inner request refused while it was read (HTTP framing, a limit, a read timeout) never
  // reaches check_request; this notes the refusal for audit_request: `reason` (http_malformed,
  // http_too_large, ...) and the gateway's own text `detail`.
  void refuse_unread(RequestContext& ctx, std::string_view reason, std::string_view detail);
  // Resolves the destination (once per tunnel) and sends the request with the worker's verified
  // HTTPS client. `done` runs on the loop, never after this tunnel is gone.
  using ForwardDone = std::function<void(Result<discovery::OutboundResponse>)>;
  void forward(const HttpRequest& request, ForwardDone done);
  // What an external server answered a federation request is checked before the Core sees it
  // (outbound::check_response; missing keys are awaited through the key store first). Answers
  // of endpoints without events, and egress answers, pass unchecked. Large answers are checked
  // on the worker's thread pool (a 10,000-member send_join costs about a second of CPU), so the
  // worker's other connections go on meanwhile. `done` runs on the loop, never after this tunnel
  // is gone.
  using AnswerDone = std::function<void(outbound::ResponseCheck)>;
  void check_answer(RequestContext& ctx, std::shared_ptr<const discovery::OutboundResponse> answer,
                    AnswerDone done);
  // One audit record per inner request (direction outbound) that the inbound phases did not
  // record themselves (binding refusals, egress).
  void audit_request(const RequestContext& ctx);

  // StreamHandler of the destination socket (splice).
  void on_stream_connected(int status) override;
  void on_stream_data(const char* data, size_t len) override;
  void on_stream_end(int uv_status, bool tls_failure) override;
  void on_stream_drained() override;
  void on_stream_closed() override;

 private:
  enum class Stage { head, gate, resolving, splicing, intercepted, closed };
  // The ClientHello may span records up to 64 KiB (client_hello.h) plus one record header.
  static constexpr std::size_t kMaxGateBytes = 64 * 1024 + 16 * 1024 + 5;
  struct InnerDecision {
    std::string endpoint;
    std::string action;  // forward | deny
    std::string rule_id;
    std::string reason;
    std::string room_id, user_id, event_id, server_name, txn_id;
    std::string note;
  };

  void answer_head(std::string rest);
  void run_gate();
  void refuse_tunnel(std::string_view reason);
  // Direct mode: parses the ClientHello in buffered_ and admits its SNI; false while more bytes
  // are needed or after the connection was refused (audited, closed).
  bool admit_direct();
  void refuse_direct(std::string_view rule_id, std::string_view reason);
  void start_splice();
  void connect_next();
  static void on_dial_timeout(void* self);  // outbound.connect_timeout per splice target
  void audit(const outbound::ProxyDecisionFacts& facts);
  // Every record of this tunnel (admission, gate, inner requests) names the TLS listener or
  // direct mode (outbound::audited_listener).
  void note_listener(audit::AuditRecord& record) const;
  void resolve_destination(std::function<void(Result<discovery::ResolvedServer>)> done);
  struct AnswerJob;
  // Runs the check of `job` inline (small answers) or off the loop; `done` runs on the loop
  // while this tunnel is alive.
  void run_answer_job(std::shared_ptr<const AnswerJob> job, bool keys_awaited, AnswerDone done);
  // Pending-delegation tunnels (delegated_tunnel.cc): the gate takes any SNI on the operator's
  // delegation hosts; each inner request is bound to the gateway's own discovery of its X-Matrix
  // destination before anything is forwarded.
  void run_delegated_gate();
  PhaseResult check_delegated_request(RequestContext& ctx);
  PhaseResult refuse_delegated(const outbound::BindingFailure& failure);
  void audit_binding(const RequestContext& ctx, std::string_view host, bool bound,
                     std::string_view reason);

  Worker& worker_;
  OutboundServices& services_;                        // metrics
  std::shared_ptr<const OutboundSettings> settings_;  // this connection's, fixed at accept
  Stream& client_;
  Owner& owner_;
  std::string client_ip_;
  outbound::ProxyListener listener_;
  std::shared_ptr<const policy::Policy> policy_;  // snapshot taken at CONNECT
  Stage stage_ = Stage::head;
  bool direct_ = false;
  outbound::ConnectHeadParser head_parser_;
  std::string head_target_;  // the CONNECT request-target as received (for audit)
  std::optional<outbound::ConnectTarget> target_;
  outbound::ConnectDecision decision_;
  std::string buffered_;  // tunnel bytes read before the gate decided / the splice connected
  SslCtxPtr leaf_context_;
  std::optional<discovery::ResolvedServer> resolved_;
  std::unique_ptr<Stream> destination_;
  std::size_t next_target_ = 0;
  bool destination_connected_ = false;
  Timer dial_timer_;
  InnerDecision inner_;
  // Pending delegation: the SNI the Core sent, the destination its first request claimed (the
  // tunnel serves no other), whether the binding held, and why it failed (the tunnel is dead).
  std::string sni_;
  std::string claimed_destination_;
  bool delegation_resolving_ = false;
  bool delegation_bound_ = false;
  std::optional<outbound::BindingFailure> delegation_failure_;
  // Callbacks of the resolver and the HTTPS client hold a weak_ptr to this.
  std::shared_ptr<ProxyTunnel*> alive_;
};

}  // namespace bordergate
