#include "gateway/proxy/remote_upstream.h"

#include "gateway/common/ascii.h"
#include "gateway/discovery/https_client.h"
#include "gateway/http/headers.h"
#include "gateway/proxy/request_context.h"

namespace bordergate {
namespace {

// Fields the gateway never passes to the external server: hop-by-hop, framing it recomputes,
// the Host it sets from discovery, and anything addressed to the proxy itself.
bool dropped_towards_peer(const HeaderField& f, const HeaderList& all) {
  static constexpr std::string_view kDropped[] = {"host",
                                                  "content-length",
                                                  "expect",
                                                  "proxy-authorization",
                                                  "proxy-authenticate",
                                                  "x-forwarded-for",
                                                  "x-forwarded-proto",
                                                  "forwarded"};
  for (std::string_view d : kDropped) {
    if (ascii_iequals(f.name, d)) return true;
  }
  return is_hop_by_hop(f.name, all);
}

UpstreamFailure failure_of(const Error& e) {
  const Failure f = e.code == "timeout"          ? Failure::remote_timeout
                    : e.code == "body_too_large" ? Failure::remote_too_large
                    : e.code == "answer_budget"  ? Failure::answer_budget
                                                 : Failure::remote_unreachable;
  return UpstreamFailure{f, e.code, e.message};
}

}  // namespace

void RemoteUpstream::send(RequestContext& ctx, AnswerSink& sink) {
  const HttpRequest& request = *ctx.request;
  const OutboundSettings& settings = destination_->settings();
  discovery::OutboundRequest out;
  out.method = request.method;
  out.target = request.target;
  out.body = request.body;
  for (const HeaderField& f : request.headers) {
    if (!dropped_towards_peer(f, request.headers)) out.headers.push_back({f.name, f.value});
  }
  out.max_body_bytes = settings.config->max_response_bytes;
  out.budget = ctx.runtime->limits.budget;
  out.connect_timeout = settings.config->connect_timeout;
  out.total_timeout = ctx.runtime->config->upstream.response_timeout;
  const bool head_request = request.method == "HEAD";
  exchange_ = std::make_shared<int>(0);
  std::weak_ptr<int> exchange = exchange_;
  AnswerSink* to = &sink;
  discovery::HttpsClient* client = client_;
  destination_->resolve([exchange, to, client, head_request,
                         out = std::move(out)](Result<discovery::ResolvedServer> r) mutable {
    if (exchange.expired()) return;
    if (!r) return to->on_answer_failed(failure_of(r.error()));
    if (client == nullptr) {
      return to->on_answer_failed(
          failure_of(make_error("no_client", "outbound HTTPS is unavailable")));
    }
    out.targets = r->targets;
    out.tls_name = r->tls_name;
    out.tls_ip = r->tls_ip;
    out.host_header = r->host_header;
    // The HTTPS client bounds the exchange by its own deadlines.
    client->send(
        std::move(out), [exchange, to, head_request](Result<discovery::OutboundResponse> response) {
          if (exchange.expired()) return;
          if (!response) return to->on_answer_failed(failure_of(response.error()));
          HttpResponseHead head;
          head.status = response->status;
          for (const discovery::HttpHeader& h : response->headers) {
            HeaderField& f = head.headers.add();
            f.name = h.name;
            f.value = h.value;
          }
          // No declared length: the body is here already, read and charged to the buffer budget
          // by the client, and on_answer_whole_body hands it over with its charge (a length
          // would have it admitted a second time).
          head.has_body =
              !head_request && head.status >= 200 && head.status != 204 && head.status != 304;
          to->on_answer_head(head);
          if (exchange.expired()) return;
          to->on_answer_whole_body(std::move(response->body), std::move(response->lease));
          if (exchange.expired()) return;
          to->on_answer_complete();
        });
  });
}

}  // namespace bordergate
