// Responses the gateway produces itself: always Matrix-style JSON
// {"errcode":"M_...","error":"..."} with the status that fits the cause.
#pragma once

#include <string>
#include <string_view>

namespace bordergate {

struct GatewayError {
  int status = 500;
  const char* errcode = "M_UNKNOWN";
  std::string reason;  // shown to the peer: no secrets, no internals
};

// Appends a complete HTTP/1.1 response (head and JSON body) to `out`.
void append_error_response(std::string& out, const GatewayError& error, bool close_connection);

std::string_view status_reason(int status);

}  // namespace bordergate
