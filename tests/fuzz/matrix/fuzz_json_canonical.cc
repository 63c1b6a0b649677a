// Strict JSON parse + canonical encoding. Properties: no crash on any input, and for accepted
// input canonical(parse(canonical(x))) == canonical(x) with an equal value; the lenient
// (allow_floats) mode round-trips through compact_json the same way.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/matrix/json.h"

namespace m = bordergate::matrix;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  m::JsonLimits limits;
  limits.max_depth = 32;
  auto parsed = m::parse_json(text, limits);
  if (parsed.ok()) {
    auto canonical = m::canonical_json(*parsed);
    if (!canonical.ok()) std::abort();  // strict parse must only accept canonicalisable values
    auto again = m::parse_json(*canonical, limits);
    if (!again.ok() || !(*again == *parsed)) std::abort();
    auto canonical2 = m::canonical_json(*again);
    if (!canonical2.ok() || *canonical2 != *canonical) std::abort();
    if (!m::is_valid_utf8(*canonical)) std::abort();
  }
  limits.allow_floats = true;
  auto lenient = m::parse_json(text, limits);
  if (parsed.ok() && !lenient.ok()) std::abort();  // lenient accepts a superset
  if (lenient.ok()) {
    std::string compact = m::compact_json(*lenient);
    auto again = m::parse_json(compact, limits);
    if (!again.ok() || m::compact_json(*again) != compact) std::abort();
  }
  return 0;
}
