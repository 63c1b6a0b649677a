// ProxyTunnel's pending-delegation path (docs/outbound.md, "Delegated destinations"): Synapse
// CONNECTs to the SRV target or delegated host it found itself. The gateway forwards nothing
// until the first request's X-Matrix destination is a federation member whose discovery, run by
// the gateway (SSRF guard, static routes), yields this CONNECT target, SNI and Host; it then
// forwards to what that discovery found, never to the CONNECT host as such.
#include <memory>
#include <span>

#include "gateway/common/ascii.h"
#include "gateway/common/log.h"
#include "gateway/inbound/classifier.h"
#include "gateway/inbound/inbound_services.h"
#include "gateway/outbound/client_hello.h"
#include "gateway/proxy/proxy_tunnel.h"
#include "gateway/proxy/worker.h"

namespace bordergate {
namespace {

outbound::BindingFailure binding_failure(int status, const char* code, std::string message) {
  const std::string_view errcode = status == 400   ? "M_UNKNOWN"
                                   : status == 401 ? "M_UNAUTHORIZED"
                                   : status == 403 ? "M_FORBIDDEN"
                                                   : "M_UNKNOWN";
  return outbound::BindingFailure{status, errcode, make_error(code, std::move(message))};
}

}  // namespace

void ProxyTunnel::run_delegated_gate() {
  auto bytes = std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(buffered_.data()), buffered_.size());
  outbound::TunnelGateVerdict v = outbound::gate_delegated_tunnel(bytes);
  if (v.action == outbound::TunnelGateVerdict::Action::kNeedMore) {
    if (buffered_.size() > 64 * 1024 + 16 * 1024 + 5) refuse_tunnel("client_hello_too_large");
    return;
  }
  if (v.action == outbound::TunnelGateVerdict::Action::kClose) {
    std::string reason = v.reason;
    refuse_tunnel(reason);
    return;
  }
  // A leaf is minted only for a delegation host the operator listed or a federation member
  // (SRV without well-known: the SNI is the member itself); whether this SNI is really the
  // destination's tls_name is decided at the first request.
  auto name = discovery::parse_server_name(*v.server_name);
  bool plausible = settings_->delegation.match(*v.server_name).has_value();
  if (!plausible && policy_ != nullptr) {
    if (auto as_target = outbound::parse_connect_target(name->host + ":8448")) {
      plausible =
          outbound::admit_connect(*policy_, settings_->egress, settings_->guard, *as_target).kind ==
          outbound::TunnelKind::kFederation;
    }
  }
  if (!plausible) {
    refuse_tunnel("sni_not_delegation_host");
    return;
  }
  auto ctx = settings_->minter->context_for(*name, std::chrono::system_clock::now());
  if (!ctx) {
    log_event(LogLevel::error, "outbound_leaf_failed", {{"error", ctx.error().message}});
    refuse_tunnel("leaf_unavailable");
    return;
  }
  sni_ = *v.server_name;
  leaf_context_ = std::move(*ctx);
  stage_ = Stage::intercepted;
  std::string first = std::move(buffered_);
  buffered_.clear();
  owner_.tunnel_start_tls(leaf_context_.get(), first);
}

PhaseResult ProxyTunnel::refuse_delegated(const outbound::BindingFailure& failure) {
  inner_.action = "deny";
  inner_.rule_id = "delegation_binding";
  inner_.reason = failure.error.code;
  // The code goes into the answer too: the Core's operator greps its logs for it.
  PhaseResult r = PhaseResult::respond(failure.status, failure.errcode.data(),
                                       failure.error.message + " (" + failure.error.code + ")");
  // A tunnel whose binding failed is dead: it answers this refusal and closes, so the Core opens
  // a new tunnel (its next CONNECT candidate) instead of queueing requests on a useless one.
  // Refusals of one request on a bound tunnel (destination_changed, a Host that differs) leave it
  // open.
  r.close_connection = delegation_failure_.has_value();
  return r;
}

void ProxyTunnel::audit_binding(const RequestContext& ctx, std::string_view host, bool bound,
                                std::string_view reason) {
  audit::AuditRecord rec;
  rec.direction = "outbound";
  rec.origin = settings_->core_server_name;
  rec.destination = claimed_destination_;       // the federation member (X-Matrix)
  rec.server_name = target_->name.authority();  // what the Core CONNECTed to
  rec.remote_addr = client_ip_;
  rec.method = ctx.request->method;
  rec.endpoint = "tunnel";
  rec.action = bound ? "forward" : "deny";
  rec.rule_id = "delegation_binding";
  rec.reason = std::string(reason);
  rec.note = "sni=" + sni_ + " host=" + std::string(host.substr(0, 255));
  note_listener(rec);
  if (const auto& rt = worker_.runtime(); rt && rt->inbound != nullptr && rt->inbound->audit) {
    rt->inbound->audit->submit(rec);
  }
}

PhaseResult ProxyTunnel::check_delegated_request(RequestContext& ctx) {
  ctx.direction = Direction::outbound;
  classify(ctx);
  inner_ = InnerDecision{};
  inner_.endpoint = "unknown";
  const HttpRequest& r = *ctx.request;
  std::vector<std::string_view> hosts, authorizations;
  for (const HeaderField& f : r.headers) {
    if (ascii_iequals(f.name, "host")) hosts.push_back(f.value);
    if (ascii_iequals(f.name, "authorization")) authorizations.push_back(f.value);
  }
  if (auto classified = inbound::classify_outbound_endpoint(r.method, r.target)) {
    inner_.endpoint = std::string(policy::endpoint_name(classified->endpoint));
    inner_.room_id = classified->params.room_id;
    inner_.user_id = classified->params.user_id;
    inner_.event_id = classified->params.event_id;
    inner_.server_name = classified->params.server_name;
    inner_.txn_id = classified->params.txn_id;
  }
  // A tunnel whose binding failed once serves nothing more (it closed after that answer; a
  // request already pipelined behind it gets the same refusal).
  if (delegation_failure_) return refuse_delegated(*delegation_failure_);

  // Every request is signed here (Synapse signs key requests too): the destination it claims is
  // the only member this tunnel may serve.
  outbound::DestinationClaim claim =
      outbound::claimed_destination(authorizations, settings_->core_server_name);
  if (claim.failure) return refuse_delegated(*claim.failure);
  if (claimed_destination_.empty()) {
    auto as_target = outbound::parse_connect_target(claim.destination + ":8448");
    outbound::ConnectDecision member;
    if (as_target && policy_ != nullptr) {
      member = outbound::admit_connect(*policy_, settings_->egress, settings_->guard, *as_target);
    }
    claimed_destination_ = claim.destination;
    if (member.kind != outbound::TunnelKind::kFederation) {
      delegation_failure_ = binding_failure(403, "destination_not_member",
                                            "X-Matrix destination is not an allowed federation "
                                            "member (" +
                                                std::string(member.reason) + ")");
      return refuse_delegated(*delegation_failure_);
    }
  } else if (!ascii_iequals(claim.destination, claimed_destination_)) {
    return refuse_delegated(binding_failure(
        403, "destination_changed", "this tunnel is bound to another X-Matrix destination"));
  }

  if (!resolved_) {
    // The gateway's own discovery of the member, once per tunnel; the request waits for it.
    if (delegation_resolving_) return PhaseResult::suspend();
    delegation_resolving_ = true;
    auto in_call = std::make_shared<bool>(true);
    RequestContext* request = &ctx;
    resolve_destination([this, in_call, request](Result<discovery::ResolvedServer> result) {
      delegation_resolving_ = false;
      if (!result) {
        delegation_failure_ = binding_failure(
            502, "destination_unresolved",
            "discovery of " + claimed_destination_ + " failed: " + result.error().code);
      }
      if (!*in_call && request->resume) request->resume();
    });
    *in_call = false;
    if (delegation_resolving_) return PhaseResult::suspend();
    if (delegation_failure_) return refuse_delegated(*delegation_failure_);
  }

  if (auto failure = outbound::check_delegated_tunnel(*target_, sni_, hosts, *resolved_)) {
    if (!delegation_bound_) {
      delegation_failure_ = *failure;
      log_event(LogLevel::info, "outbound_delegation_refused",
                {{"destination", claimed_destination_},
                 {"connect", target_->name.authority()},
                 {"reason", failure->error.code}});
    }
    return refuse_delegated(*failure);
  }
  if (!delegation_bound_) {
    delegation_bound_ = true;
    audit_binding(ctx, hosts.front(), true, "delegation_bound");
  }
  // Bound: the request walks the outbound phases towards the member, like any federation one.
  ctx.inbound.services = worker_.runtime()->inbound;
  ctx.inbound.direction = policy::Direction::outbound;
  ctx.inbound.destination = claimed_destination_;
  ctx.inbound.listener = outbound::audited_listener(listener_);
  inner_ = InnerDecision{};
  return run_request_phases(ctx);
}

}  // namespace bordergate
