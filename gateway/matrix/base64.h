// Unpadded base64 as Matrix uses it (App §Unpadded Base64): standard alphabet for keys, hashes and
// signatures; URL-safe alphabet for event ids of rooms v4+. Decoding is strict so that one byte
// string has exactly one accepted text form (plus its correctly padded variant).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"

namespace bordergate::matrix {

std::string base64_encode(std::span<const std::uint8_t> bytes);     // standard alphabet, unpadded
std::string base64url_encode(std::span<const std::uint8_t> bytes);  // URL-safe alphabet, unpadded
inline std::string base64_encode(std::string_view bytes) {
  return base64_encode(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// Strict: rejects characters outside the alphabet (incl. whitespace and the other alphabet),
// lengths that cannot come from an encoder (len % 4 == 1), non-zero unused trailing bits, and
// padding that is not exactly the canonical '=' / '==' completing the last quantum.
// Correct padding is accepted (the spec says decoders SHOULD accept it). Error code "bad_base64".
// kIgnored tolerates non-zero unused bits in the last character, as Python's decoder does: only
// for locally stored secrets (the spec's own test signing key seed has them), never for network
// input.
enum class TrailingBits { kMustBeZero, kIgnored };
Result<std::vector<std::uint8_t>> base64_decode(std::string_view text,
                                                TrailingBits bits = TrailingBits::kMustBeZero);
Result<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

}  // namespace bordergate::matrix
