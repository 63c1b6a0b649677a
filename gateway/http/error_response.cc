#include "gateway/http/error_response.h"

#include "gateway/common/log.h"

namespace bordergate {

std::string_view status_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void append_error_response(std::string& out, const GatewayError& error, bool close_connection,
                           AnswerTo request) {
  std::string body;
  if (!error.json_body.empty()) {
    body = error.json_body;
  } else {
    body = "{\"errcode\":\"";
    append_json_escaped(body, error.errcode);
    body += "\",\"error\":\"";
    append_json_escaped(body, error.reason);
    body += '"';
    if (error.retry_after_ms)
      body += ",\"retry_after_ms\":" + std::to_string(*error.retry_after_ms);
    body += '}';
  }
  out += "HTTP/1.1 ";
  out += std::to_string(error.status);
  out += ' ';
  out += status_reason(error.status);
  out += "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n";
  if (error.retry_after_ms) {
    out += "Retry-After: " + std::to_string((*error.retry_after_ms + 999) / 1000) + "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += close_connection ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  if (request != AnswerTo::head) out += body;
}

}  // namespace bordergate
