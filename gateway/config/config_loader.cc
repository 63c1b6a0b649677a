// YAML -> Config with strict validation. The Loader walks the document once,
// collecting every error with its position instead of stopping at the first,
// so an operator fixes a file in one pass.
#include "gateway/config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gateway/common/log.h"
#include "gateway/config/config_reader.h"
#include "gateway/config/discovery_config.h"
#include "gateway/config/outbound_config.h"
#include "gateway/config/units.h"
#include "gateway/config/value_syntax.h"

namespace bordergate {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line) + ':' + std::to_string(column);
  }
  out += ": " + message;
  return out;
}

namespace {

namespace fs = std::filesystem;

// The whole document; each section reads its values through the ConfigReader it is.
class Loader : public ConfigReader {
 public:
  Loader(std::string file, fs::path base_dir)
      : ConfigReader(std::move(file)), base_dir_(std::move(base_dir)) {}

  void get_address(const YAML::Node& map, std::string& out) {
    if (get_string(map, "address", out, true) && !valid_ip(out)) {
      error(map["address"], "'address' must be an IPv4 or IPv6 address, got '" + out + "'");
    }
  }

  // A path relative to state_dir; empty stays empty (meaning "not set").
  std::string resolve(const std::string& p) const {
    if (p.empty()) return p;
    fs::path path(p);
    if (path.is_relative()) path = state_dir_ / path;
    return path.lexically_normal().string();
  }

  void load(const YAML::Node& root, Config& c);

 private:
  void load_listeners(const YAML::Node& n, Config& c);
  void load_federation_listener(const YAML::Node& n, ListenerConfig& l);
  void load_upstream(const YAML::Node& n, UpstreamConfig& u);
  void load_limits(const YAML::Node& n, LimitsConfig& l);
  void load_keys(const YAML::Node& n, KeysConfig& k);
  void load_enforcement(const YAML::Node& root, Config& c);
  void load_outbound(const YAML::Node& n, Config& c);
  void load_evidence(const YAML::Node& root, Config& c);

  fs::path base_dir_;
  fs::path state_dir_;
};

void Loader::load(const YAML::Node& root, Config& c) {
  if (!root || root.IsNull()) {
    errors().push_back({file(), 0, 0, "the configuration file is empty"});
    return;
  }
  if (!check_map(root, "the configuration",
                 {"version", "server_name", "state_dir", "workers", "listeners", "upstream",
                  "limits", "shutdown", "logging", "policy", "inbound_enforcement", "keys", "audit",
                  "quarantine", "discovery", "outbound"})) {
    return;
  }
  get_uint(root, "version", c.version, 1, 1, true);
  if (get_string(root, "server_name", c.server_name, true) &&
      !valid_dns_name(c.server_name, false) && !valid_ip(c.server_name)) {
    // The port suffix is not part of the name used for TLS; Matrix allows
    // "host:port" but the gateway fronts one Core name.
    error(root["server_name"], "'server_name' must be a DNS name or IP literal");
  }
  std::string state = ".";
  get_string(root, "state_dir", state, false);
  fs::path sd(state);
  if (sd.is_relative()) sd = base_dir_ / sd;
  state_dir_ = sd.lexically_normal();
  c.state_dir = state_dir_.string();
  get_uint(root, "workers", c.workers, 0, 1024);

  if (YAML::Node n = required(root, "listeners")) load_listeners(n, c);
  if (YAML::Node n = required(root, "upstream")) load_upstream(n, c.upstream);
  if (YAML::Node n = root["limits"]) load_limits(n, c.limits);
  if (YAML::Node n = root["shutdown"]) {
    if (check_map(n, "shutdown", {"drain_timeout"})) {
      get_duration(n, "drain_timeout", c.shutdown.drain_timeout, Millis(0), Millis(3'600'000));
    }
  }
  if (get_string(root, "policy", c.policy, false)) {
    if (c.policy.empty())
      error(root["policy"], "'policy' must name a policy file");
    else
      c.policy = resolve(c.policy);
  }
  load_enforcement(root, c);
  if (YAML::Node n = root["keys"]) load_keys(n, c.keys);
  load_evidence(root, c);
  if (YAML::Node n = root["logging"]) {
    if (check_map(n, "logging", {"level"}) && get_string(n, "level", c.logging.level, false)) {
      LogLevel ignored;
      if (!parse_log_level(c.logging.level, ignored)) {
        error(n["level"], "'level' must be one of debug, info, warn, error");
      }
    }
  }
  load_discovery_config(*this, root, c.state_dir, c.discovery, c.key_fetch);
  if (YAML::Node n = root["outbound"]) load_outbound(n, c);
}

void Loader::load_outbound(const YAML::Node& n, Config& c) {
  auto parsed = std::make_shared<outbound::OutboundConfig>();
  if (!outbound::load_outbound_config(*this, n, base_dir_.string(), *parsed)) return;
  if (!parsed->enabled) return;
  if (c.policy.empty()) {
    error(n, "outbound requires a 'policy': every tunnel and request leaving is judged by it");
    return;
  }
  if (parsed->tls) {
    // Certificate errors found when the listener's TLS is built name this entry.
    parsed->tls_listen.certificates.front().location = where(n["listen_tls"]);
  }
  for (const ListenerConfig& l : c.federation) {
    if (parsed->tls && l.port == parsed->tls_port && l.address == parsed->tls_address) {
      error(n["listen_tls"], "outbound.listen_tls collides with a federation listener");
      return;
    }
    if (parsed->plain && l.port == parsed->listen_port && l.address == parsed->listen_address) {
      error(n["listen"] ? n["listen"] : n, "outbound.listen collides with a federation listener");
      return;
    }
    if (parsed->direct && l.port == parsed->direct_port && l.address == parsed->direct_address) {
      error(n["direct_listen"], "outbound.direct_listen collides with a federation listener");
      return;
    }
  }
  c.outbound = std::move(parsed);
}

// Deny by default: a configuration without a policy would forward every federation request
// unchecked, so that is only accepted when the operator says so in as many words.
void Loader::load_enforcement(const YAML::Node& root, Config& c) {
  std::string mode = "policy";
  const YAML::Node n = root["inbound_enforcement"];
  if (get_string(root, "inbound_enforcement", mode, false) && mode != "policy" &&
      mode != "pass_through") {
    error(n, "'inbound_enforcement' must be 'policy' (the default) or 'pass_through'");
    return;
  }
  if (mode == "pass_through") {
    c.inbound_enforcement = Config::InboundEnforcement::pass_through;
    if (root["policy"]) {
      error(n,
            "'inbound_enforcement: pass_through' forwards everything unchecked and cannot be "
            "combined with 'policy'; remove one of the two");
    }
    return;
  }
  if (!root["policy"]) {
    error(root,
          "no 'policy' configured: the gateway does not forward federation traffic unchecked. "
          "Name a policy file with 'policy: FILE', or set 'inbound_enforcement: pass_through' "
          "to run as a plain proxy without inbound enforcement");
  }
}

void Loader::load_keys(const YAML::Node& n, KeysConfig& k) {
  // The fetch settings and cache_file of `keys:` are read by load_discovery_config (one owner:
  // the process-wide key store); they are accepted here so the check stays strict.
  if (!check_map(n, "keys",
                 {"pinned", "pinned_file", "cache_file", "notary_servers", "fetch_mode",
                  "fetch_timeout"})) {
    return;
  }
  if (get_string(n, "pinned_file", k.pinned_file, false)) {
    if (k.pinned_file.empty())
      error(n["pinned_file"], "'pinned_file' must name a file");
    else
      k.pinned_file = resolve(k.pinned_file);
  }
  YAML::Node pinned = n["pinned"];
  if (!pinned || pinned.IsNull()) return;
  if (!pinned.IsMap()) {
    error(pinned, "'pinned' must map server names to {key_id: base64 key}");
    return;
  }
  for (auto it = pinned.begin(); it != pinned.end(); ++it) {
    const YAML::Node server = it->first;
    const YAML::Node keys = it->second;
    if (!server.IsScalar() || !valid_server_name(server.Scalar())) {
      error(server, "pinned keys: '" + (server.IsScalar() ? server.Scalar() : std::string()) +
                        "' is not a server name");
      continue;
    }
    if (!keys.IsMap() || keys.size() == 0) {
      error(keys, "pinned keys of '" + server.Scalar() + "' must map key ids to base64 keys");
      continue;
    }
    auto& out = k.pinned[server.Scalar()];
    for (auto kt = keys.begin(); kt != keys.end(); ++kt) {
      const YAML::Node id = kt->first;
      const YAML::Node value = kt->second;
      if (!id.IsScalar() || id.Scalar().rfind("ed25519:", 0) != 0 || id.Scalar().size() <= 8) {
        error(id, "pinned key ids must look like 'ed25519:<version>'");
        continue;
      }
      if (!value.IsScalar() || !valid_base64_key(value.Scalar())) {
        error(value,
              "pinned key '" + id.Scalar() + "' must be an unpadded base64 ed25519 public key");
        continue;
      }
      if (!out.emplace(id.Scalar(), value.Scalar()).second)
        error(id, "duplicate key id '" + id.Scalar() + "'");
    }
  }
}

void Loader::load_listeners(const YAML::Node& n, Config& c) {
  if (!check_map(n, "listeners", {"federation", "admin"})) return;
  YAML::Node fed = required(n, "federation");
  if (fed && sequence(fed, "'federation'", true, "listeners")) {
    for (const YAML::Node& item : fed) {
      ListenerConfig l;
      load_federation_listener(item, l);
      c.federation.push_back(std::move(l));
    }
    for (size_t i = 0; i < c.federation.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (c.federation[i].address == c.federation[j].address &&
            c.federation[i].port == c.federation[j].port) {
          error(fed[i], "two federation listeners use the same address and port");
        }
      }
    }
  }
  if (YAML::Node a = n["admin"]) {
    if (check_map(a, "admin", {"enabled", "address", "port"})) {
      get_bool(a, "enabled", c.admin.enabled);
      get_address(a, c.admin.address);
      get_uint(a, "port", c.admin.port, 1, 65535, true);
    }
  }
}

void Loader::load_federation_listener(const YAML::Node& n, ListenerConfig& l) {
  if (!check_map(n, "a federation listener", {"address", "port", "tls"})) return;
  get_address(n, l.address);
  get_uint(n, "port", l.port, 1, 65535, true);
  YAML::Node tls = required(n, "tls", "federation listeners always terminate TLS");
  if (!tls || !check_map(tls, "tls", {"min_version", "certificates"})) return;
  if (get_string(tls, "min_version", l.tls.min_version, false) && l.tls.min_version != "1.2" &&
      l.tls.min_version != "1.3") {
    error(tls["min_version"], "'min_version' must be \"1.2\" or \"1.3\"");
  }
  YAML::Node certs = required(tls, "certificates");
  if (!certs || !sequence(certs, "'certificates'", true)) return;
  std::set<std::string> names;
  for (const YAML::Node& item : certs) {
    if (!check_map(item, "a certificate entry", {"server_names", "certificate", "private_key"})) {
      continue;
    }
    CertificateConfig cert;
    cert.location = where(item);
    YAML::Node sn = required(item, "server_names");
    if (sn && sequence(sn, "'server_names'", true)) {
      for (const YAML::Node& name : sn) {
        std::string s = name.IsScalar() ? name.Scalar() : std::string();
        if (!valid_dns_name(s, true)) {
          error(name, "'" + s + "' is not a DNS name or *.wildcard");
          continue;
        }
        for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (!names.insert(s).second) error(name, "server name '" + s + "' is listed twice");
        cert.server_names.push_back(s);
      }
    }
    if (get_string(item, "certificate", cert.certificate, true))
      cert.certificate = resolve(cert.certificate);
    if (get_string(item, "private_key", cert.private_key, true))
      cert.private_key = resolve(cert.private_key);
    l.tls.certificates.push_back(std::move(cert));
  }
}

void Loader::load_upstream(const YAML::Node& n, UpstreamConfig& u) {
  if (!check_map(n, "upstream",
                 {"host", "port", "tls", "connect_timeout", "response_timeout", "idle_timeout",
                  "max_idle_connections"})) {
    return;
  }
  u.location = where(n);
  if (get_string(n, "host", u.host, true) && !valid_ip(u.host) && !valid_dns_name(u.host, false)) {
    error(n["host"], "'host' must be an IP address or a DNS name");
  }
  get_uint(n, "port", u.port, 1, 65535, true);
  get_duration(n, "connect_timeout", u.connect_timeout, Millis(1), Millis(600'000));
  get_duration(n, "response_timeout", u.response_timeout, Millis(1), Millis(3'600'000));
  get_duration(n, "idle_timeout", u.idle_timeout, Millis(1), Millis(3'600'000));
  get_uint(n, "max_idle_connections", u.max_idle_connections, 0, 100000);
  if (YAML::Node t = n["tls"]) {
    if (check_map(
            t, "upstream tls",
            {"enabled", "ca_file", "server_name", "client_certificate", "client_private_key"})) {
      u.tls.location = where(t);
      get_bool(t, "enabled", u.tls.enabled);
      if (get_string(t, "ca_file", u.tls.ca_file, false)) u.tls.ca_file = resolve(u.tls.ca_file);
      if (get_string(t, "server_name", u.tls.server_name, false) &&
          !valid_dns_name(u.tls.server_name, false) && !valid_ip(u.tls.server_name)) {
        error(t["server_name"], "'server_name' must be a DNS name or IP address");
      }
      bool has_cert = get_string(t, "client_certificate", u.tls.client_certificate, false);
      bool has_key = get_string(t, "client_private_key", u.tls.client_private_key, false);
      if (has_cert != has_key) {
        error(t, "'client_certificate' and 'client_private_key' must be set together");
      }
      u.tls.client_certificate = resolve(u.tls.client_certificate);
      u.tls.client_private_key = resolve(u.tls.client_private_key);
    }
  }
}

void Loader::load_limits(const YAML::Node& n, LimitsConfig& l) {
  if (!check_map(n, "limits",
                 {"max_header_bytes", "max_headers", "max_body_bytes", "max_buffered_bytes",
                  "header_timeout", "body_timeout", "idle_timeout", "key_wait_timeout",
                  "max_connections"})) {
    return;
  }
  get_uint(n, "max_header_bytes", l.max_header_bytes, 1024, 1 << 20);
  get_uint(n, "max_headers", l.max_headers, 1, 10000);
  get_uint(n, "max_body_bytes", l.max_body_bytes, 0, 1ULL << 30);
  get_uint(n, "max_buffered_bytes", l.max_buffered_bytes, 1ULL << 20, 1ULL << 40);
  get_duration(n, "header_timeout", l.header_timeout, Millis(1), Millis(3'600'000));
  get_duration(n, "body_timeout", l.body_timeout, Millis(1), Millis(3'600'000));
  get_duration(n, "idle_timeout", l.idle_timeout, Millis(1), Millis(3'600'000));
  get_duration(n, "key_wait_timeout", l.key_wait_timeout, Millis(1), Millis(600'000));
  get_uint(n, "max_connections", l.max_connections, 1, 1'000'000);
}

// audit: and quarantine: (both optional; paths default into state_dir).
void Loader::load_evidence(const YAML::Node& root, Config& c) {
  c.audit.path = resolve("audit.log");
  c.quarantine.path = resolve("quarantine.db");
  if (YAML::Node n = root["audit"]) {
    if (check_map(n, "audit", {"path", "fsync", "queue_records", "on_failure"})) {
      std::string path;
      if (get_string(n, "path", path, false)) {
        if (path.empty()) error(n["path"], "'path' must not be empty");
        c.audit.path = resolve(path);
      }
      std::string fsync;
      if (get_string(n, "fsync", fsync, false)) {
        if (fsync == "always") {
          c.audit.fsync = AuditConfig::Fsync::always;
        } else if (fsync == "never") {
          c.audit.fsync = AuditConfig::Fsync::never;
        } else if (std::optional<Millis> d = parse_duration(fsync);
                   d && *d >= Millis(1) && *d <= Millis(60'000)) {
          c.audit.fsync = AuditConfig::Fsync::interval;
          c.audit.fsync_interval = *d;
        } else {
          error(n["fsync"], "'fsync' must be always, never or a duration from 1ms to 1m");
        }
      }
      get_uint(n, "queue_records", c.audit.queue_records, 16, 10'000'000);
      std::string on_failure;
      if (get_string(n, "on_failure", on_failure, false)) {
        if (on_failure == "refuse") {
          c.audit.on_failure = AuditConfig::OnFailure::refuse;
        } else if (on_failure == "forward") {
          c.audit.on_failure = AuditConfig::OnFailure::forward;
        } else {
          error(n["on_failure"], "'on_failure' must be refuse or forward");
        }
      }
    }
  }
  if (YAML::Node n = root["quarantine"]) {
    if (check_map(n, "quarantine", {"path", "max_bytes"})) {
      std::string path;
      if (get_string(n, "path", path, false)) {
        if (path.empty()) error(n["path"], "'path' must not be empty");
        c.quarantine.path = resolve(path);
      }
      get_uint(n, "max_bytes", c.quarantine.max_bytes, 0, 1ULL << 50);
    }
  }
}

}  // namespace

ConfigLoadResult load_config_text(const std::string& text, const std::string& path) {
  ConfigLoadResult result;
  fs::path abs = fs::absolute(fs::path(path)).lexically_normal();
  Loader loader(path, abs.parent_path());
  auto config = std::make_shared<Config>();
  config->config_path = abs.string();
  try {
    YAML::Node root = YAML::Load(text);
    loader.load(root, *config);
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports syntax errors with a 0-based mark.
    loader.errors().push_back({path, e.mark.line + 1, e.mark.column + 1, e.msg});
  }
  result.errors = std::move(loader.errors());
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

ConfigLoadResult load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoadResult r;
    r.errors.push_back({path, 0, 0, "cannot read the file"});
    r.unreadable = true;
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str(), path);
}

}  // namespace bordergate
