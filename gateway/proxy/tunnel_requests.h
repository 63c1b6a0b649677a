// The admission of each request inside an intercepted outbound tunnel (the admit phase,
// pipeline.h): the request must stay within what the tunnel's front admitted. Its Host and
// X-Matrix destination name the CONNECT target and its X-Matrix origin is the Core
// (outbound::check_tunnel_request); in a pending-delegation tunnel, the first request's X-Matrix
// destination must be a federation member whose discovery, run by the gateway, leads exactly to
// this tunnel (outbound::check_delegated_tunnel), and the tunnel serves no other member after.
// An admitted federation request is then judged by the same phases as an inbound one, with
// direction outbound; an egress request is forwarded unjudged and recorded.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "gateway/outbound/tunnel_binding.h"
#include "gateway/proxy/request_context.h"
#include "gateway/proxy/tunnel_destination.h"

namespace bordergate {

class TunnelRequests final : public RequestAdmission {
 public:
  explicit TunnelRequests(std::shared_ptr<TunnelDestination> destination)
      : destination_(std::move(destination)) {}

  Outcome admit(RequestContext& ctx) override;
  void refuse_unread(RequestContext& ctx, std::string_view reason,
                     std::string_view detail) override;

 private:
  // The verdict of a request the policy does not judge, named as the tunnel names it.
  enforcement::AdmissionVerdict verdict(const RequestContext& ctx, std::string endpoint) const;
  Outcome admit_delegated(RequestContext& ctx);
  // `endpoint`: "unknown" (named from the path when it is a catalogue endpoint) or "egress".
  Outcome refuse(RequestContext& ctx, std::string endpoint, std::string_view rule_id,
                 const outbound::BindingFailure& failure);
  // Judged by the phases from here on, towards `destination`.
  Outcome judge(RequestContext& ctx, std::string destination);

  std::shared_ptr<TunnelDestination> destination_;
  // Pending delegation: whether the binding held, and why it failed (the tunnel is then dead).
  bool resolving_ = false;
  bool bound_ = false;
  std::optional<outbound::BindingFailure> failure_;
};

}  // namespace bordergate
