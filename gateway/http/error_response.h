// Responses the gateway produces itself: always Matrix-style JSON
// {"errcode":"M_...","error":"..."} with the status that fits the cause.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace bordergate {

struct GatewayError {
  GatewayError() = default;
  GatewayError(int s, const char* code, std::string why)
      : status(s), errcode(code), reason(std::move(why)) {}

  int status = 500;
  const char* errcode = "M_UNKNOWN";
  std::string reason;  // shown to the peer: no secrets, no internals
  // 429: sent as "retry_after_ms" in the body and as a Retry-After header (whole seconds).
  std::optional<std::int64_t> retry_after_ms;
  // Non-empty: the gateway answers the request itself with this JSON body and `status`
  // (a withheld /send transaction gets 200 with per-PDU errors) instead of an error object.
  std::string json_body;
};

// Whether the answered request was a HEAD: its answer must carry no body (RFC 9110 §9.3.2), or
// the body would be read as the start of the next response on a keep-alive connection.
enum class AnswerTo : unsigned char { get_or_other, head };
inline AnswerTo answer_to(std::string_view method) {
  return method == "HEAD" ? AnswerTo::head : AnswerTo::get_or_other;
}

// Appends a complete HTTP/1.1 response (head and JSON body) to `out`. To a HEAD, the head only:
// its Content-Length is the length the body would have had.
void append_error_response(std::string& out, const GatewayError& error, bool close_connection,
                           AnswerTo request);

std::string_view status_reason(int status);

}  // namespace bordergate
