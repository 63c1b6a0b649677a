// Fuzzes the listener's request parser the way a connection drives it: the
// input is split at a fuzzer-chosen point, pipelined requests are parsed one
// after another, and every parsed request must satisfy the framing invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/http/headers.h"
#include "gateway/http/request_parser.h"

using bordergate::RequestLimits;
using bordergate::RequestParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t split = data[0] % 64;
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t len = size - 1;
  RequestParser parser(RequestLimits{2048, 32, 4096});
  size_t requests = 0;
  while (len > 0 && requests < 64) {
    size_t first = split < len ? split : len;
    size_t consumed = 0;
    RequestParser::Outcome out{RequestParser::State::need_more, 0};
    if (first > 0) {
      out = parser.feed(p, first);
      consumed = out.consumed;
    }
    if (out.state == RequestParser::State::need_more && first < len) {
      out = parser.feed(p + first, len - first);
      consumed = first + out.consumed;
    }
    if (out.state == RequestParser::State::error) {
      int status = parser.error().status;
      if (status < 400 || status > 599) std::abort();
      return 0;
    }
    if (out.state != RequestParser::State::complete) return 0;
    const bordergate::HttpRequest& r = parser.request();
    // Invariants the proxy relies on.
    if (r.body.size() > 4096) std::abort();
    if (r.target.empty() || r.target[0] != '/') std::abort();
    if (r.content_length && *r.content_length != r.body.size()) std::abort();
    std::string head;
    bordergate::append_upstream_request_head(head, r, "192.0.2.1", "upstream:1");
    if (consumed == 0 || consumed > len) std::abort();
    p += consumed;
    len -= consumed;
    parser.reset();
    ++requests;
  }
  return 0;
}
