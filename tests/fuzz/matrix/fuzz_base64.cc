// Base64 both alphabets. Properties: decode never crashes; decode(encode(x)) == x; an accepted
// unpadded text is the unique encoding of its bytes (strict decoding is canonical).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "gateway/matrix/base64.h"

namespace m = bordergate::matrix;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto std_enc = m::base64_encode(bytes);
  auto url_enc = m::base64url_encode(bytes);
  auto d1 = m::base64_decode(std_enc);
  auto d2 = m::base64url_decode(url_enc);
  if (!d1.ok() || !d2.ok() || !std::equal(d1->begin(), d1->end(), bytes.begin(), bytes.end()) ||
      !std::equal(d2->begin(), d2->end(), bytes.begin(), bytes.end())) {
    std::abort();
  }

  std::string_view unpadded = text;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
  if (auto d = m::base64_decode(text); d.ok() && m::base64_encode(*d) != unpadded) std::abort();
  if (auto d = m::base64url_decode(text); d.ok() && m::base64url_encode(*d) != unpadded)
    std::abort();
  auto lenient = m::base64_decode(text, m::TrailingBits::kIgnored);
  if (m::base64_decode(text).ok() && !lenient.ok()) std::abort();
  return 0;
}
