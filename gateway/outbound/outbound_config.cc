#include "gateway/outbound/outbound_config.h"

#include <algorithm>
#include <set>

#include "gateway/config/units.h"
#include "gateway/outbound/delegation_binding.h"

namespace bordergate::outbound {
namespace {

Error invalid(const YAML::Node& at, const std::string& message) {
  const auto mark = at.Mark();
  return make_error(
      "outbound_config_invalid",
      std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": " + message);
}

Status check_keys(const YAML::Node& n, const std::string& what, std::set<std::string> allowed) {
  if (!n.IsMap()) return invalid(n, what + " must be a map");
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar() || !allowed.contains(it->first.Scalar())) {
      return invalid(it->first, "unknown key in " + what + ": " + it->first.Scalar());
    }
  }
  return {};
}

Result<std::string> scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar() || n.Scalar().empty()) return invalid(n, what + " must be a non-empty string");
  return n.Scalar();
}

Result<std::uint64_t> integer(const YAML::Node& n, const std::string& what, std::uint64_t lo,
                              std::uint64_t hi) {
  auto s = scalar(n, what);
  if (!s) return s.error();
  std::uint64_t v = 0;
  for (char c : *s) {
    if (c < '0' || c > '9' || v > hi) return invalid(n, what + " must be an integer");
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v < lo || v > hi) {
    return invalid(n,
                   what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v;
}

Result<std::chrono::seconds> duration(const YAML::Node& n, const std::string& what) {
  auto s = scalar(n, what);
  if (!s) return s.error();
  auto d = parse_duration(*s);
  if (!d || *d < std::chrono::seconds(1)) return invalid(n, what + " must be a duration >= 1s");
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

}  // namespace

Result<OutboundConfig> parse_outbound_config(const YAML::Node& node, const std::string& base_dir) {
  OutboundConfig c;
  if (auto st =
          check_keys(node, "outbound",
                     {"enabled", "listen", "listen_tls", "direct_listen", "clients",
                      "credentials_file", "interception_ca", "leaf_lifetime", "leaf_renew_before",
                      "leaf_cache", "egress", "delegation_hosts", "head_timeout", "idle_timeout",
                      "connect_timeout", "max_response_bytes"});
      !st) {
    return st.error();
  }
  if (YAML::Node n = node["enabled"]) {
    if (!n.IsScalar() || (n.Scalar() != "true" && n.Scalar() != "false")) {
      return invalid(n, "outbound.enabled must be true or false");
    }
    c.enabled = n.Scalar() == "true";
  } else {
    c.enabled = true;  // writing the section is the opt-in
  }
  if (YAML::Node n = node["listen"]) {
    if (auto st = check_keys(n, "outbound.listen", {"address", "port"}); !st) return st.error();
    if (n["address"]) {
      auto a = scalar(n["address"], "outbound.listen.address");
      if (!a) return a.error();
      if (!discovery::IpAddress::parse(*a).ok()) {
        return invalid(n["address"], "outbound.listen.address must be an IP address");
      }
      c.listen_address = *a;
    }
    if (n["port"]) {
      auto p = integer(n["port"], "outbound.listen.port", 1, 65535);
      if (!p) return p.error();
      c.listen_port = static_cast<std::uint16_t>(*p);
    }
  }
  if (YAML::Node n = node["listen_tls"]) {
    if (auto st = check_keys(n, "outbound.listen_tls",
                             {"address", "port", "certificate", "private_key", "min_version"});
        !st) {
      return st.error();
    }
    auto a = scalar(n["address"], "outbound.listen_tls.address");
    if (!a) return a.error();
    if (!discovery::IpAddress::parse(*a).ok()) {
      return invalid(n["address"], "outbound.listen_tls.address must be an IP address");
    }
    c.tls = true;
    c.tls_address = *a;
    if (n["port"]) {
      auto p = integer(n["port"], "outbound.listen_tls.port", 1, 65535);
      if (!p) return p.error();
      c.tls_port = static_cast<std::uint16_t>(*p);
    }
    auto cert = scalar(n["certificate"], "outbound.listen_tls.certificate");
    if (!cert) return cert.error();
    auto key = scalar(n["private_key"], "outbound.listen_tls.private_key");
    if (!key) return key.error();
    if (n["min_version"]) {
      auto v = scalar(n["min_version"], "outbound.listen_tls.min_version");
      if (!v) return v.error();
      if (*v != "1.2" && *v != "1.3") {
        return invalid(n["min_version"],
                       "outbound.listen_tls.min_version must be \"1.2\" or \"1.3\"");
      }
      c.tls_listen.min_version = *v;
    }
    CertificateConfig entry;
    entry.certificate = resolve(base_dir, *cert);
    entry.private_key = resolve(base_dir, *key);
    c.tls_listen.certificates.push_back(std::move(entry));
    // Writing only the TLS listener means the plain one is not wanted.
    c.plain = static_cast<bool>(node["listen"]);
    if (c.plain && c.tls_address == c.listen_address && c.tls_port == c.listen_port) {
      return invalid(n, "outbound.listen_tls must differ from outbound.listen");
    }
  }
  if (YAML::Node n = node["direct_listen"]) {
    if (auto st = check_keys(n, "outbound.direct_listen", {"address", "port"}); !st) {
      return st.error();
    }
    auto a = scalar(n["address"], "outbound.direct_listen.address");
    if (!a) return a.error();
    if (!discovery::IpAddress::parse(*a).ok()) {
      return invalid(n["address"], "outbound.direct_listen.address must be an IP address");
    }
    c.direct = true;
    c.direct_address = *a;
    if (n["port"]) {
      auto p = integer(n["port"], "outbound.direct_listen.port", 1, 65535);
      if (!p) return p.error();
      c.direct_port = static_cast<std::uint16_t>(*p);
    }
    if (c.plain && c.direct_address == c.listen_address && c.direct_port == c.listen_port) {
      return invalid(n, "outbound.direct_listen must differ from outbound.listen");
    }
    if (c.tls && c.direct_address == c.tls_address && c.direct_port == c.tls_port) {
      return invalid(n, "outbound.direct_listen must differ from outbound.listen_tls");
    }
  }
  std::vector<std::string> clients = {"127.0.0.0/8", "::1"};
  if (YAML::Node n = node["clients"]) {
    if (!n.IsSequence() || n.size() == 0) {
      return invalid(n, "outbound.clients must be a non-empty list of CIDR ranges");
    }
    clients.clear();
    for (const auto& item : n) {
      auto s = scalar(item, "outbound.clients entry");
      if (!s) return s.error();
      clients.push_back(*s);
    }
  }
  for (const auto& text : clients) {
    auto cidr = discovery::Cidr::parse(text);
    if (!cidr) return invalid(node["clients"] ? node["clients"] : node, cidr.error().message);
    c.clients.push_back(*cidr);
  }
  if (YAML::Node n = node["credentials_file"]) {
    auto s = scalar(n, "outbound.credentials_file");
    if (!s) return s.error();
    c.credentials_file = resolve(base_dir, *s);
  }
  if (YAML::Node n = node["interception_ca"]) {
    if (auto st = check_keys(n, "outbound.interception_ca", {"certificate", "key"}); !st) {
      return st.error();
    }
    auto cert = scalar(n["certificate"], "outbound.interception_ca.certificate");
    if (!cert) return cert.error();
    auto key = scalar(n["key"], "outbound.interception_ca.key");
    if (!key) return key.error();
    c.ca_certificate_file = resolve(base_dir, *cert);
    c.ca_key_file = resolve(base_dir, *key);
  }
  if (YAML::Node n = node["leaf_lifetime"]) {
    auto d = duration(n, "outbound.leaf_lifetime");
    if (!d) return d.error();
    c.leaf.lifetime = *d;
  }
  if (YAML::Node n = node["leaf_renew_before"]) {
    auto d = duration(n, "outbound.leaf_renew_before");
    if (!d) return d.error();
    c.leaf.renew_before = *d;
  }
  if (node["leaf_renew_before"]) {
    if (c.leaf.renew_before >= c.leaf.lifetime) {
      return invalid(node["leaf_renew_before"], "leaf_renew_before must be below leaf_lifetime");
    }
  } else {
    // Default: the last hour, or the last quarter of a lifetime shorter than 4 h.
    c.leaf.renew_before =
        std::min<std::chrono::seconds>(std::chrono::hours(1), c.leaf.lifetime / 4);
  }
  if (YAML::Node n = node["leaf_cache"]) {
    auto v = integer(n, "outbound.leaf_cache", 1, 1'000'000);
    if (!v) return v.error();
    c.leaf.cache_capacity = *v;
  }
  if (YAML::Node n = node["head_timeout"]) {
    auto d = duration(n, "outbound.head_timeout");
    if (!d) return d.error();
    c.head_timeout = *d;
  }
  if (YAML::Node n = node["idle_timeout"]) {
    auto d = duration(n, "outbound.idle_timeout");
    if (!d) return d.error();
    c.idle_timeout = *d;
  }
  if (YAML::Node n = node["connect_timeout"]) {
    // Milliseconds count here (a loopback or LAN destination answers in far less than 1 s).
    auto s = scalar(n, "outbound.connect_timeout");
    if (!s) return s.error();
    auto d = parse_duration(*s);
    if (!d || *d < std::chrono::milliseconds(1) || *d > std::chrono::minutes(10)) {
      return invalid(n, "outbound.connect_timeout must be a duration between 1ms and 10m");
    }
    c.connect_timeout = *d;
  }
  if (YAML::Node n = node["max_response_bytes"]) {
    auto v = integer(n, "outbound.max_response_bytes", 1024, 1ULL << 32);
    if (!v) return v.error();
    c.max_response_bytes = *v;
  }
  if (YAML::Node n = node["egress"]) {
    if (!n.IsSequence()) return invalid(n, "outbound.egress must be a list");
    for (const auto& item : n) {
      if (auto st = check_keys(item, "outbound.egress entry", {"host", "mode", "ports"}); !st) {
        return st.error();
      }
      EgressEntrySpec spec;
      auto host = scalar(item["host"], "outbound.egress host");
      if (!host) return host.error();
      auto mode = scalar(item["mode"], "outbound.egress mode");
      if (!mode) return mode.error();
      spec.host = *host;
      spec.mode = *mode;
      if (YAML::Node ports = item["ports"]) {
        if (!ports.IsSequence() || ports.size() == 0) {
          return invalid(ports, "outbound.egress ports must be a non-empty list");
        }
        for (const auto& p : ports) {
          auto v = integer(p, "outbound.egress port", 1, 65535);
          if (!v) return v.error();
          spec.ports.push_back(static_cast<std::uint16_t>(*v));
        }
      }
      c.egress.push_back(std::move(spec));
    }
    // Compiled once here so a bad pattern is a configuration error with a position.
    if (auto compiled = EgressAllowList::compile(c.egress); !compiled) {
      return invalid(n, compiled.error().message);
    }
  }
  if (YAML::Node n = node["delegation_hosts"]) {
    if (!n.IsSequence()) return invalid(n, "outbound.delegation_hosts must be a list");
    for (const auto& item : n) {
      auto host = scalar(item, "outbound.delegation_hosts entry");
      if (!host) return host.error();
      c.delegation_hosts.push_back(*host);
    }
    if (auto compiled = DelegationHosts::compile(c.delegation_hosts); !compiled) {
      return invalid(n, compiled.error().message);
    }
  }
  if (c.enabled) {
    if (c.credentials_file.empty()) {
      return invalid(node, "outbound.credentials_file is required: the proxy never runs open");
    }
    if (c.ca_certificate_file.empty()) {
      return invalid(node, "outbound.interception_ca is required");
    }
  }
  return c;
}

std::vector<ProxyListenAddress> proxy_listen_addresses(const OutboundConfig& c) {
  std::vector<ProxyListenAddress> out;
  if (c.plain) out.push_back({ProxyListener::connect, c.listen_address, c.listen_port});
  if (c.tls) out.push_back({ProxyListener::connect_tls, c.tls_address, c.tls_port});
  if (c.direct) out.push_back({ProxyListener::direct, c.direct_address, c.direct_port});
  return out;
}

}  // namespace bordergate::outbound
