#include "gateway/quarantine/peer_release.h"

#include <uv.h>

#include <memory>
#include <optional>

#include "gateway/common/ascii.h"
#include "gateway/discovery/discovery_setup.h"
#include "gateway/discovery/well_known_cache.h"

namespace bordergate::quarantine {
namespace {

namespace d = discovery;

constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

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

// One loop with the discovery stack, torn down in reverse order (pending work is dropped).
struct Stack {
  uv_loop_t loop{};
  std::unique_ptr<d::AresResolver> dns;
  std::unique_ptr<d::HttpsClient> client;
  d::WellKnownCache cache;
  d::ResolutionOptions options;
  std::unique_ptr<d::ServerResolver> resolver;

  Stack() { uv_loop_init(&loop); }
  ~Stack() {
    resolver.reset();
    client.reset();
    dns.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  Status build(const DiscoveryConfig& config) {
    auto opts = d::resolution_options_from(config);
    if (!opts) return opts.error();
    options = std::move(*opts);
    auto ares = d::AresResolver::create(&loop, d::resolver_options_from(config));
    if (!ares) return Error{"setup_failed", ares.error().message};
    dns = std::move(*ares);
    auto tls = d::FederationTls::build(config.ca_file);
    if (!tls) return Error{"setup_failed", tls.error().message};
    client = std::make_unique<d::HttpsClient>(&loop, std::move(*tls));
    resolver = std::make_unique<d::ServerResolver>(*dns, d::well_known_fetch_over(*client, config),
                                                   options, cache, wall_ms);
    return {};
  }
};

}  // namespace

Result<PeerAnswer> send_to_destination(const DiscoveryConfig& discovery, const HeldRequest& request,
                                       std::chrono::milliseconds timeout) {
  if (request.direction != "outbound") {
    return Error{"not_outbound", "the entry is not an outbound request"};
  }
  Stack stack;
  if (Status s = stack.build(discovery); !s) return s.error();
  std::optional<Result<PeerAnswer>> result;
  stack.resolver->resolve(request.destination, [&](d::Discovery found) {
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
    stack.client->send(std::move(out), [&](Result<d::OutboundResponse> answer) {
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
    if (uv_run(&stack.loop, UV_RUN_ONCE) == 0 && !result) {
      result = Error{"setup_failed", "discovery ended without an answer"};
    }
  }
  return std::move(*result);
}

}  // namespace bordergate::quarantine
