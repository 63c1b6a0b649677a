// Responses the gateway produces itself: always Matrix-style JSON
// {"errcode":"M_...","error":"..."} with the status that fits the cause.
#pragma once

#include <string>
#include <string_view>

#include "gateway/http/outcome.h"

namespace bordergate {

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
