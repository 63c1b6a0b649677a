// SHA-256 for content hashes, reference hashes and event ids (OpenSSL EVP; the spec's only hash).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace bordergate::matrix {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::string_view data);

}  // namespace bordergate::matrix
