// ClientConnection's answers that are read whole before a byte is sent: a checked answer of an
// external server to the Core (client_tunnel.cc) and the Core's media answer held for the media
// policy (docs/inbound.md, "Media answers"). The streaming path is client_connection.cc.
#include <string>

#include "gateway/common/log.h"
#include "gateway/discovery/well_known.h"
#include "gateway/http/headers.h"
#include "gateway/inbound/media_check.h"
#include "gateway/proxy/client_connection.h"
#include "gateway/proxy/worker.h"

namespace bordergate {

template <typename Headers>
void ClientConnection::respond_whole(int status, const Headers& headers, std::string_view body) {
  HttpResponseHead head;
  head.status = status;
  for (const auto& h : headers) {
    // The body is buffered whole: its framing is the gateway's own Content-Length.
    if (iequals_lower(h.name, "content-length") || iequals_lower(h.name, "transfer-encoding"))
      continue;
    HeaderField& f = head.headers.add();
    f.name = h.name;
    f.value = h.value;
  }
  head.has_body =
      parser_.request().method != "HEAD" && status >= 200 && status != 204 && status != 304;
  if (head.has_body) {
    HeaderField& f = head.headers.add();
    f.name = "Content-Length";
    f.value = std::to_string(body.size());
    head.content_length = body.size();
  }
  state_ = State::responding;
  ctx_.status = head.status;
  framing_ = head.has_body ? BodyFraming::content_length : BodyFraming::none;
  std::string& out = worker_.scratch();
  out.clear();
  append_downstream_response_head(out, head, framing_, close_after_response_);
  stream_.write(out);
  if (head.has_body) {
    stream_.write(body);
    ctx_.response_bytes = body.size();
  }
  stream_.flush();
  finish_request();
}

template void ClientConnection::respond_whole(int, const HeaderList&, std::string_view);
template void ClientConnection::respond_whole(int, const discovery::HttpHeaders&, std::string_view);

void ClientConnection::finish_held_media() {
  const std::string_view type = held_head_.headers.find("content-type").value_or("");
  inbound::MediaVerdict v =
      inbound::check_core_media_answer(ctx_.inbound, type, ctx_.inbound.core_answer);
  if (!v.refused) {
    const std::string body = std::move(ctx_.inbound.core_answer);
    ctx_.inbound.core_answer.clear();
    respond_whole(held_head_.status, held_head_.headers, body);
    return;
  }
  log_event(LogLevel::warn, "core_media_refused", {{"reason", v.reason}, {"error", v.error}});
  ctx_.outcome = "denied";
  respond_error(GatewayError{v.status, v.errcode, v.error}, close_after_response_);
}

void ClientConnection::refuse_held_media(std::uint64_t bytes) {
  // The rest of the answer is never read: the upstream connection is given up.
  if (upstream_ != nullptr) {
    upstream_->detach();
    upstream_ = nullptr;
  }
  ctx_.inbound.core_answer.clear();
  inbound::MediaVerdict v = inbound::refuse_oversized_core_media(ctx_.inbound, bytes);
  log_event(LogLevel::warn, "core_media_refused", {{"reason", v.reason}, {"error", v.error}});
  ctx_.outcome = "denied";
  respond_error(GatewayError{v.status, v.errcode, v.error}, close_after_response_);
}

}  // namespace bordergate
