// Small, allocation-free parsers: these run on every evaluated request.
#include "policy/server_name.h"

#include <cstddef>

namespace bordergate::policy {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    int value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
    if (i == start || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// RFC 3513 text form, optionally with an embedded IPv4 tail; checked structurally.
bool is_ipv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  int groups = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && is_hex(s[i]) && i - start < 4) ++i;
    if (i < s.size() && s[i] == '.')
      return (groups <= 6) && is_ipv4(s.substr(start)) && (compressed || groups == 6);
    if (i == start) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;
    }
  }
  return compressed ? groups < 8 : groups == 8;
}

bool is_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    if (!(is_digit(c) || is_alpha(c) || c == '-' || c == '.')) return false;
  }
  return true;
}

}  // namespace

std::string_view strip_port(std::string_view name) {
  if (!name.empty() && name[0] == '[') {
    auto close = name.find(']');
    return close == std::string_view::npos ? name : name.substr(0, close + 1);
  }
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(0, colon);
}

bool is_ip_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return is_ipv6(host.substr(1, host.size() - 2));
  }
  return is_ipv4(host);
}

bool is_valid_server_name(std::string_view name) {
  std::string_view host = strip_port(name);
  if (host.size() < name.size()) {
    std::string_view rest = name.substr(host.size());
    if (rest.size() < 2 || rest.size() > 6 || rest[0] != ':') return false;
    for (char c : rest.substr(1)) {
      if (!is_digit(c)) return false;
    }
  }
  if (!host.empty() && host.front() == '[') return is_ip_literal(host);
  return is_dns_name(host);
}

bool is_valid_server_pattern(std::string_view p) {
  if (p.empty() || p.size() > 255) return false;
  if (p.front() == '[') return is_ip_literal(p);
  for (char c : p) {
    if (!(is_digit(c) || is_alpha(c) || c == '-' || c == '.' || c == '*' || c == '?')) return false;
  }
  return true;
}

std::string_view id_domain(std::string_view id) {
  auto colon = id.find(':');
  return colon == std::string_view::npos ? std::string_view{} : id.substr(colon + 1);
}

}  // namespace bordergate::policy
