#include "gateway/config/discovery_config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <optional>
#include <set>

#include "gateway/config/config_loader.h"
#include "gateway/config/units.h"

namespace bordergate {
namespace {

using Millis = std::chrono::milliseconds;

class Reader {
 public:
  Reader(const std::string& file, std::vector<ConfigError>& errors)
      : file_(file), errors_(errors) {}

  void error(const YAML::Node& at, const std::string& message) {
    const YAML::Mark m = at.Mark();
    if (m.is_null()) {
      errors_.push_back({file_, 0, 0, message});
    } else {
      errors_.push_back({file_, m.line + 1, m.column + 1, message});
    }
  }

  bool check_map(const YAML::Node& node, const std::string& what,
                 std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) {
      error(node, what + " must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        error(key, "keys in " + what + " must be strings");
        continue;
      }
      bool known = false;
      for (auto a : allowed) known = known || a == key.Scalar();
      if (!known) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        error(key,
              "unknown key '" + key.Scalar() + "' in " + what + " (expected one of: " + list + ")");
      }
      if (!seen.insert(key.Scalar()).second) {
        error(key, "duplicate key '" + key.Scalar() + "' in " + what);
      }
    }
    return true;
  }

  std::optional<std::string> string(const YAML::Node& map, const char* key) {
    YAML::Node n = map[key];
    if (!n) return std::nullopt;
    if (!n.IsScalar() || n.Scalar().empty()) {
      error(n, std::string("'") + key + "' must be a non-empty string");
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::vector<std::pair<YAML::Node, std::string>> strings(const YAML::Node& map, const char* key) {
    std::vector<std::pair<YAML::Node, std::string>> out;
    YAML::Node n = map[key];
    if (!n) return out;
    if (!n.IsSequence()) {
      error(n, std::string("'") + key + "' must be a list of strings");
      return out;
    }
    for (const auto& item : n) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        error(item, std::string("entries of '") + key + "' must be non-empty strings");
      } else {
        out.emplace_back(item, item.Scalar());
      }
    }
    return out;
  }

  void duration(const YAML::Node& map, const char* key, Millis& out, Millis min, Millis max) {
    YAML::Node n = map[key];
    if (!n) return;
    std::optional<Millis> d = n.IsScalar() ? parse_duration(n.Scalar()) : std::nullopt;
    if (!d) return error(n, std::string("'") + key + "' must be a duration such as 500ms or 5s");
    if (*d < min || *d > max) {
      return error(n, std::string("'") + key + "' must be between " + std::to_string(min.count()) +
                          "ms and " + std::to_string(max.count()) + "ms");
    }
    out = *d;
  }

  template <class Int>
  void integer(const YAML::Node& map, const char* key, Int& out, std::uint64_t min,
               std::uint64_t max) {
    YAML::Node n = map[key];
    if (!n) return;
    std::uint64_t v = 0;
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v < min || v > max) {
      return error(n, std::string("'") + key + "' must be an integer between " +
                          std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<Int>(v);
  }

 private:
  const std::string& file_;
  std::vector<ConfigError>& errors_;
};

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

// Relative paths in these sections resolve against state_dir, like every path of the file.
std::string under_state_dir(const std::string& path, const std::string& state_dir) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(state_dir) / p;
  return p.lexically_normal().string();
}

void load_discovery(Reader& r, const YAML::Node& n, const std::string& state_dir,
                    DiscoveryConfig& d) {
  if (!r.check_map(n, "discovery",
                   {"resolvers", "static_routes", "allowed_ranges", "ca_file", "dns_timeout",
                    "connect_timeout", "request_timeout", "well_known"})) {
    return;
  }
  for (auto& [node, text] : r.strings(n, "resolvers")) {
    if (!plausible_resolver(text)) {
      r.error(node, "resolver '" + text +
                        "' must be an IP address with an optional port "
                        "(127.0.0.1:53, [::1]:5353)");
    }
    d.resolvers.push_back(text);
  }
  for (auto& [node, text] : r.strings(n, "allowed_ranges")) {
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
          route.target = r.string(value, "target").value_or("");
          route.tls_name = r.string(value, "tls_name").value_or("");
        }
        if (route.server_name.empty() || route.target.empty()) {
          r.error(value, "a static route needs a server name and a target host[:port]");
          continue;
        }
        d.static_routes.push_back(std::move(route));
      }
    }
  }
  if (auto ca = r.string(n, "ca_file")) d.ca_file = under_state_dir(*ca, state_dir);
  r.duration(n, "dns_timeout", d.dns_timeout, Millis(100), Millis(60'000));
  r.duration(n, "connect_timeout", d.connect_timeout, Millis(100), Millis(60'000));
  r.duration(n, "request_timeout", d.request_timeout, Millis(100), Millis(300'000));
  if (YAML::Node wk = n["well_known"]) {
    if (r.check_map(wk, "discovery.well_known",
                    {"max_body_bytes", "max_redirects", "default_ttl", "min_ttl", "max_ttl",
                     "error_ttl", "error_max_ttl", "stale_grace", "cache_entries"})) {
      r.integer(wk, "max_body_bytes", d.well_known_max_body_bytes, 256, 1024 * 1024);
      r.integer(wk, "max_redirects", d.well_known_max_redirects, 0, 10);
      r.duration(wk, "default_ttl", d.well_known_default_ttl, Millis(0), Millis(48 * 3600'000));
      r.duration(wk, "min_ttl", d.well_known_min_ttl, Millis(0), Millis(48 * 3600'000));
      r.duration(wk, "max_ttl", d.well_known_max_ttl, Millis(0), Millis(48 * 3600'000));
      r.duration(wk, "error_ttl", d.well_known_error_ttl, Millis(0), Millis(24 * 3600'000));
      r.duration(wk, "error_max_ttl", d.well_known_error_max_ttl, Millis(0), Millis(24 * 3600'000));
      r.duration(wk, "stale_grace", d.well_known_stale_grace, Millis(0), Millis(24 * 3600'000));
      r.integer(wk, "cache_entries", d.well_known_cache_entries, 1, 10'000'000);
      if (d.well_known_min_ttl > d.well_known_max_ttl) {
        r.error(wk, "'min_ttl' must not exceed 'max_ttl'");
      }
    }
  }
}

void load_key_fetch(Reader& r, const YAML::Node& n, const std::string& state_dir,
                    KeyFetchConfig& k) {
  // `pinned` and `pinned_file` belong to the key store's own loader; accepted here so the
  // check stays strict.
  if (!r.check_map(n, "keys",
                   {"pinned", "pinned_file", "cache_file", "notary_servers", "fetch_mode",
                    "fetch_timeout"})) {
    return;
  }
  if (auto mode = r.string(n, "fetch_mode")) {
    if (*mode != "direct" && *mode != "notary" && *mode != "direct_then_notary") {
      r.error(n["fetch_mode"], "'fetch_mode' must be one of direct, notary, direct_then_notary");
    }
    k.fetch_mode = *mode;
  }
  r.duration(n, "fetch_timeout", k.fetch_timeout, Millis(100), Millis(300'000));
  if (auto file = r.string(n, "cache_file")) k.cache_file = under_state_dir(*file, state_dir);
  if (YAML::Node list = n["notary_servers"]) {
    if (!list.IsSequence()) {
      r.error(list, "'notary_servers' must be a list of {server_name, keys}");
    } else {
      for (const auto& item : list) {
        if (!r.check_map(item, "a notary server", {"server_name", "keys"})) continue;
        NotaryServerConfig notary;
        notary.server_name = r.string(item, "server_name").value_or("");
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

void load_discovery_config(const YAML::Node& root, const std::string& file,
                           const std::string& state_dir, DiscoveryConfig& discovery,
                           KeyFetchConfig& keys, std::vector<ConfigError>& errors) {
  Reader reader(file, errors);
  keys.cache_file =
      (std::filesystem::path(state_dir) / "server-keys.sqlite").lexically_normal().string();
  if (YAML::Node n = root["discovery"]) load_discovery(reader, n, state_dir, discovery);
  if (YAML::Node n = root["keys"]) load_key_fetch(reader, n, state_dir, keys);
}

}  // namespace bordergate
