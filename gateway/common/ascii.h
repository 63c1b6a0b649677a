// ASCII case folding for protocol text (header names, host names, server names, schemes): never
// locale-dependent, and bytes outside A-Z (UTF-8 included) are compared as they are.
#pragma once

#include <cstddef>
#include <string_view>

namespace bordergate {

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace bordergate
