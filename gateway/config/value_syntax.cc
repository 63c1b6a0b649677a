#include "gateway/config/value_syntax.h"

#include <arpa/inet.h>

#include <charconv>

namespace bordergate {

bool valid_dns_name(std::string_view name, bool allow_wildcard) {
  if (allow_wildcard && name.size() > 2 && name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (c >= 'A' && c <= 'Z');
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

bool valid_ip(const std::string& text) {
  in6_addr buf{};
  return inet_pton(AF_INET, text.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, text.c_str(), &buf) == 1;
}

// A Matrix server name: DNS name or IP literal, optionally with ":port".
bool valid_server_name(const std::string& name) {
  std::string host = name;
  std::string port;
  if (!name.empty() && name.front() == '[') {
    const auto close = name.find(']');
    if (close == std::string::npos) return false;
    host = name.substr(1, close - 1);
    const std::string rest = name.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    if (host.find(':') == std::string::npos) return false;
  } else if (const auto colon = name.find(':'); colon != std::string::npos) {
    host = name.substr(0, colon);
    port = name.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  return valid_dns_name(host, false) || valid_ip(host);
}

// An ed25519 public key in unpadded standard base64: 32 bytes are 43 characters, the last one
// carrying only 4 bits (so it is one of A, E, I, ..., w).
bool valid_base64_key(const std::string& text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() != 43 || text.find_first_not_of(kAlphabet) != std::string::npos) return false;
  return kAlphabet.find(text.back()) % 4 == 0;
}

// Syntax only; the discovery library re-parses these into its own types at runtime build.
bool plausible_cidr(const std::string& text) {
  const auto slash = text.find('/');
  const std::string address = text.substr(0, slash);
  unsigned char buf[16];
  const bool v4 = inet_pton(AF_INET, address.c_str(), buf) == 1;
  const bool v6 = !v4 && inet_pton(AF_INET6, address.c_str(), buf) == 1;
  if (!v4 && !v6) return false;
  if (slash == std::string::npos) return true;
  int prefix = -1;
  const char* b = text.data() + slash + 1;
  const char* e = text.data() + text.size();
  auto r = std::from_chars(b, e, prefix);
  return b != e && r.ec == std::errc() && r.ptr == e && prefix >= 0 && prefix <= (v4 ? 32 : 128);
}

bool plausible_resolver(const std::string& text) {
  std::string host = text;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = text.substr(close + 2);
    }
  } else if (const auto colon = text.find(':');
             colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) {
    return false;
  }
  if (port.empty()) return text.back() != ':';
  unsigned value = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  return r.ec == std::errc() && r.ptr == port.data() + port.size() && value > 0 && value < 65536;
}

}  // namespace bordergate
