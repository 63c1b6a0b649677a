#include "gateway/keystore/federation_key_fetcher.h"

#include "gateway/discovery/discovery_setup.h"
#include "gateway/keystore/server_key_store.h"

namespace bordergate::keystore {

FederationKeyFetcher::FederationKeyFetcher(discovery::ServerResolver& resolver,
                                           discovery::HttpsClient& client,
                                           const DiscoveryConfig& config,
                                           std::chrono::milliseconds fetch_timeout,
                                           std::size_t max_body_bytes)
    : resolver_(resolver),
      client_(client),
      config_(config),
      fetch_timeout_(fetch_timeout),
      max_body_bytes_(max_body_bytes) {}

void FederationKeyFetcher::fetch_server_keys(const std::string& server_name, Done done) {
  request(server_name, "GET", "/_matrix/key/v2/server", {}, std::move(done));
}

void FederationKeyFetcher::query_notary(const std::string& notary_name, const NotaryQuery& query,
                                        Done done) {
  request(notary_name, "POST", "/_matrix/key/v2/query", notary_request_body(query),
          std::move(done));
}

void FederationKeyFetcher::request(const std::string& server, std::string method, std::string path,
                                   std::string body, Done done) {
  // The resolver and client drop pending callbacks when destroyed, and both die with this
  // fetcher's worker, so capturing `this` is safe.
  resolver_.resolve(
      server, [this, server, method = std::move(method), path = std::move(path),
               body = std::move(body), done = std::move(done)](discovery::Discovery found) mutable {
        if (observer_) observer_(server, found);
        if (!found.result) return done(found.result.error());
        discovery::OutboundRequest out =
            discovery::request_to(*found.result, std::move(method), std::move(path), config_);
        out.total_timeout = fetch_timeout_;
        out.max_body_bytes = max_body_bytes_;
        if (!body.empty()) out.headers.push_back({"Content-Type", "application/json"});
        out.body = std::move(body);
        client_.send(
            std::move(out), [done = std::move(done)](Result<discovery::OutboundResponse> response) {
              if (!response) return done(response.error());
              if (response->status != 200) {
                return done(make_error(
                    "http_status", "key server answered HTTP " + std::to_string(response->status)));
              }
              done(std::move(response->body));
            });
      });
}

Result<std::vector<NotaryServer>> notaries_from(const KeyFetchConfig& config) {
  std::vector<NotaryServer> notaries;
  for (const auto& n : config.notary_servers) {
    NotaryServer notary{n.server_name, {}};
    for (const auto& [id, b64] : n.keys) {
      auto key = matrix::verify_key_from_base64(b64);
      if (!key) {
        return make_error("invalid_notary_key",
                          "notary " + n.server_name + " key " + id + ": " + key.error().message);
      }
      notary.verify_keys.emplace(id, *key);
    }
    notaries.push_back(std::move(notary));
  }
  return notaries;
}

}  // namespace bordergate::keystore
