// The external server as the upstream of the Core's requests inside an intercepted tunnel: the
// destination is resolved once per tunnel by the gateway's own discovery (tunnel_destination.h:
// well-known, SRV, static routes, the SSRF guard) and the request goes out with the worker's
// verified HTTPS client, without the hop-by-hop and proxy fields. Its answer is read whole
// (bounded by outbound.max_response_bytes) and handed on as one head, one body, complete.
#pragma once

#include <memory>

#include "gateway/discovery/https_client.h"
#include "gateway/proxy/tunnel_destination.h"
#include "gateway/proxy/upstream.h"

namespace bordergate {

class RemoteUpstream final : public Upstream {
 public:
  // `client`: the worker's verified HTTPS client; null when its federation state failed to
  // start (every request then fails as unreachable).
  RemoteUpstream(std::shared_ptr<TunnelDestination> destination, discovery::HttpsClient* client)
      : destination_(std::move(destination)), client_(client) {}

  void send(RequestContext& ctx, AnswerSink& sink) override;
  void cancel() override { exchange_.reset(); }

 private:
  std::shared_ptr<TunnelDestination> destination_;
  discovery::HttpsClient* client_;
  // The exchange in flight; its callbacks hold a weak_ptr and do nothing once it is cancelled.
  std::shared_ptr<int> exchange_;
};

}  // namespace bordergate
