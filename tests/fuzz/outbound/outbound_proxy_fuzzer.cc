// The bytes the proxy listener reads from the Core before deciding anything: the request head,
// the CONNECT target and the first tunnel bytes (ClientHello). No crash, and the parsers agree
// with themselves: a head fed byte by byte parses as fed whole; a parsed ClientHello parses the
// same from exactly the bytes it claims to have consumed.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "gateway/outbound/client_hello.h"
#include "gateway/outbound/connect_head.h"
#include "gateway/outbound/connect_target.h"

using namespace bordergate::outbound;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::span<const std::uint8_t> bytes(data, size);

  ConnectHeadParser whole;
  std::size_t consumed = 0;
  const auto state = whole.feed(text, consumed);
  if (state == ConnectHeadParser::State::kComplete) {
    if (consumed > size) std::abort();
    ConnectHeadParser piecewise;
    ConnectHeadParser::State s = ConnectHeadParser::State::kNeedMore;
    std::size_t i = 0;
    for (; i < size && s == ConnectHeadParser::State::kNeedMore; ++i) {
      std::size_t used = 0;
      s = piecewise.feed(text.substr(i, 1), used);
    }
    if (s != ConnectHeadParser::State::kComplete || i != consumed ||
        piecewise.head().target != whole.head().target ||
        piecewise.head().headers != whole.head().headers) {
      std::abort();
    }
    if (auto target = parse_connect_target(whole.head().target)) {
      auto again = parse_connect_target(target->name.authority());
      if (!again || again->name.host != target->name.host || again->port() != target->port()) {
        std::abort();
      }
      (void)gate_tunnel(*target, bytes.subspan(consumed));
    }
  }

  (void)sniff_client_hello(bytes);
  auto hello = parse_client_hello(bytes);
  if (hello.ok() && hello->has_value()) {
    const std::size_t used = (*hello)->consumed;
    if (used > size) std::abort();
    auto again = parse_client_hello(bytes.first(used));
    if (!again.ok() || !again->has_value() || (*again)->server_name != (*hello)->server_name) {
      std::abort();
    }
  }
  return 0;
}
