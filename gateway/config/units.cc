#include "gateway/config/units.h"

#include <cstdint>

namespace bordergate {

std::optional<Millis> parse_duration(std::string_view text) {
  size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (value > 1'000'000'000ULL) return std::nullopt;  // far beyond any sane timeout
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  std::uint64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return std::nullopt;
  return Millis(static_cast<Millis::rep>(value * factor));
}

}  // namespace bordergate
