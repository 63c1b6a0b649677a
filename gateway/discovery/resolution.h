// The outbound server-name resolution algorithm (federation-notes §1.3) as a pure, resumable
// state machine. It never touches the network: it asks for DNS answers and HTTPS fetches (the
// well-known) through next(), the driver answers with on_dns()/on_https(), and at the end it yields
// where to connect, which name the certificate must match (SNI) and the Host header, plus a
// human-readable step log. The SSRF guard is applied to every address before it is used.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/discovery/address_guard.h"
#include "gateway/discovery/dns.h"
#include "gateway/discovery/server_name.h"
#include "gateway/discovery/target_order.h"
#include "gateway/discovery/well_known.h"

namespace bordergate::discovery {

struct ConnectTarget {
  IpAddress address;
  std::uint16_t port = 0;
  friend bool operator==(const ConnectTarget&, const ConnectTarget&) = default;
};

// A host:port that discovery dialled by name: an SRV target, the delegated host, the server name
// itself. A client that runs discovery on its own (Synapse through a proxy) CONNECTs to these.
struct NamedTarget {
  std::string host;  // as in ServerName::host (lower-case not enforced; compare ASCII-folded)
  std::uint16_t port = 0;
  friend bool operator==(const NamedTarget&, const NamedTarget&) = default;
};

// Which row of the table in §1.3 produced the result (also a metrics label).
enum class Route {
  kStaticOverride,
  kIpLiteral,              // step 1
  kExplicitPort,           // step 2
  kDelegatedIp,            // 3.1
  kDelegatedExplicitPort,  // 3.2
  kDelegatedSrv,           // 3.3 _matrix-fed
  kDelegatedLegacySrv,     // 3.4 _matrix (deprecated)
  kDelegatedDefaultPort,   // 3.5
  kSrv,                    // 4
  kLegacySrv,              // 5
  kDefaultPort,            // 6
};
std::string_view route_name(Route route);  // "ip_literal", "delegated_srv", ...

struct ResolvedServer {
  std::string server_name;  // the pre-delegation name (X-Matrix uses this)
  Route route = Route::kDefaultPort;
  std::vector<ConnectTarget> targets;  // in the order to try them
  std::vector<NamedTarget> target_names;  // the names `targets` were resolved from
  std::string tls_name;                // certificate name and SNI; empty when tls_ip is set
  std::optional<IpAddress> tls_ip;     // IP-literal certificate expected: verify the IP, no SNI
  std::string host_header;
};

// An operator's static route for a server name: connect here instead of discovering.
struct StaticOverride {
  ServerName target;                    // host[:port]; the port defaults to 8448
  std::optional<std::string> tls_name;  // defaults to the server name's host
};

struct ResolutionOptions {
  AddressGuard guard;
  // Keyed by the server name exactly as written. Overrides skip discovery and the guard: they are
  // an explicit operator decision (air-gapped deployments, tests).
  std::map<std::string, StaticOverride, std::less<>> overrides;
  WellKnownPolicy well_known;
  std::size_t max_srv_records =
      8;  // SRV records whose targets get resolved (a hostile zone can list many)
  AddressOrder address_order = AddressOrder::kIpv6First;  // families are interleaved (RFC 8305)
};

// A GET the driver performs for the well-known lookup. The addresses were already admitted by
// the guard; the driver connects to them (in order), verifies the certificate against tls_name,
// sends SNI tls_name and `Host: host_header`, reads at most max_body_bytes + 1 of body, and does
// not follow redirects itself (the state machine does, so each hop passes the guard).
struct HttpsRequest {
  std::vector<ConnectTarget> targets;
  std::string tls_name;             // empty when tls_ip is set
  std::optional<IpAddress> tls_ip;  // redirect to an IP-literal URL: verify the IP, no SNI
  std::string host_header;
  std::string path;
  std::size_t max_body_bytes = 0;
};

struct HttpsReply {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::optional<Error> transport_error;  // connect/TLS/timeout: counts as a well-known failure
};

class Resolution {
 public:
  struct NeedDns {
    std::vector<DnsQuestion> questions;  // ask all (concurrently); answer in the same order
  };
  struct NeedHttps {
    HttpsRequest request;
  };
  struct Done {};
  using Step = std::variant<NeedDns, NeedHttps, Done>;

  // cached_well_known: the cache's entry for this server name, if any (used only while fresh).
  // random_seed drives SRV weight selection and TTL jitter (a fixed seed makes runs repeatable).
  Resolution(std::string_view server_name, const ResolutionOptions& options, std::int64_t now_ms,
             std::uint64_t random_seed,
             std::optional<WellKnownCacheEntry> cached_well_known = std::nullopt);

  const Step& next() const { return step_; }
  bool done() const { return std::holds_alternative<Done>(step_); }
  void on_dns(std::vector<DnsAnswer> answers);  // precondition: next() is NeedDns
  void on_https(HttpsReply reply);              // precondition: next() is NeedHttps

  // Valid once done(). Errors: the grammar codes of parse_server_name, "ssrf_refused" (every
  // address was refused), "dns_error", "no_address", "srv_service_unavailable".
  const Result<ResolvedServer>& result() const { return result_; }
  const std::vector<std::string>& log() const { return log_; }
  // Set when a well-known fetch happened: store it in the cache for the next resolution.
  const std::optional<WellKnownCacheEntry>& well_known_update() const { return well_known_update_; }
  bool used_cached_well_known() const { return used_cached_well_known_; }

 private:
  enum class Phase {
    kOverrideAddresses,
    kExplicitPortAddresses,
    kWellKnownAddresses,
    kWellKnownFetch,
    kDelegatedAddresses,
    kSrv,
    kSrvTargets,
    kDefaultPortAddresses,
    kFinished,
  };

  void start(std::string_view server_name);
  void after_well_known(const std::optional<ServerName>& delegated);
  void ask_addresses(Phase phase, const std::string& host);
  void ask_srv(bool legacy);
  void fetch_well_known(const WellKnownUrl& url);
  void finish_well_known(const std::optional<ServerName>& delegated,
                         const std::optional<Error>& error, const HttpHeaders& headers);
  void on_srv_answer(DnsAnswer answer);
  void on_srv_targets(std::vector<DnsAnswer> answers);
  // Collects A/AAAA answers into admitted targets (logging refusals).
  Result<std::vector<IpAddress>> admitted_addresses(std::vector<DnsAnswer> answers,
                                                    std::string_view name);
  void succeed(Route route, std::vector<ConnectTarget> targets, std::string tls_name,
               std::optional<IpAddress> tls_ip, std::string host_header,
               std::vector<NamedTarget> target_names);
  void fail(Error error);
  void note(std::string line) { log_.push_back(std::move(line)); }

  const ResolutionOptions& options_;
  std::int64_t now_ms_;
  std::mt19937_64 random_;
  std::optional<WellKnownCacheEntry> cached_well_known_;

  Phase phase_ = Phase::kFinished;
  Step step_ = Done{};
  ServerName name_;
  std::optional<ServerName> delegated_;  // the name certificates are checked against after 3.x
  std::uint16_t fixed_port_ = 8448;
  std::optional<std::string> override_tls_name_;
  bool legacy_srv_ = false;
  std::vector<SrvRecord> srv_records_;
  std::optional<WellKnownUrl> well_known_url_;
  std::optional<RedirectTracker> redirects_;

  Result<ResolvedServer> result_;
  std::vector<std::string> log_;
  std::optional<WellKnownCacheEntry> well_known_update_;
  bool used_cached_well_known_ = false;
};

}  // namespace bordergate::discovery
