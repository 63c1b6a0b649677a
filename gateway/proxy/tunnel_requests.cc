#include "gateway/proxy/tunnel_requests.h"

#include <vector>

#include "gateway/common/ascii.h"
#include "gateway/common/log.h"
#include "gateway/enforcement/classifier.h"
#include "gateway/enforcement/services.h"
#include "gateway/outbound/connect_admission.h"
#include "gateway/outbound/delegation_binding.h"
#include "policy/endpoint.h"

namespace bordergate {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The errcode of a refusal by status: 401 M_UNAUTHORIZED, 403 M_FORBIDDEN, else M_UNKNOWN.
const char* errcode_for(int status) {
  return status == 401 ? "M_UNAUTHORIZED" : status == 403 ? "M_FORBIDDEN" : "M_UNKNOWN";
}

outbound::BindingFailure binding_failure(int status, const char* code, std::string message) {
  return outbound::BindingFailure{status, errcode_for(status),
                                  make_error(code, std::move(message))};
}

struct RequestHeaders {
  std::vector<std::string_view> hosts, authorizations;
};

RequestHeaders binding_headers(const HttpRequest& r) {
  RequestHeaders h;
  for (const HeaderField& f : r.headers) {
    if (ascii_iequals(f.name, "host")) h.hosts.push_back(f.value);
    if (ascii_iequals(f.name, "authorization")) h.authorizations.push_back(f.value);
  }
  return h;
}

}  // namespace

enforcement::AdmissionVerdict TunnelRequests::verdict(const RequestContext& ctx,
                                                      std::string endpoint) const {
  enforcement::AdmissionVerdict v;
  v.endpoint = std::move(endpoint);
  v.origin = destination_->settings().core_server_name;
  v.destination = destination_->matrix_destination();
  v.server_name = destination_->target().name.authority();
  // Classified first so that even a binding refusal is audited under its endpoint name.
  if (v.endpoint == "unknown") {
    if (auto c =
            enforcement::classify_outbound_endpoint(ctx.request->method, ctx.request->target)) {
      v.endpoint = std::string(policy::endpoint_name(c->endpoint));
      v.params = c->params;
    }
  }
  return v;
}

Outcome TunnelRequests::admit(RequestContext& ctx) {
  ctx.judged.direction = policy::Direction::outbound;
  ctx.judged.listener = destination_->audited_listener();
  const outbound::TunnelKind kind = destination_->kind();
  const bool federation = kind != outbound::TunnelKind::kEgressIntercept;
  if (kind == outbound::TunnelKind::kPendingDelegation) return admit_delegated(ctx);

  const HttpRequest& r = *ctx.request;
  const RequestHeaders h = binding_headers(r);
  // Requests under /_matrix/federation/ are X-Matrix signed; key and well-known fetches are not.
  const bool signed_path = federation && starts_with(r.target, "/_matrix/federation/");
  if (auto failure = outbound::check_tunnel_request(destination_->target(), signed_path,
                                                    destination_->settings().core_server_name,
                                                    h.hosts, h.authorizations)) {
    return refuse(ctx, federation ? "unknown" : "egress", "tunnel_binding", *failure);
  }
  if (!federation) {
    enforcement::AdmissionVerdict v = verdict(ctx, "egress");
    v.action = "forward";
    v.rule_id = destination_->decision().rule_id;
    v.reason = "egress_intercept";
    ctx.judged.admission = std::move(v);
    return Outcome::proceed();
  }
  return judge(ctx, destination_->target().matrix_server_name());
}

Outcome TunnelRequests::judge(RequestContext& ctx, std::string destination) {
  // Federation requests walk the enforcement phases with a direction (classify, authenticate:
  // X-Matrix bound to the Core and the tunnel, authorize towards the destination, inspect /send
  // with quarantine); record() then writes their audit record.
  ctx.judged.services = ctx.runtime->enforcement;
  ctx.judged.destination = std::move(destination);
  return Outcome::proceed();
}

Outcome TunnelRequests::refuse(RequestContext& ctx, std::string endpoint, std::string_view rule_id,
                               const outbound::BindingFailure& failure) {
  // A refused request is never classified by the phases: its record names the endpoint here.
  enforcement::AdmissionVerdict v = verdict(ctx, std::move(endpoint));
  v.action = "deny";
  v.rule_id = std::string(rule_id);
  v.reason = failure.error.code;
  ctx.judged.admission = std::move(v);
  const bool delegation = rule_id == "delegation_binding";
  // The code goes into a delegation refusal's answer too: the Core's operator greps its logs.
  Outcome r = delegation ? Outcome::respond(failure.status, failure.errcode.data(),
                                            failure.error.message + " (" + failure.error.code + ")")
                         : Outcome::respond(failure.status, errcode_for(failure.status),
                                            failure.error.message);
  // A delegated tunnel whose binding failed is dead: it answers this refusal and closes, so the
  // Core opens a new tunnel (its next CONNECT candidate) instead of queueing requests on a
  // useless one. Refusals of one request on a bound tunnel (destination_changed, a Host that
  // differs) leave it open.
  r.close_connection = delegation && failure_.has_value();
  return r;
}

Outcome TunnelRequests::admit_delegated(RequestContext& ctx) {
  const RequestHeaders h = binding_headers(*ctx.request);
  // A tunnel whose binding failed once serves nothing more (it closed after that answer; a
  // request already pipelined behind it gets the same refusal).
  if (failure_) return refuse(ctx, "unknown", "delegation_binding", *failure_);

  // Every request is signed here (Synapse signs key requests too): the destination it claims is
  // the only member this tunnel may serve.
  const OutboundSettings& settings = destination_->settings();
  outbound::DestinationClaim claim =
      outbound::claimed_destination(h.authorizations, settings.core_server_name);
  if (claim.failure) return refuse(ctx, "unknown", "delegation_binding", *claim.failure);
  if (destination_->claimed_destination.empty()) {
    auto as_target = outbound::parse_connect_target(claim.destination + ":8448");
    outbound::ConnectDecision member;
    if (as_target && destination_->policy() != nullptr) {
      member = outbound::admit_connect(*destination_->policy(), settings.egress, settings.guard,
                                       *as_target);
    }
    destination_->claimed_destination = claim.destination;
    if (member.kind != outbound::TunnelKind::kFederation) {
      failure_ = binding_failure(403, "destination_not_member",
                                 "X-Matrix destination is not an allowed federation member (" +
                                     std::string(member.reason) + ")");
      return refuse(ctx, "unknown", "delegation_binding", *failure_);
    }
  } else if (!ascii_iequals(claim.destination, destination_->claimed_destination)) {
    return refuse(ctx, "unknown", "delegation_binding",
                  binding_failure(403, "destination_changed",
                                  "this tunnel is bound to another X-Matrix destination"));
  }

  if (!destination_->resolved()) {
    // The gateway's own discovery of the member, once per tunnel; the request waits for it and
    // is admitted again when it resumes.
    if (resolving_) return Outcome::suspend();
    resolving_ = true;
    auto in_call = std::make_shared<bool>(true);
    std::weak_ptr<int> alive = ctx.judged.alive;
    RequestContext* request = &ctx;
    destination_->resolve([this, in_call, alive, request](Result<discovery::ResolvedServer> r) {
      resolving_ = false;
      if (!r) {
        failure_ = binding_failure(
            502, "destination_unresolved",
            "discovery of " + destination_->claimed_destination + " failed: " + r.error().code);
      }
      if (!*in_call && !alive.expired() && request->resume) request->resume();
    });
    *in_call = false;
    if (resolving_) return Outcome::suspend();
    if (failure_) return refuse(ctx, "unknown", "delegation_binding", *failure_);
  }

  if (auto failure = outbound::check_delegated_tunnel(destination_->target(), destination_->sni,
                                                      h.hosts, *destination_->resolved())) {
    if (!bound_) {
      failure_ = *failure;
      log_event(LogLevel::info, "outbound_delegation_refused",
                {{"destination", destination_->claimed_destination},
                 {"connect", destination_->target().name.authority()},
                 {"reason", failure->error.code}});
    }
    return refuse(ctx, "unknown", "delegation_binding", *failure);
  }
  if (!bound_) {
    bound_ = true;
    // The binding itself is a decision about the tunnel: one record, endpoint `tunnel`.
    const std::string note =
        "sni=" + destination_->sni + " host=" + std::string(h.hosts.front().substr(0, 255));
    outbound::ProxyDecisionFacts f;
    f.client_ip = destination_->client_ip();
    f.method = ctx.request->method;
    f.parsed = &destination_->target();
    f.origin = settings.core_server_name;
    f.destination = destination_->claimed_destination;
    f.endpoint = "tunnel";
    f.allowed = true;
    f.rule_id = "delegation_binding";
    f.reason = "delegation_bound";
    f.note = note;
    destination_->audit(f);
  }
  // Bound: the request walks the outbound phases towards the member, like any federation one.
  return judge(ctx, destination_->claimed_destination);
}

void TunnelRequests::refuse_unread(RequestContext& ctx, std::string_view reason,
                                   std::string_view detail) {
  ctx.judged.direction = policy::Direction::outbound;
  ctx.judged.listener = destination_->audited_listener();
  enforcement::AdmissionVerdict v = verdict(ctx, "unrecognized");
  v.action = "deny";
  v.reason = std::string(reason);
  v.note = std::string(detail);
  ctx.judged.admission = std::move(v);
}

}  // namespace bordergate
