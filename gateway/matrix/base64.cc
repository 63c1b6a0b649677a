// Unpadded base64 (RFC 4648 §4 and §5 alphabets) with a strict decoder: exactly one text per
// byte string, so signatures and event ids cannot be re-encoded into a second accepted form.
#include "gateway/matrix/base64.h"

#include <array>

namespace bordergate::matrix {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_table(const char* alphabet) {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kStdTable = make_table(kStd);
constexpr auto kUrlTable = make_table(kUrl);

std::string encode(std::span<const std::uint8_t> in, const char* alphabet) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  std::size_t rest = in.size() - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

Error bad(std::string what) { return make_error("bad_base64", std::move(what)); }

Result<std::vector<std::uint8_t>> decode(std::string_view text,
                                         const std::array<std::int8_t, 256>& table,
                                         TrailingBits trailing) {
  // Padding: accepted only when it completes the final quantum exactly ("xx==" or "xxx=").
  if (!text.empty() && text.back() == '=') {
    if (text.size() % 4 != 0) return bad("padding does not complete a 4-character group");
    std::size_t pad = text[text.size() - 2] == '=' ? 2 : 1;
    text.remove_suffix(pad);
  }
  if (text.size() % 4 == 1)
    return bad("length " + std::to_string(text.size()) + " is impossible for base64");
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::int8_t v = table[static_cast<unsigned char>(text[i])];
    if (v < 0) return bad("invalid character at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0 && trailing == TrailingBits::kMustBeZero)
    return bad("non-zero trailing bits in the last character");
  return out;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) { return encode(bytes, kStd); }
std::string base64url_encode(std::span<const std::uint8_t> bytes) { return encode(bytes, kUrl); }
Result<std::vector<std::uint8_t>> base64_decode(std::string_view text, TrailingBits bits) {
  return decode(text, kStdTable, bits);
}
Result<std::vector<std::uint8_t>> base64url_decode(std::string_view text) {
  return decode(text, kUrlTable, TrailingBits::kMustBeZero);
}

}  // namespace bordergate::matrix
