// Fuzzes the upstream response parser: a hostile or broken Core must not be
// able to crash the gateway or make it forward more body than it received.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gateway/http/response_parser.h"

namespace {
struct Sink final : bordergate::ResponseSink {
  size_t body = 0;
  int heads = 0;
  void on_response_head(bordergate::HttpResponseHead& h) override {
    ++heads;
    if (h.status < 200 || h.status > 599) std::abort();
  }
  void on_response_body(const char*, size_t n) override { body += n; }
  void on_response_complete() override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Sink sink;
  bordergate::ResponseParser parser(sink);
  parser.start((data[0] & 1) != 0);
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t len = size - 1;
  size_t split = data[0] >> 1;
  if (split > len) split = len;
  if (parser.feed(p, split) && parser.feed(p + split, len - split)) (void)parser.finish();
  if (sink.body > len) std::abort();
  if (sink.heads > 1) std::abort();
  return 0;
}
