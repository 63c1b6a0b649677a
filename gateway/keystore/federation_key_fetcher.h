// The KeyFetcher over the network: discovery (§1.3) for the server or notary, then a direct
// GET /_matrix/key/v2/server or a notary POST /_matrix/key/v2/query on the outbound HTTPS client.
// One per worker loop, like the resolver and client it uses. Bodies go back unverified: the store
// verifies them.
#pragma once

#include <chrono>
#include <string>

#include "gateway/config/discovery_config.h"
#include "gateway/discovery/https_client.h"
#include "gateway/discovery/server_resolver.h"
#include "gateway/keystore/key_fetcher.h"
#include "gateway/keystore/server_key_store.h"

namespace bordergate::keystore {

// Optional observer of each network step, for `bordergate keys fetch` (prints the discovery log).
using FetchObserver = std::function<void(const std::string& server, const discovery::Discovery&)>;

class FederationKeyFetcher final : public KeyFetcher {
 public:
  // resolver, client and config must outlive the fetcher.
  FederationKeyFetcher(discovery::ServerResolver& resolver, discovery::HttpsClient& client,
                       const DiscoveryConfig& config, std::chrono::milliseconds fetch_timeout,
                       std::size_t max_body_bytes = 64 * 1024);

  void fetch_server_keys(const std::string& server_name, Done done) override;
  void query_notary(const std::string& notary_name, const NotaryQuery& query, Done done) override;
  void set_observer(FetchObserver observer) { observer_ = std::move(observer); }

 private:
  // Errors: discovery's codes, the client's codes, "http_status" (non-200; message has it).
  void request(const std::string& server, std::string method, std::string path, std::string body,
               Done done);

  discovery::ServerResolver& resolver_;
  discovery::HttpsClient& client_;
  const DiscoveryConfig& config_;
  std::chrono::milliseconds fetch_timeout_;
  std::size_t max_body_bytes_;
  FetchObserver observer_;
};

// Turns `keys:` fetch settings into the store's notaries and mode. Errors: "invalid_notary_key".
Result<std::vector<NotaryServer>> notaries_from(const KeyFetchConfig& config);

}  // namespace bordergate::keystore
