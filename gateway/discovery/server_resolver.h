// Runs the resolution state machine on a worker loop: DNS through the c-ares resolver, the
// well-known GET through an injected HTTPS fetch (the proxy's client), well-known results through
// the shared cache. This is what the outbound path and `bordergate discover` call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/discovery/ares_resolver.h"
#include "gateway/discovery/discovery_metrics.h"
#include "gateway/discovery/resolution.h"
#include "gateway/discovery/well_known_cache.h"

namespace bordergate::discovery {

// Performs one well-known GET exactly as described by HttpsRequest (connect only to its targets,
// verify tls_name, no redirects) and calls `done` once on the loop thread. Until the proxy's HTTPS
// client is wired in, a fetch that always fails makes discovery fall back to SRV/8448 (and tests
// use fakes).
using WellKnownFetch =
    std::function<void(const HttpsRequest& request, std::function<void(HttpsReply)> done)>;

struct Discovery {
  Result<ResolvedServer> result;
  std::vector<std::string> log;
  std::uint64_t elapsed_ms = 0;  // for the discovery latency metric
};

class ServerResolver {
 public:
  // All referenced objects must outlive the ServerResolver. now_ms: wall clock (cache expiry).
  ServerResolver(AresResolver& dns, WellKnownFetch fetch, const ResolutionOptions& options,
                 WellKnownCache& cache, std::function<std::int64_t()> now_ms);
  ~ServerResolver();  // pending resolutions are dropped without calling back
  ServerResolver(const ServerResolver&) = delete;
  ServerResolver& operator=(const ServerResolver&) = delete;

  void resolve(std::string_view server_name, std::function<void(Discovery)> done);
  std::size_t in_flight() const { return jobs_.size(); }
  const DiscoveryMetrics& metrics() const { return metrics_; }

 private:
  struct Job;
  void advance(std::uint64_t job_id);

  AresResolver& dns_;
  WellKnownFetch fetch_;
  const ResolutionOptions& options_;
  WellKnownCache& cache_;
  std::function<std::int64_t()> now_ms_;
  std::map<std::uint64_t, std::unique_ptr<Job>> jobs_;
  std::uint64_t next_job_ = 1;
  std::random_device random_;
  // Lifetime token for callbacks that may outlive us (the HTTPS fetch cannot be cancelled).
  std::shared_ptr<ServerResolver*> self_;
  DiscoveryMetrics metrics_;
};

}  // namespace bordergate::discovery
