#include "gateway/quarantine/peer_release.h"

#include <uv.h>

#include <memory>
#include <optional>

#include "gateway/common/ascii.h"
#include "gateway/discovery/discovery_setup.h"
#include "gateway/discovery/private_discovery.h"

namespace bordergate::quarantine {
namespace {

namespace d = discovery;

constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

// Hop-by-hop and framing headers the client writes itself (Host is discovery's host header),
// and the forwarding headers: nothing about the agency's network leaves with the request.
bool end_to_end(std::string_view name) {
  for (std::string_view hop :
       {"host", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "content-length", "expect", "x-forwarded-for",
        "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip"}) {
    if (ascii_iequals(name, hop)) return false;
  }
  return true;
}

}  // namespace

Result<PeerAnswer> send_to_destination(const DiscoveryConfig& discovery, const HeldRequest& request,
                                       std::chrono::milliseconds timeout) {
  if (request.direction != "outbound") {
    return Error{"not_outbound", "the entry is not an outbound request"};
  }
  d::PrivateDiscovery stack;
  if (Status s = stack.configure(discovery); !s) return s.error();
  // Resolver and TLS setup failures are this tool's, not the destination's.
  if (Status s = stack.start(discovery); !s) return Error{"setup_failed", s.error().message};
  std::optional<Result<PeerAnswer>> result;
  stack.resolver().resolve(request.destination, [&](d::Discovery found) {
    if (!found.result) {
      result = found.result.error();
      return;
    }
    d::OutboundRequest out =
        d::request_to(*found.result, request.method, request.target, discovery);
    for (const HeaderField& h : request.headers) {
      if (end_to_end(h.name)) out.headers.push_back({h.name, h.value});
    }
    out.body = request.body;
    out.max_body_bytes = kMaxAnswerBytes;
    out.total_timeout = timeout;
    stack.client().send(std::move(out), [&](Result<d::OutboundResponse> answer) {
      if (!answer) {
        result = answer.error();
        return;
      }
      const d::ConnectTarget& t = answer->peer;
      PeerAnswer a;
      a.status = answer->status;
      a.body = std::move(answer->body);
      a.peer = t.address.is_v6() ? "[" + t.address.to_string() + "]:" + std::to_string(t.port)
                                 : t.address.to_string() + ":" + std::to_string(t.port);
      result = std::move(a);
    });
  });
  while (!result) {
    if (uv_run(stack.loop(), UV_RUN_ONCE) == 0 && !result) {
      result = Error{"setup_failed", "discovery ended without an answer"};
    }
  }
  return std::move(*result);
}

}  // namespace bordergate::quarantine
