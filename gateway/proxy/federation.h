// The gateway's outbound federation state in its two lifetimes: Federation is process-wide (one
// ServerKeyStore with its SQLite persistence, one well-known cache, the peer TLS context), and
// WorkerFederation is per worker loop (c-ares resolver, HTTPS client, ServerResolver, key fetcher,
// the mailbox key answers come back through). The pipeline reaches both through its Worker.
#pragma once

#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/discovery/discovery_setup.h"
#include "gateway/discovery/well_known_cache.h"
#include "gateway/keystore/federation_key_fetcher.h"
#include "gateway/keystore/key_persistence.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/keystore/worker_queue.h"

namespace bordergate {

class WorkerFederation;

class Federation {
 public:
  // Opens (creating) keys.cache_file and replays it into the store; pins keys.pinned and
  // keys.pinned_file (pinned servers are never fetched). The discovery and key-fetch settings
  // are taken from this first configuration; a reload changes only the pinned keys.
  // Errors: config errors of discovery/notaries/pinned keys, TLS CA errors, persistence errors.
  static Result<std::unique_ptr<Federation>> create(const Config& config);
  // Destroy only after every WorkerFederation is gone (their fetches call into the store).
  ~Federation();
  Federation(const Federation&) = delete;
  Federation& operator=(const Federation&) = delete;

  // A configuration reload, in two steps so that nothing changes unless the whole reload does:
  // prepare_reload reads the new pinned keys (keys.pinned, and keys.pinned_file read again) and
  // refuses a change of the discovery or key-fetch settings, which are bound at start
  // ("restart_required"); apply_reload swaps the pinned keys in (key rotation in a closed
  // federation without a restart).
  Result<keystore::PinnedKeys> prepare_reload(const Config& config) const;
  void apply_reload(keystore::PinnedKeys pinned) { store_->replace_pinned(std::move(pinned)); }

  keystore::ServerKeyStore& key_store() { return *store_; }
  discovery::WellKnownCache& well_known_cache() { return *well_known_cache_; }
  std::size_t persisted_loaded() const { return persisted_loaded_; }

  // Prometheus families of the key store and of every worker's discovery (summed).
  void collect(std::vector<prometheus::MetricFamily>& out) const;

 private:
  friend class WorkerFederation;
  // The store's one KeyFetcher: a fetch runs on the thread of the request that started it, so it
  // goes to that worker's FederationKeyFetcher.
  class ThreadFetcher final : public keystore::KeyFetcher {
   public:
    void fetch_server_keys(const std::string& server_name, Done done) override;
    void query_notary(const std::string& notary_name, const keystore::NotaryQuery& query,
                      Done done) override;
  };
  Federation() = default;
  void attach(const discovery::DiscoveryMetrics* metrics);
  void detach(const discovery::DiscoveryMetrics* metrics);

  DiscoveryConfig discovery_config_;
  KeyFetchConfig key_fetch_config_;
  discovery::ResolutionOptions resolution_options_;
  discovery::ResolverOptions resolver_options_;
  std::chrono::milliseconds fetch_timeout_{15000};
  std::shared_ptr<const discovery::FederationTls> tls_;
  std::unique_ptr<discovery::WellKnownCache> well_known_cache_;
  ThreadFetcher fetcher_;
  std::unique_ptr<keystore::KeyPersistence> persistence_;
  std::unique_ptr<keystore::ServerKeyStore> store_;
  std::size_t persisted_loaded_ = 0;
  mutable std::mutex mutex_;  // guards workers_
  std::vector<const discovery::DiscoveryMetrics*> workers_;
};

class WorkerFederation {
 public:
  // On the worker thread, with its loop. Errors: "invalid_resolver", "dns_init_failed".
  static Result<std::unique_ptr<WorkerFederation>> create(Federation& federation, uv_loop_t* loop);
  // On the worker thread; run the loop afterwards so the handles finish closing.
  ~WorkerFederation();
  WorkerFederation(const WorkerFederation&) = delete;
  WorkerFederation& operator=(const WorkerFederation&) = delete;

  keystore::ServerKeyStore& key_store() { return federation_.key_store(); }
  // Pass as reply_to of ServerKeyStore::get_key: the answer runs on this worker's loop.
  const std::shared_ptr<keystore::Mailbox>& mailbox() const { return queue_->mailbox(); }
  discovery::ServerResolver& resolver() { return *resolver_; }
  discovery::HttpsClient& client() { return *client_; }

 private:
  explicit WorkerFederation(Federation& federation) : federation_(federation) {}

  Federation& federation_;
  std::unique_ptr<keystore::WorkerQueue> queue_;
  std::unique_ptr<discovery::AresResolver> dns_;
  std::unique_ptr<discovery::HttpsClient> client_;
  std::unique_ptr<discovery::ServerResolver> resolver_;
  std::unique_ptr<keystore::FederationKeyFetcher> fetcher_;
};

}  // namespace bordergate
