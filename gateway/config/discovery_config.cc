#include "gateway/config/discovery_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>

#include "gateway/config/config_reader.h"
#include "gateway/config/value_syntax.h"

namespace bordergate {
namespace {

using Millis = std::chrono::milliseconds;

// Relative paths in these sections resolve against state_dir, like every path of the file.
std::string under_state_dir(const std::string& path, const std::string& state_dir) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(state_dir) / p;
  return p.lexically_normal().string();
}

void load_discovery(ConfigReader& r, const YAML::Node& n, const std::string& state_dir,
                    DiscoveryConfig& d) {
  if (!r.check_map(n, "discovery",
                   {"resolvers", "static_routes", "allowed_ranges", "ca_file", "dns_timeout",
                    "connect_timeout", "request_timeout", "well_known"})) {
    return;
  }
  for (auto& [node, text] : r.get_strings(n, "resolvers")) {
    if (!plausible_resolver(text)) {
      r.error(node, "resolver '" + text +
                        "' must be an IP address with an optional port "
                        "(127.0.0.1:53, [::1]:5353)");
    }
    d.resolvers.push_back(text);
  }
  for (auto& [node, text] : r.get_strings(n, "allowed_ranges")) {
    if (!plausible_cidr(text)) {
      r.error(node, "'" + text + "' must be an address or CIDR range (127.0.0.0/8, ::1/128)");
    }
    d.allowed_ranges.push_back(text);
  }
  if (YAML::Node routes = n["static_routes"]) {
    if (!routes.IsMap()) {
      r.error(routes, "'static_routes' must map server names to host:port or {target, tls_name}");
    } else {
      for (auto it = routes.begin(); it != routes.end(); ++it) {
        StaticRouteConfig route;
        route.server_name = it->first.as<std::string>("");
        const YAML::Node value = it->second;
        if (value.IsScalar()) {
          route.target = value.Scalar();
        } else if (r.check_map(value, "static route '" + route.server_name + "'",
                               {"target", "tls_name"})) {
          route.target = r.get_non_empty(value, "target").value_or("");
          route.tls_name = r.get_non_empty(value, "tls_name").value_or("");
        }
        if (route.server_name.empty() || route.target.empty()) {
          r.error(value, "a static route needs a server name and a target host[:port]");
          continue;
        }
        d.static_routes.push_back(std::move(route));
      }
    }
  }
  if (auto ca = r.get_non_empty(n, "ca_file")) d.ca_file = under_state_dir(*ca, state_dir);
  r.get_duration(n, "dns_timeout", d.dns_timeout, Millis(100), Millis(60'000));
  r.get_duration(n, "connect_timeout", d.connect_timeout, Millis(100), Millis(60'000));
  r.get_duration(n, "request_timeout", d.request_timeout, Millis(100), Millis(300'000));
  if (YAML::Node wk = n["well_known"]) {
    if (r.check_map(wk, "discovery.well_known",
                    {"max_body_bytes", "max_redirects", "default_ttl", "min_ttl", "max_ttl",
                     "error_ttl", "error_max_ttl", "stale_grace", "cache_entries"})) {
      r.get_uint(wk, "max_body_bytes", d.well_known_max_body_bytes, 256, 1024 * 1024);
      r.get_uint(wk, "max_redirects", d.well_known_max_redirects, 0, 10);
      r.get_duration(wk, "default_ttl", d.well_known_default_ttl, Millis(0), Millis(48 * 3600'000));
      r.get_duration(wk, "min_ttl", d.well_known_min_ttl, Millis(0), Millis(48 * 3600'000));
      r.get_duration(wk, "max_ttl", d.well_known_max_ttl, Millis(0), Millis(48 * 3600'000));
      r.get_duration(wk, "error_ttl", d.well_known_error_ttl, Millis(0), Millis(24 * 3600'000));
      r.get_duration(wk, "error_max_ttl", d.well_known_error_max_ttl, Millis(0),
                     Millis(24 * 3600'000));
      r.get_duration(wk, "stale_grace", d.well_known_stale_grace, Millis(0), Millis(24 * 3600'000));
      r.get_uint(wk, "cache_entries", d.well_known_cache_entries, 1, 10'000'000);
      if (d.well_known_min_ttl > d.well_known_max_ttl) {
        r.error(wk, "'min_ttl' must not exceed 'max_ttl'");
      }
    }
  }
}

void load_key_fetch(ConfigReader& r, const YAML::Node& n, const std::string& state_dir,
                    KeyFetchConfig& k) {
  // `pinned` and `pinned_file` belong to the key store's own loader; accepted here so the
  // check stays strict.
  if (!r.check_map(n, "keys",
                   {"pinned", "pinned_file", "cache_file", "notary_servers", "fetch_mode",
                    "fetch_timeout"})) {
    return;
  }
  if (auto mode = r.get_non_empty(n, "fetch_mode")) {
    if (*mode != "direct" && *mode != "notary" && *mode != "direct_then_notary") {
      r.error(n["fetch_mode"], "'fetch_mode' must be one of direct, notary, direct_then_notary");
    }
    k.fetch_mode = *mode;
  }
  r.get_duration(n, "fetch_timeout", k.fetch_timeout, Millis(100), Millis(300'000));
  if (auto file = r.get_non_empty(n, "cache_file"))
    k.cache_file = under_state_dir(*file, state_dir);
  if (YAML::Node list = n["notary_servers"]) {
    if (r.sequence(list, "'notary_servers'", false, "{server_name, keys}")) {
      for (const auto& item : list) {
        if (!r.check_map(item, "a notary server", {"server_name", "keys"})) continue;
        NotaryServerConfig notary;
        notary.server_name = r.get_non_empty(item, "server_name").value_or("");
        if (notary.server_name.empty()) r.error(item, "a notary server needs 'server_name'");
        YAML::Node keys = item["keys"];
        if (!keys || !keys.IsMap() || keys.size() == 0) {
          r.error(item, "a notary server needs 'keys' mapping key ids to base64 keys");
          continue;
        }
        for (auto it = keys.begin(); it != keys.end(); ++it) {
          const std::string id = it->first.as<std::string>("");
          if (id.rfind("ed25519:", 0) != 0 || !it->second.IsScalar()) {
            r.error(it->first, "notary key ids look like ed25519:<name> with a base64 value");
            continue;
          }
          notary.keys.emplace_back(id, it->second.Scalar());
        }
        k.notary_servers.push_back(std::move(notary));
      }
    }
  }
  if (k.fetch_mode == "notary" && k.notary_servers.empty()) {
    r.error(n, "'fetch_mode: notary' needs at least one entry in 'notary_servers'");
  }
}

}  // namespace

void load_discovery_config(ConfigReader& reader, const YAML::Node& root,
                           const std::string& state_dir, DiscoveryConfig& discovery,
                           KeyFetchConfig& keys) {
  keys.cache_file =
      (std::filesystem::path(state_dir) / "server-keys.sqlite").lexically_normal().string();
  if (YAML::Node n = root["discovery"]) load_discovery(reader, n, state_dir, discovery);
  if (YAML::Node n = root["keys"]) load_key_fetch(reader, n, state_dir, keys);
}

}  // namespace bordergate
