// The `discovery:` section (outbound server discovery: resolvers, static routes, SSRF exceptions,
// CA bundle, well-known bounds, timeouts) and the fetch settings under `keys:` (notaries, mode,
// timeout, persistent cache file), as plain data. Turned into library options at runtime build.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace YAML {
class Node;
}

namespace bordergate {

class ConfigReader;

struct StaticRouteConfig {
  std::string server_name;  // as written in server names ("example.org" or "example.org:8448")
  std::string target;       // "host[:port]", port defaults to 8448
  std::string tls_name;     // empty: the target's host
  bool operator==(const StaticRouteConfig&) const = default;
};

struct DiscoveryConfig {
  std::vector<std::string> resolvers;  // "127.0.0.1:53", "[::1]:5353"; empty: resolv.conf
  std::vector<StaticRouteConfig> static_routes;
  std::vector<std::string> allowed_ranges;  // CIDRs the SSRF guard lets through
  std::string ca_file;                      // empty: the system store (/etc/ssl/certs)
  std::chrono::milliseconds dns_timeout{5000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{15000};
  // Well-known bounds (federation-notes §1.3 step 3).
  std::uint64_t well_known_max_body_bytes = 50 * 1024;
  int well_known_max_redirects = 5;
  std::chrono::milliseconds well_known_default_ttl{24 * 3600 * 1000};
  std::chrono::milliseconds well_known_min_ttl{5 * 60 * 1000};
  std::chrono::milliseconds well_known_max_ttl{48 * 3600 * 1000};
  std::chrono::milliseconds well_known_error_ttl{2 * 60 * 1000};
  std::chrono::milliseconds well_known_error_max_ttl{3600 * 1000};
  std::chrono::milliseconds well_known_stale_grace{10 * 60 * 1000};
  std::uint32_t well_known_cache_entries = 10000;
  bool operator==(const DiscoveryConfig&) const = default;  // a reload must not change these
};

struct NotaryServerConfig {
  std::string server_name;
  std::vector<std::pair<std::string, std::string>> keys;  // key id -> unpadded base64
  bool operator==(const NotaryServerConfig&) const = default;
};

struct KeyFetchConfig {
  std::vector<NotaryServerConfig> notary_servers;
  std::string fetch_mode = "direct_then_notary";  // direct | notary | direct_then_notary
  std::chrono::milliseconds fetch_timeout{15000};
  std::string cache_file;  // absolute; default <state_dir>/server-keys.sqlite
  bool operator==(const KeyFetchConfig&) const = default;
};

// Reads `discovery:` and the fetch keys of `keys:` from the root mapping (both optional).
// Reports every error through `reader`. Keys of `keys:` owned by other sections (pinned) are left
// to their loader.
void load_discovery_config(ConfigReader& reader, const YAML::Node& root,
                           const std::string& state_dir, DiscoveryConfig& discovery,
                           KeyFetchConfig& keys);

}  // namespace bordergate
