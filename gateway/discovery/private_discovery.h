// Server discovery on a private libuv loop, for one-shot work outside the gateway's workers (the
// `discover` and `keys fetch` commands, `quarantine release` of an outbound entry): the c-ares
// resolver, the verified HTTPS client, a well-known cache and the §1.3 resolver, built from the
// `discovery:` configuration exactly as a worker builds them, and torn down in reverse order.
#pragma once

#include <uv.h>

#include <memory>

#include "gateway/common/result.h"
#include "gateway/config/discovery_config.h"
#include "gateway/discovery/ares_resolver.h"
#include "gateway/discovery/https_client.h"
#include "gateway/discovery/resolution.h"
#include "gateway/discovery/server_resolver.h"
#include "gateway/discovery/well_known_cache.h"

namespace bordergate::discovery {

class PrivateDiscovery {
 public:
  PrivateDiscovery();
  // Drops pending work (no callback runs), then lets the closed handles finish.
  ~PrivateDiscovery();
  PrivateDiscovery(const PrivateDiscovery&) = delete;
  PrivateDiscovery& operator=(const PrivateDiscovery&) = delete;

  // Two steps so that callers can tell a configuration error from a setup failure.
  // The resolution options (errors of resolution_options_from: invalid_cidr, ...).
  Status configure(const DiscoveryConfig& config);
  // The resolver, TLS and the HTTPS client (errors as AresResolver::create and
  // FederationTls::build report them). After configure.
  Status start(const DiscoveryConfig& config);

  uv_loop_t* loop() { return &loop_; }
  ServerResolver& resolver() { return *resolver_; }
  HttpsClient& client() { return *client_; }
  // Runs the loop until `done` is true, or until the loop has nothing left to do (then false).
  bool run_until(const bool& done);

 private:
  uv_loop_t loop_{};
  ResolutionOptions options_;
  WellKnownCache cache_;
  std::unique_ptr<AresResolver> dns_;
  std::unique_ptr<HttpsClient> client_;
  std::unique_ptr<ServerResolver> resolver_;
};

}  // namespace bordergate::discovery
