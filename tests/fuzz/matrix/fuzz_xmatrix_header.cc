// X-Matrix Authorization header parser. Properties: no crash, and an accepted header written
// back in the sender's canonical form parses to the same fields.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/matrix/xmatrix.h"

namespace m = bordergate::matrix;

namespace {
std::string quoted(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto auth = m::parse_xmatrix(text);
  if (!auth.ok()) return 0;
  std::string header = "X-Matrix origin=" + quoted(auth->origin) + ",key=" + quoted(auth->key_id) +
                       ",sig=" + quoted(auth->signature);
  if (auth->destination) header += ",destination=" + quoted(*auth->destination);
  auto again = m::parse_xmatrix(header);
  if (!again.ok() || again->origin != auth->origin || again->key_id != auth->key_id ||
      again->signature != auth->signature || again->destination != auth->destination) {
    std::abort();
  }
  std::string_view values[] = {text, header};
  if (!m::parse_xmatrix_headers(values).ok()) std::abort();
  return 0;
}
