#include "gateway/discovery/server_name.h"

#include <charconv>

namespace bordergate::discovery {
namespace {

constexpr std::size_t kMaxServerNameLength = 255 + 6;  // dns-name + ":65535"
constexpr std::size_t kMaxDnsName = 255;
constexpr std::size_t kMaxLabel = 63;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

Result<std::uint16_t> parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) {
    return make_error("invalid_port", "port must be 1 to 5 digits");
  }
  unsigned value = 0;
  for (char c : digits) {
    if (!is_digit(c)) return make_error("invalid_port", "port must be decimal digits");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) {
    return make_error("invalid_port", "port must be between 1 and 65535");
  }
  return static_cast<std::uint16_t>(value);
}

Result<IpAddress> parse_ipv4(std::string_view host) {
  // Dotted quad, decimal parts 0..255 without leading zeros (inet_aton would read "010" as octal).
  std::uint8_t parts[4];
  std::size_t part = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i < host.size() && host[i] != '.') continue;
    const std::string_view digits = host.substr(start, i - start);
    if (part >= 4 || digits.empty() || digits.size() > 3 ||
        (digits.size() > 1 && digits[0] == '0')) {
      return make_error("invalid_ipv4", "IPv4 literal must be four decimal parts 0-255");
    }
    unsigned value = 0;
    for (char c : digits) value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 255) return make_error("invalid_ipv4", "IPv4 part out of range 0-255");
    parts[part++] = static_cast<std::uint8_t>(value);
    start = i + 1;
  }
  if (part != 4) return make_error("invalid_ipv4", "IPv4 literal must have four parts");
  return IpAddress::v4_from_bytes(parts);
}

Status check_dns_name(std::string_view host) {
  if (host.size() > kMaxDnsName) {
    return make_error("invalid_dns_name", "DNS name longer than 255 characters");
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0) return make_error("invalid_dns_name", "DNS name has an empty label");
      if (label > kMaxLabel) {
        return make_error("invalid_dns_name", "DNS label longer than 63 characters");
      }
      // The Matrix grammar allows any mix of letters, digits and '-', but a label that starts or
      // ends with '-' is no hostname (RFC 1123) and can carry no publicly trusted certificate, so
      // it can never federate; refusing it keeps odd names away from resolvers and certificates.
      if (host[i - label] == '-' || host[i - 1] == '-') {
        return make_error("invalid_dns_name", "DNS label starts or ends with '-'");
      }
      label = 0;
      continue;
    }
    const char c = host[i];
    if (!is_digit(c) && !is_alpha(c) && c != '-') {
      return make_error("invalid_dns_name", "DNS names allow only letters, digits, '-' and '.'");
    }
    ++label;
  }
  return {};
}

Result<ServerName> parse_host_part(std::string_view text, std::string_view host, bool bracketed) {
  ServerName out;
  out.text = std::string(text);
  if (bracketed) {
    if (host.size() < 2 || host.size() > 45) {
      return make_error("invalid_ipv6", "IPv6 literal must be 2 to 45 characters");
    }
    for (char c : host) {
      if (!is_hex(c) && c != ':' && c != '.') {
        return make_error("invalid_ipv6", "IPv6 literal has a character outside [0-9a-fA-F:.]");
      }
    }
    auto ip = IpAddress::parse(host);
    if (!ip || !ip->is_v6()) return make_error("invalid_ipv6", "not a valid IPv6 address");
    out.kind = HostKind::kIpv6;
    out.ip = *ip;
    out.host = std::string(host);
    return out;
  }
  if (host.empty()) return make_error("invalid_dns_name", "empty host");
  if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
    auto ip = parse_ipv4(host);
    if (!ip) return ip.error();
    out.kind = HostKind::kIpv4;
    out.ip = *ip;
    out.host = std::string(host);
    return out;
  }
  if (auto status = check_dns_name(host); !status) return status.error();
  out.kind = HostKind::kDnsName;
  out.host = std::string(host);
  return out;
}

}  // namespace

std::string ServerName::host_for_authority() const {
  return kind == HostKind::kIpv6 ? "[" + host + "]" : host;
}

std::string ServerName::authority() const {
  std::string out = host_for_authority();
  if (port) out += ":" + std::to_string(*port);
  return out;
}

Result<ServerName> parse_server_name(std::string_view text) {
  if (text.empty()) return make_error("empty_server_name", "server name is empty");
  if (text.size() > kMaxServerNameLength) {
    return make_error("server_name_too_long", "server name longer than 261 characters");
  }
  std::string_view host;
  std::optional<std::string_view> port_text;
  bool bracketed = false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return make_error("invalid_ipv6", "IPv6 literal without closing ']'");
    }
    host = text.substr(1, close - 1);
    bracketed = true;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return make_error("invalid_port", "expected ':' after ']'");
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      if (port_text->find(':') != std::string_view::npos) {
        return make_error("invalid_port", "more than one ':' outside brackets");
      }
    }
  }
  auto name = parse_host_part(text, host, bracketed);
  if (!name) return name;
  if (port_text) {
    auto port = parse_port(*port_text);
    if (!port) return port.error();
    name->port = *port;
  }
  return name;
}

Result<ServerName> parse_host(std::string_view text) {
  if (text.empty()) return make_error("empty_server_name", "host is empty");
  if (text.front() == '[') {
    if (text.back() != ']') return make_error("invalid_ipv6", "IPv6 literal without closing ']'");
    return parse_host_part(text, text.substr(1, text.size() - 2), true);
  }
  if (text.find(':') != std::string_view::npos) {
    return make_error("invalid_dns_name", "a host cannot contain ':'");
  }
  return parse_host_part(text, text, false);
}

}  // namespace bordergate::discovery
