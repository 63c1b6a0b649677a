// The gateway's configuration as plain immutable data. Loaded from YAML by
// config_loader.h, validated there, and shared read-only as
// std::shared_ptr<const Config>: a request keeps the snapshot it started with.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/config/discovery_config.h"

namespace bordergate {

namespace outbound {
struct OutboundConfig;  // gateway/config/outbound_config.h
}

using Millis = std::chrono::milliseconds;

struct CertificateConfig {
  std::vector<std::string> server_names;  // exact names or "*.example.org"
  std::string certificate;                // absolute path (resolved at load)
  std::string private_key;                // absolute path
  std::string location;                   // "file:line:col" of the entry, for later errors
};

struct ListenerTlsConfig {
  std::string min_version = "1.2";              // "1.2" | "1.3"
  std::vector<CertificateConfig> certificates;  // first entry is the SNI default
};

struct ListenerConfig {
  std::string address;
  std::uint16_t port = 8448;
  ListenerTlsConfig tls;
};

struct AdminConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";
  std::uint16_t port = 9448;
};

struct UpstreamTlsConfig {
  bool enabled = false;
  std::string ca_file;             // empty: the system trust store
  std::string server_name;         // SNI + hostname check; empty: upstream.host
  std::string client_certificate;  // optional mutual TLS towards Core
  std::string client_private_key;
  std::string location;  // "file:line:col" of upstream.tls, for later errors
};

struct UpstreamConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8008;
  UpstreamTlsConfig tls;
  Millis connect_timeout{5000};
  Millis response_timeout{60000};
  Millis idle_timeout{30000};               // pooled keep-alive connections are closed after this
  std::uint32_t max_idle_connections = 32;  // per worker
  std::string location;                     // "file:line:col" of upstream, for later errors
};

struct LimitsConfig {
  std::uint32_t max_header_bytes = 16384;
  std::uint32_t max_headers = 100;
  std::uint64_t max_body_bytes = 13107200;
  Millis header_timeout{10000};
  Millis body_timeout{30000};
  Millis idle_timeout{60000};
  // Longest a request stays suspended waiting for server keys (inbound enforcement); then it is
  // answered without them (docs/inbound.md).
  Millis key_wait_timeout{10000};
  std::uint32_t max_connections = 4096;  // per worker
  // Request body bytes buffered at once, all connections and workers together (BodyBudget).
  std::uint64_t max_buffered_bytes = 256ULL << 20;
};

struct ShutdownConfig {
  Millis drain_timeout{20000};
};

struct LoggingConfig {
  std::string level = "info";
};

// Server signing keys (gateway/keystore). Fetch settings are added with the HTTPS fetcher.
struct KeysConfig {
  // Closed federations: server name -> key id -> unpadded base64 ed25519 public key. These
  // servers' keys are never fetched.
  std::map<std::string, std::map<std::string, std::string>> pinned;
  // More pinned keys in a JSON file {"server": {"ed25519:v": "base64"}} (absolute; empty =
  // none), read at start like `pinned`, so that a deployment (or
  // `make run`) can pin keys it generates without rewriting the configuration.
  std::string pinned_file;
  // The persistent cache file is KeyFetchConfig::cache_file (one owner).
};

// The audit log (gateway/audit). fsync: "always" syncs every batch the
// writer thread takes; a duration syncs at most that often; "never" leaves it
// to the kernel (and syncs at shutdown).
struct AuditConfig {
  std::string path;  // absolute; default <state_dir>/audit.log
  enum class Fsync { always, interval, never };
  Fsync fsync = Fsync::interval;
  Millis fsync_interval{100};
  std::uint32_t queue_records = 65536;
  // What the gateway does while the audit log cannot take records (disk full, I/O errors, queue
  // full): refuse new work it would have to record (503, readiness 503), or forward it anyway
  // and account for every lost record with a gap line in the chain.
  enum class OnFailure { refuse, forward };
  OnFailure on_failure = OnFailure::refuse;
};

// The durable quarantine store (gateway/quarantine).
struct QuarantineConfig {
  std::string path;                      // absolute; default <state_dir>/quarantine.db
  std::uint64_t max_bytes = 1ULL << 30;  // bytes of held entries; 0 = unbounded
};

struct Config {
  int version = 1;
  std::string server_name;
  std::string state_dir;    // absolute
  std::string config_path;  // absolute path of the file this came from
  unsigned workers = 0;     // 0 = one per core (resolved by the server, not here)
  std::vector<ListenerConfig> federation;
  AdminConfig admin;
  UpstreamConfig upstream;
  LimitsConfig limits;
  ShutdownConfig shutdown;
  LoggingConfig logging;
  // The policy file (absolute; relative paths resolve against state_dir). Required unless
  // `inbound_enforcement: pass_through` says the operator wants an unchecked proxy.
  std::string policy;
  // Deny by default at the process level: without a policy the configuration is an error. Only
  // this explicit switch runs the gateway as a plain pass-through proxy (warned at start and on
  // every reload, exported as a gauge and in /healthz and /readyz).
  enum class InboundEnforcement { policy, pass_through };
  InboundEnforcement inbound_enforcement = InboundEnforcement::policy;
  KeysConfig keys;
  AuditConfig audit;
  QuarantineConfig quarantine;
  DiscoveryConfig discovery;  // outbound discovery (discovery_config.h)
  KeyFetchConfig key_fetch;   // fetch settings under `keys:`
  // The Core's outbound proxy listener (docs/outbound.md); null when the section is absent or
  // `enabled: false`. Requires a policy: every tunnel and inner request is judged by it.
  std::shared_ptr<const outbound::OutboundConfig> outbound;
};

}  // namespace bordergate
