#include "gateway/outbound/proxy_credentials.h"

#include <sodium.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "gateway/common/ascii.h"
#include "gateway/common/secret_file.h"

namespace bordergate::outbound {
namespace {

std::array<std::uint8_t, 32> digest_of(std::string_view text) {
  std::array<std::uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size(), nullptr, 0);
  return out;
}

}  // namespace

Result<ProxyCredentials> ProxyCredentials::load(const std::string& path) {
  if (Status s = check_secret_file(path, "proxy credentials"); !s) {
    if (s.error().code == "secret_file_unreadable") {
      return make_error("credentials_unreadable", "cannot read proxy credentials " + path);
    }
    return s.error();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("credentials_unreadable", "cannot read proxy credentials " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str());
}

Result<ProxyCredentials> ProxyCredentials::parse(std::string_view file_text) {
  if (sodium_init() < 0) return make_error("credentials_invalid", "libsodium failed to start");
  std::string_view line;
  while (!file_text.empty()) {
    const auto end = file_text.find('\n');
    line = file_text.substr(0, end);
    file_text = end == std::string_view::npos ? std::string_view{} : file_text.substr(end + 1);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) break;
  }
  const auto colon = line.find(':');
  if (line.empty() || colon == std::string_view::npos || colon == 0 || colon + 1 == line.size()) {
    return make_error("credentials_invalid",
                      "proxy credentials file must hold one line username:password");
  }
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error("credentials_invalid", "proxy credentials contain control characters");
    }
  }
  return ProxyCredentials(std::string(line.substr(0, colon)), digest_of(line));
}

bool ProxyCredentials::accepts(std::string_view header_value) const {
  const auto space = header_value.find(' ');
  if (space == std::string_view::npos || !ascii_iequals(header_value.substr(0, space), "basic")) {
    return false;
  }
  std::string_view encoded = header_value.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  if (encoded.empty() || encoded.size() > 4096) return false;
  std::vector<unsigned char> decoded(encoded.size());
  std::size_t length = 0;
  if (sodium_base642bin(decoded.data(), decoded.size(), encoded.data(), encoded.size(), nullptr,
                        &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  // Comparing digests keeps the comparison length-independent as well as constant time.
  const auto candidate =
      digest_of(std::string_view(reinterpret_cast<const char*>(decoded.data()), length));
  return sodium_memcmp(candidate.data(), digest_.data(), digest_.size()) == 0;
}

}  // namespace bordergate::outbound
