#include "gateway/proxy/tunnel_front.h"

#include <span>

#include "gateway/common/log.h"
#include "gateway/enforcement/services.h"
#include "gateway/outbound/client_hello.h"
#include "gateway/outbound/connect_admission.h"
#include "gateway/outbound/connect_answer.h"
#include "gateway/outbound/connect_target.h"

namespace bordergate {
namespace {

constexpr std::string_view kBadHead =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view kNoPolicy =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TunnelFront::TunnelFront(Env env, OutboundServices& services,
                         std::shared_ptr<const OutboundSettings> settings, Owner& owner,
                         std::string client_ip, outbound::ProxyListener listener)
    : loop_(env.loop),
      services_(services),
      owner_(owner),
      destination_(std::make_shared<TunnelDestination>(std::move(settings), std::move(client_ip),
                                                       listener, std::move(env.resolver),
                                                       env.services)) {
  services_.metrics.connection_opened();
  if (listener == outbound::ProxyListener::direct) {
    direct_ = true;
    stage_ = Stage::gate;
  }
}

TunnelFront::~TunnelFront() { services_.metrics.connection_closed(); }

outbound::ProxyDecisionFacts TunnelFront::facts(std::string_view method,
                                                std::string_view endpoint) const {
  outbound::ProxyDecisionFacts f;
  f.client_ip = destination_->client_ip();
  f.method = method;
  f.target = head_target_;
  f.parsed = destination_->admitted() ? &destination_->target() : nullptr;
  f.endpoint = endpoint;
  return f;
}

void TunnelFront::decide(const outbound::ProxyDecisionFacts& f) {
  services_.metrics.decision(destination_->listener(), f.allowed, f.reason);
  destination_->audit(f);
}

void TunnelFront::on_proxy_tls_failed(std::string_view error) {
  stage_ = Stage::closed;
  outbound::ProxyDecisionFacts f = facts("TLS", "proxy_tls");
  f.target = {};
  f.rule_id = "proxy_tls";
  f.reason = "proxy_tls_failed";
  decide(f);
  log_event(LogLevel::info, "outbound_proxy_tls_failed",
            {{"client", destination_->client_ip()}, {"error", std::string(error.substr(0, 255))}});
}

void TunnelFront::on_client_bytes(const char* data, std::size_t len) {
  switch (stage_) {
    case Stage::head: {
      std::size_t consumed = 0;
      auto state = head_parser_.feed(std::string_view(data, len), consumed);
      if (state == outbound::ConnectHeadParser::State::kNeedMore) return;
      if (state == outbound::ConnectHeadParser::State::kError) return refuse_head();
      answer_head(std::string(data + consumed, len - consumed));
      return;
    }
    case Stage::gate:
      buffered_.append(data, len);
      run_gate();
      return;
    case Stage::splicing:
      splice_->on_client_bytes(data, len);
      return;
    case Stage::intercepted:
    case Stage::closed:
      return;
  }
}

void TunnelFront::refuse_head() {
  stage_ = Stage::closed;
  owner_.front_write(kBadHead);
  outbound::ProxyDecisionFacts f = facts(head_parser_.head().method, "connect");
  f.target = {};
  f.rule_id = "default";
  f.reason = "malformed_proxy_request";
  f.status = 400;
  decide(f);
  owner_.front_close(true);
}

void TunnelFront::answer_head(std::string rest) {
  std::shared_ptr<const policy::Policy> policy = destination_->policy_now();
  const OutboundSettings& settings = destination_->settings();
  const outbound::ConnectHead& head = head_parser_.head();
  head_target_ = head.target.substr(0, 255);
  outbound::ProxyRules rules{&*settings.credentials, policy.get(), &settings.egress,
                             &settings.guard, &settings.delegation};
  outbound::ConnectAnswer a;
  if (policy == nullptr) {
    a.status = 503;
    a.reason = "no_policy";
    a.rule_id = "default";
    a.response = std::string(kNoPolicy);
  } else {
    a = outbound::answer_connect(head, rules);
  }
  owner_.front_write(a.response);
  const std::string digest = policy != nullptr ? policy->sha256 : std::string();
  if (a.status == 200) destination_->admit(std::move(policy), *a.target, std::move(a.decision));
  outbound::ProxyDecisionFacts f = facts(head.method, "connect");
  f.policy_sha256 = digest;
  f.parsed = a.target ? &*a.target : nullptr;
  f.allowed = a.status == 200;
  f.rule_id = a.rule_id;
  f.reason = a.reason;
  f.status = a.status;
  decide(f);
  if (a.status != 200) {
    stage_ = Stage::closed;
    owner_.front_close(true);
    return;
  }
  stage_ = Stage::gate;
  buffered_ = std::move(rest);
  if (!buffered_.empty()) run_gate();
}

void TunnelFront::refuse_tunnel(std::string_view reason) {
  stage_ = Stage::closed;
  outbound::ProxyDecisionFacts f = facts(direct_ ? "TLS" : "CONNECT", "tunnel");
  f.rule_id = reason == "ssrf_refused" ? "ssrf" : "tunnel_gate";
  f.reason = reason;
  decide(f);
  log_event(LogLevel::info, "outbound_tunnel_closed",
            {{"client", destination_->client_ip()}, {"target", head_target_}, {"reason", reason}});
  owner_.front_close(false);
}

void TunnelFront::on_timeout() {
  if (stage_ == Stage::gate || (stage_ == Stage::splicing && !splice_->connected())) {
    refuse_tunnel("tunnel_timeout");
  }
}

void TunnelFront::run_gate() {
  if (direct_ && !destination_->admitted() && !admit_direct()) return;
  if (destination_->kind() == outbound::TunnelKind::kPendingDelegation) {
    return run_delegated_gate();
  }
  if (!passed(outbound::gate_tunnel(destination_->target(), as_bytes(buffered_)))) return;
  if (destination_->kind() == outbound::TunnelKind::kEgressTunnel) {
    stage_ = Stage::splicing;
    Splice::Owner& owner = *this;
    splice_ = std::make_unique<Splice>(*destination_, loop_, services_.metrics, owner);
    splice_->start(std::move(buffered_));
    buffered_.clear();
    return;
  }
  intercept(destination_->target().name);
}

bool TunnelFront::passed(const outbound::TunnelGateVerdict& v) {
  if (v.action == outbound::TunnelGateVerdict::Action::kNeedMore) {
    if (buffered_.size() > kMaxGateBytes) refuse_tunnel("client_hello_too_large");
    return false;
  }
  if (v.action == outbound::TunnelGateVerdict::Action::kClose) {
    std::string reason = v.reason;  // refuse_tunnel may end this front's stage
    refuse_tunnel(reason);
    return false;
  }
  return true;
}

void TunnelFront::intercept(const discovery::ServerName& leaf_name) {
  auto ctx =
      destination_->settings().minter->context_for(leaf_name, std::chrono::system_clock::now());
  if (!ctx) {
    log_event(LogLevel::error, "outbound_leaf_failed", {{"error", ctx.error().message}});
    refuse_tunnel("leaf_unavailable");
    return;
  }
  leaf_context_ = std::move(*ctx);
  stage_ = Stage::intercepted;
  std::string first = std::move(buffered_);
  buffered_.clear();
  owner_.front_intercept(leaf_context_.get(), first);
}

void TunnelFront::run_delegated_gate() {
  outbound::TunnelGateVerdict v = outbound::gate_delegated_tunnel(as_bytes(buffered_));
  if (!passed(v)) return;
  // A leaf is minted only for a delegation host the operator listed or a federation member
  // (SRV without well-known: the SNI is the member itself); whether this SNI is really the
  // destination's tls_name is decided at the first request (tunnel_requests.h).
  const OutboundSettings& settings = destination_->settings();
  auto name = discovery::parse_server_name(*v.server_name);
  bool plausible = settings.delegation.match(*v.server_name).has_value();
  if (!plausible && destination_->policy() != nullptr) {
    if (auto as_target = outbound::parse_connect_target(name->host + ":8448")) {
      plausible = outbound::admit_connect(*destination_->policy(), settings.egress, settings.guard,
                                          *as_target)
                      .kind == outbound::TunnelKind::kFederation;
    }
  }
  if (!plausible) {
    refuse_tunnel("sni_not_delegation_host");
    return;
  }
  destination_->sni = *v.server_name;
  intercept(*name);
}

void TunnelFront::refuse_direct(std::string_view rule_id, std::string_view reason,
                                const outbound::ConnectTarget* parsed,
                                std::string_view policy_sha256) {
  stage_ = Stage::closed;
  outbound::ProxyDecisionFacts f = facts("TLS", "direct");
  if (parsed != nullptr) f.parsed = parsed;
  f.policy_sha256 = policy_sha256;
  f.rule_id = rule_id;
  f.reason = reason;
  decide(f);
  log_event(LogLevel::info, "outbound_direct_refused",
            {{"client", destination_->client_ip()}, {"sni", head_target_}, {"reason", reason}});
  owner_.front_close(false);  // nothing to answer: the Core sees its handshake fail
}

bool TunnelFront::admit_direct() {
  // The SNI is the only statement of where the Core wants to go: the gate of a delegated tunnel
  // asks exactly what direct mode needs (a ClientHello whose SNI is a DNS name without port; an
  // IP literal is never an SNI, RFC 6066), and plain HTTP is turned away after its first byte.
  outbound::TunnelGateVerdict v = outbound::gate_delegated_tunnel(as_bytes(buffered_));
  if (v.server_name) head_target_ = v.server_name->substr(0, 255);
  if (v.action == outbound::TunnelGateVerdict::Action::kNeedMore) {
    if (buffered_.size() > kMaxGateBytes) refuse_direct("tunnel_gate", "client_hello_too_large");
    return false;
  }
  if (v.action == outbound::TunnelGateVerdict::Action::kClose) {
    refuse_direct("tunnel_gate", v.reason);
    return false;
  }
  // The Core dialled port 8448 of the name it resolved to this listener (no SRV, no
  // delegation: docs/deployment.md), so the destination is the server name the SNI carries.
  auto target = outbound::parse_connect_target(*v.server_name + ":8448");
  if (!target || target->name.is_ip_literal()) {
    refuse_direct("tunnel_gate", "sni_invalid");
    return false;
  }
  std::shared_ptr<const policy::Policy> policy = destination_->policy_now();
  if (policy == nullptr) {
    refuse_direct("default", "no_policy");
    return false;
  }
  const OutboundSettings& settings = destination_->settings();
  outbound::ConnectDecision decision =
      outbound::admit_connect(*policy, settings.egress, settings.guard, *target);
  if (decision.kind != outbound::TunnelKind::kFederation) {
    // Egress (push gateways, previews) goes through the CONNECT listener, whose entries name
    // their ports; direct mode only ever reaches federation members.
    refuse_direct(decision.rule_id, decision.allowed() ? "direct_not_federation" : decision.reason,
                  &*target, policy->sha256);
    return false;
  }
  destination_->admit(std::move(policy), std::move(*target), std::move(decision));
  outbound::ProxyDecisionFacts f = facts("TLS", "direct");
  f.allowed = true;
  f.rule_id = destination_->decision().rule_id;
  f.reason = destination_->decision().reason;
  decide(f);
  return true;
}

void TunnelFront::splice_ended() {
  stage_ = Stage::closed;
  owner_.front_close(true);
}

void TunnelFront::on_client_end() {
  if (splice_) splice_->on_client_end();
  stage_ = Stage::closed;
}

void TunnelFront::on_client_drained() {
  if (stage_ == Stage::splicing) splice_->on_client_drained();
}

}  // namespace bordergate
