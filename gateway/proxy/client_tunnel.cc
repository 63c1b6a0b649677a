// ClientConnection as the Core's side of a proxy tunnel (gateway/proxy/proxy_tunnel.h): an
// intercepted request goes out through the tunnel's HTTPS client, its answer comes back only
// after the tunnel checked it, and the tunnel drives this connection's TLS, closing and idle
// timer through ProxyTunnel::Owner. The rest of the class (accepting, reading requests, the
// phases, the upstream exchange, closing) is client_connection.cc.
#include <memory>
#include <string>

#include "gateway/common/log.h"
#include "gateway/http/message.h"
#include "gateway/inbound/inbound_services.h"
#include "gateway/outbound/response_check.h"
#include "gateway/proxy/client_connection.h"
#include "gateway/proxy/proxy_tunnel.h"
#include "gateway/proxy/worker.h"

namespace bordergate {

void ClientConnection::forward_outbound() {
  state_ = State::forwarding;
  outbound_pending_ = true;
  // The tunnel drops its callback when it goes away with this connection; the HTTPS client
  // bounds the exchange by its own deadlines.
  tunnel_->forward(parser_.request(), [this](Result<discovery::OutboundResponse> r) {
    outbound_pending_ = false;
    if (state_ != State::forwarding) return;
    if (!r) {
      log_event(LogLevel::warn, "outbound_forward_failed",
                {{"error", r.error().code}, {"detail", r.error().message}});
      ctx_.outcome = "upstream_error";
      const bool timeout = r.error().code == "timeout";
      respond_error(GatewayError{timeout ? 504 : 502, "M_UNKNOWN",
                                 r.error().code == "body_too_large"
                                     ? "The destination's response exceeds the gateway's limit"
                                     : "The destination server could not be reached"},
                    close_after_response_);
      return;
    }
    auto answer = std::make_shared<const discovery::OutboundResponse>(std::move(*r));
    tunnel_->check_answer(ctx_, answer, [this, answer](outbound::ResponseCheck c) {
      if (state_ != State::forwarding) return;
      respond_outbound(*answer, std::move(c));
    });
  });
}

void ClientConnection::respond_outbound(const discovery::OutboundResponse& answer,
                                        outbound::ResponseCheck check) {
  inbound::InboundServices* services = ctx_.inbound.services;
  if (services != nullptr && ctx_.inbound.route &&
      outbound::response_needs_check(ctx_.inbound.route->endpoint)) {
    if (!check.learnt_room_version.empty() && services->room_versions) {
      services->room_versions->learn(ctx_.inbound.route->params.room_id, check.learnt_room_version);
    }
    // What the check did goes into the request's audit record (record_inbound) and counters.
    ctx_.inbound.response_note = outbound::audit_note(check);
    services->metrics.count_response(policy::endpoint_name(ctx_.inbound.route->endpoint),
                                     check.action == outbound::ResponseAction::pass ? "pass"
                                     : check.action == outbound::ResponseAction::filtered
                                         ? "filtered"
                                         : "refuse");
  }
  if (check.action == outbound::ResponseAction::refuse ||
      check.action == outbound::ResponseAction::need_keys) {
    log_event(LogLevel::warn, "outbound_answer_refused",
              {{"reason", check.reason}, {"error", check.error}});
    ctx_.outcome = "denied";
    ctx_.inbound.denial = check.reason;
    respond_error(GatewayError{check.status != 0 ? check.status : 502,
                               *check.errcode != '\0' ? check.errcode : "M_UNKNOWN",
                               check.error.empty() ? "The destination's answer failed the checks"
                                                   : check.error},
                  close_after_response_);
    return;
  }
  const bool filtered = check.action == outbound::ResponseAction::filtered;
  respond_whole(answer.status, answer.headers, filtered ? check.body : answer.body);
}

void ClientConnection::tunnel_start_tls(SSL_CTX* ctx, std::string_view first_bytes) {
  state_ = State::handshake;
  if (Status s = stream_.start_tls(ctx, true); !s) {
    log_event(LogLevel::error, "tls_setup_failed", {{"error", s.error().message}});
    close_now();
    return;
  }
  arm_timer(outbound_settings_->config->head_timeout);
  stream_.feed_received(first_bytes.data(), first_bytes.size());
}

void ClientConnection::tunnel_close(bool graceful) {
  if (!graceful) return close_now();
  state_ = State::closing;
  arm_timer(limits().body_timeout);
  stream_.close_gracefully();
}

void ClientConnection::tunnel_activity() { arm_timer(outbound_settings_->config->idle_timeout); }

}  // namespace bordergate
