#include "gateway/config/outbound_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "gateway/config/config_reader.h"
#include "gateway/discovery/server_name.h"

namespace bordergate::outbound {
namespace {

using Millis = std::chrono::milliseconds;

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

// An absent key is reported at its mapping (the name says which key).
std::optional<std::string> required_string(ConfigReader& r, const YAML::Node& map, const char* key,
                                           const std::string& name) {
  const YAML::Node n = map[key];
  return r.non_empty(n ? n : map, name);
}

std::optional<std::string> ip_address(ConfigReader& r, const YAML::Node& map,
                                      const std::string& name) {
  auto a = required_string(r, map, "address", name);
  if (a && !discovery::IpAddress::parse(*a).ok()) {
    r.error(map["address"], name + " must be an IP address");
    return std::nullopt;
  }
  return a;
}

void port(ConfigReader& r, const YAML::Node& map, const std::string& name, std::uint16_t& out) {
  if (!map["port"]) return;
  if (auto p = r.integer(map["port"], name, 1, 65535)) out = static_cast<std::uint16_t>(*p);
}

// Whole seconds, at least one (leaf lifetimes and proxy timeouts).
void seconds(ConfigReader& r, const YAML::Node& n, const std::string& name, auto& out) {
  if (!n) return;
  if (auto d = r.duration(n, name, std::chrono::seconds(1), Millis::max())) {
    out = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
}

void load_listen(ConfigReader& r, const YAML::Node& n, OutboundConfig& c) {
  if (!r.check_map(n, "outbound.listen", {"address", "port"})) return;
  if (n["address"]) {
    if (auto a = ip_address(r, n, "outbound.listen.address")) c.listen_address = *a;
  }
  port(r, n, "outbound.listen.port", c.listen_port);
}

void load_listen_tls(ConfigReader& r, const YAML::Node& n, const std::string& base_dir,
                     OutboundConfig& c) {
  if (!r.check_map(n, "outbound.listen_tls",
                   {"address", "port", "certificate", "private_key", "min_version"})) {
    return;
  }
  c.tls = true;
  if (auto a = ip_address(r, n, "outbound.listen_tls.address")) c.tls_address = *a;
  port(r, n, "outbound.listen_tls.port", c.tls_port);
  auto cert = required_string(r, n, "certificate", "outbound.listen_tls.certificate");
  auto key = required_string(r, n, "private_key", "outbound.listen_tls.private_key");
  if (YAML::Node v = n["min_version"]) {
    auto version = r.non_empty(v, "outbound.listen_tls.min_version");
    if (version && *version != "1.2" && *version != "1.3") {
      r.error(v, "outbound.listen_tls.min_version must be \"1.2\" or \"1.3\"");
    } else if (version) {
      c.tls_listen.min_version = *version;
    }
  }
  CertificateConfig entry;
  entry.certificate = resolve(base_dir, cert.value_or(""));
  entry.private_key = resolve(base_dir, key.value_or(""));
  c.tls_listen.certificates.push_back(std::move(entry));
}

void load_direct_listen(ConfigReader& r, const YAML::Node& n, OutboundConfig& c) {
  if (!r.check_map(n, "outbound.direct_listen", {"address", "port"})) return;
  c.direct = true;
  if (auto a = ip_address(r, n, "outbound.direct_listen.address")) c.direct_address = *a;
  port(r, n, "outbound.direct_listen.port", c.direct_port);
}

void load_clients(ConfigReader& r, const YAML::Node& node, OutboundConfig& c) {
  std::vector<std::string> clients = {"127.0.0.0/8", "::1"};
  if (YAML::Node n = node["clients"]) {
    if (!r.sequence(n, "outbound.clients", true, "CIDR ranges")) return;
    clients.clear();
    for (const auto& item : n) {
      if (auto s = r.non_empty(item, "outbound.clients entry")) clients.push_back(*s);
    }
  }
  for (const auto& text : clients) {
    auto cidr = discovery::Cidr::parse(text);
    if (!cidr) {
      r.error(node["clients"] ? node["clients"] : node, cidr.error().message);
      continue;
    }
    c.clients.push_back(*cidr);
  }
}

void load_egress(ConfigReader& r, const YAML::Node& n, OutboundConfig& c) {
  if (!r.sequence(n, "outbound.egress", false)) return;
  for (const auto& item : n) {
    if (!r.check_map(item, "outbound.egress entry", {"host", "mode", "ports"})) continue;
    const std::size_t before = r.error_count();
    EgressEntrySpec spec;
    spec.host = required_string(r, item, "host", "outbound.egress host").value_or("");
    spec.mode = required_string(r, item, "mode", "outbound.egress mode").value_or("");
    if (YAML::Node ports = item["ports"]) {
      if (r.sequence(ports, "outbound.egress ports", true)) {
        for (const auto& p : ports) {
          auto v = r.integer(p, "outbound.egress port", 1, 65535);
          if (v) spec.ports.push_back(static_cast<std::uint16_t>(*v));
        }
      }
    }
    if (r.error_count() != before) continue;
    // Checked here so a bad pattern is a configuration error with a position.
    if (auto st = check_egress_entry(spec); !st) {
      r.error(item, st.error().message);
      continue;
    }
    c.egress.push_back(std::move(spec));
  }
}

void load_delegation_hosts(ConfigReader& r, const YAML::Node& n, OutboundConfig& c) {
  if (!r.sequence(n, "outbound.delegation_hosts", false)) return;
  for (const auto& item : n) {
    auto host = r.non_empty(item, "outbound.delegation_hosts entry");
    if (!host) continue;
    if (auto st = check_delegation_host(*host); !st) {
      r.error(item, st.error().message);
      continue;
    }
    c.delegation_hosts.push_back(*host);
  }
}

// The checks across keys, once every key has been read cleanly.
void check_section(ConfigReader& r, const YAML::Node& node, OutboundConfig& c) {
  if (c.tls) {
    // Writing only the TLS listener means the plain one is not wanted.
    c.plain = static_cast<bool>(node["listen"]);
    if (c.plain && c.tls_address == c.listen_address && c.tls_port == c.listen_port) {
      r.error(node["listen_tls"], "outbound.listen_tls must differ from outbound.listen");
    }
  }
  if (c.direct) {
    const YAML::Node n = node["direct_listen"];
    if (c.plain && c.direct_address == c.listen_address && c.direct_port == c.listen_port) {
      r.error(n, "outbound.direct_listen must differ from outbound.listen");
    } else if (c.tls && c.direct_address == c.tls_address && c.direct_port == c.tls_port) {
      r.error(n, "outbound.direct_listen must differ from outbound.listen_tls");
    }
  }
  if (YAML::Node n = node["leaf_renew_before"]) {
    if (c.leaf.renew_before >= c.leaf.lifetime) {
      r.error(n, "leaf_renew_before must be below leaf_lifetime");
    }
  } else {
    // Default: the last hour, or the last quarter of a lifetime shorter than 4 h.
    c.leaf.renew_before =
        std::min<std::chrono::seconds>(std::chrono::hours(1), c.leaf.lifetime / 4);
  }
  if (!c.enabled) return;
  if (c.credentials_file.empty()) {
    r.error(node, "outbound.credentials_file is required: the proxy never runs open");
  }
  if (c.ca_certificate_file.empty()) r.error(node, "outbound.interception_ca is required");
}

}  // namespace

bool load_outbound_config(ConfigReader& r, const YAML::Node& node, const std::string& base_dir,
                          OutboundConfig& c) {
  const std::size_t before = r.error_count();
  if (!r.check_map(node, "outbound",
                   {"enabled", "listen", "listen_tls", "direct_listen", "clients",
                    "credentials_file", "interception_ca", "leaf_lifetime", "leaf_renew_before",
                    "leaf_cache", "egress", "delegation_hosts", "head_timeout", "idle_timeout",
                    "connect_timeout", "max_response_bytes"})) {
    return false;
  }
  c.enabled = true;  // writing the section is the opt-in
  if (YAML::Node n = node["enabled"]) c.enabled = r.boolean(n, "outbound.enabled").value_or(true);
  if (YAML::Node n = node["listen"]) load_listen(r, n, c);
  if (YAML::Node n = node["listen_tls"]) load_listen_tls(r, n, base_dir, c);
  if (YAML::Node n = node["direct_listen"]) load_direct_listen(r, n, c);
  load_clients(r, node, c);
  if (YAML::Node n = node["credentials_file"]) {
    auto s = r.non_empty(n, "outbound.credentials_file");
    if (s) c.credentials_file = resolve(base_dir, *s);
  }
  if (YAML::Node n = node["interception_ca"]) {
    if (r.check_map(n, "outbound.interception_ca", {"certificate", "key"})) {
      auto cert = required_string(r, n, "certificate", "outbound.interception_ca.certificate");
      auto key = required_string(r, n, "key", "outbound.interception_ca.key");
      if (cert && key) {
        c.ca_certificate_file = resolve(base_dir, *cert);
        c.ca_key_file = resolve(base_dir, *key);
      }
    }
  }
  seconds(r, node["leaf_lifetime"], "outbound.leaf_lifetime", c.leaf.lifetime);
  seconds(r, node["leaf_renew_before"], "outbound.leaf_renew_before", c.leaf.renew_before);
  if (YAML::Node n = node["leaf_cache"]) {
    if (auto v = r.integer(n, "outbound.leaf_cache", 1, 1'000'000)) c.leaf.cache_capacity = *v;
  }
  seconds(r, node["head_timeout"], "outbound.head_timeout", c.head_timeout);
  seconds(r, node["idle_timeout"], "outbound.idle_timeout", c.idle_timeout);
  if (YAML::Node n = node["connect_timeout"]) {
    // Milliseconds count here (a loopback or LAN destination answers in far less than 1 s).
    auto d = r.duration(n, "outbound.connect_timeout", Millis(1), std::chrono::minutes(10));
    if (d) c.connect_timeout = *d;
  }
  if (YAML::Node n = node["max_response_bytes"]) {
    auto v = r.integer(n, "outbound.max_response_bytes", 1024, 1ULL << 32);
    if (v) c.max_response_bytes = *v;
  }
  if (YAML::Node n = node["egress"]) load_egress(r, n, c);
  if (YAML::Node n = node["delegation_hosts"]) load_delegation_hosts(r, n, c);
  if (r.error_count() == before) check_section(r, node, c);
  return r.error_count() == before;
}

Status check_egress_entry(const EgressEntrySpec& spec) {
  if (spec.mode != "tunnel" && spec.mode != "intercept") {
    return make_error("egress_bad_mode",
                      "egress entry " + spec.host + ": mode must be tunnel or intercept");
  }
  std::string_view host = spec.host;
  const bool wildcard = host.starts_with("*.");
  if (wildcard) host.remove_prefix(2);
  // The remaining text must itself be a valid host (no port: ports are a separate list).
  auto parsed = discovery::parse_host(host);
  if (!parsed || (wildcard && parsed->is_ip_literal()) ||
      host.find('*') != std::string_view::npos) {
    return make_error(
        "egress_bad_pattern",
        "egress entry " + spec.host + ": expected a host name, *.domain or an IP literal");
  }
  if (std::find(spec.ports.begin(), spec.ports.end(), 0) != spec.ports.end()) {
    return make_error("egress_bad_pattern", "egress entry " + spec.host + ": port 0");
  }
  return {};
}

Status check_delegation_host(std::string_view pattern) {
  std::string_view host = pattern;
  if (host.starts_with("*.")) host.remove_prefix(2);
  auto parsed = discovery::parse_server_name(host);
  if (!parsed || parsed->is_ip_literal() || parsed->port ||
      host.find('*') != std::string_view::npos) {
    return make_error("delegation_bad_pattern", "delegation host '" + std::string(pattern) +
                                                    "' is not a DNS name or *.domain");
  }
  return {};
}

}  // namespace bordergate::outbound
