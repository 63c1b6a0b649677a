// ServerKeyStore: answers "key K of server S, valid at T" for every worker. Pinned keys first
// (closed federations: never fetched), then the shared cache, else one fetch per server at a time
// (single-flight) through the KeyFetcher — direct, then the configured notaries — with negative
// caching, verification of everything fetched, and write-behind persistence.
//
// Threading: get_key() may be called from any worker thread. The answer is always delivered
// through the requester's Mailbox (its WorkerQueue), never synchronously, so a request suspended
// on its loop is resumed on that same loop. A fetch runs on the thread of the request that started
// it; the requests that join it are answered on their own loops.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/keystore/fetch_backoff.h"
#include "gateway/keystore/key_cache.h"
#include "gateway/keystore/key_fetcher.h"
#include "gateway/keystore/key_persistence.h"
#include "gateway/keystore/key_responses.h"
#include "gateway/keystore/key_store_metrics.h"
#include "gateway/keystore/worker_queue.h"
#include "gateway/matrix/server_keys.h"

namespace bordergate::keystore {

using KeyMap = std::map<std::string, matrix::VerifyKey, std::less<>>;

struct NotaryServer {
  std::string server_name;
  KeyMap verify_keys;  // trusted out of band (configuration)
};

enum class FetchMode { kDirectThenNotaries, kDirectOnly, kNotariesOnly };

// Closed federations: these servers' keys come only from here, nothing is ever fetched.
struct PinnedKeys {
  std::map<std::string, KeyMap, std::less<>> keys;
  // Optional end of a pinned key's validity (the pinned-keys file's `valid_until_ts`): after it
  // the key verifies nothing that must be valid at a later time (X-Matrix: now; PDUs of rooms v5+:
  // their origin_server_ts). Pinned keys without an entry here do not expire.
  std::map<std::string, std::map<std::string, std::int64_t, std::less<>>, std::less<>> valid_until;
};

struct KeyStoreConfig {
  PinnedKeys pinned;
  std::vector<NotaryServer> notaries;
  FetchMode mode = FetchMode::kDirectThenNotaries;
  std::size_t max_servers = 100000;  // in-memory cache bound (LRU)
  BackoffPolicy backoff;
  // A server whose key list was fetched this recently is not asked again for a missing key:
  // otherwise every request with a made-up key id would trigger a fetch.
  std::int64_t min_refetch_interval_ms = 60 * 1000;
  ResponseLimits limits;
};

class ServerKeyStore {
 public:
  using Callback = std::function<void(Result<matrix::VerifyKey>)>;

  // fetcher, persistence (optional) must outlive the store. Destroy the store only after the
  // worker loops stopped (a fetch still in flight would call back into it).
  ServerKeyStore(KeyStoreConfig config, KeyFetcher& fetcher, std::function<std::int64_t()> now_ms,
                 KeyPersistence* persistence = nullptr);
  ~ServerKeyStore();

  // Startup: replays the persisted responses into the cache (each re-verified). Returns how many
  // were accepted.
  Result<std::size_t> load_persisted();

  // Errors delivered: "unknown_key", "key_expired" (per the validity rules), "key_unavailable"
  // (no verified answer could be obtained: fetch failed or server backing off).
  void get_key(std::string_view server, std::string_view key_id, std::int64_t valid_at_ms,
               std::shared_ptr<Mailbox> reply_to, Callback done);

  // The answer get_key would deliver at once, when it is a key: pinned, or cached and valid at
  // valid_at_ms (counted as a pinned or cache hit). nullopt otherwise: then only get_key answers
  // (a fetch, a refetch or a negative answer), through the mailbox as always.
  std::optional<matrix::VerifyKey> get_key_now(std::string_view server, std::string_view key_id,
                                               std::int64_t valid_at_ms);

  // Pinned + cache only, never fetches: the synchronous KeyLookup for verification code that
  // already awaited get_key (or can live with "key_unavailable").
  Result<matrix::VerifyKey> find_cached(std::string_view server, std::string_view key_id,
                                        std::int64_t valid_at_ms);
  matrix::KeyLookup cached_lookup();

  // Replaces every pinned key at once (a configuration reload: key rotation in a closed
  // federation). Lookups already running finish with the set they started with; a server that
  // is no longer pinned is fetched like any other from now on, one newly pinned never again.
  void replace_pinned(PinnedKeys pinned);
  std::size_t pinned_servers() const { return pinned_.load()->keys.size(); }

  const KeyStoreMetrics& metrics() const { return metrics_; }
  std::size_t cached_servers() const { return cache_.size(); }
  std::size_t fetches_in_flight() const;

 private:
  struct Waiter {
    std::string key_id;
    std::int64_t valid_at_ms;
    std::shared_ptr<Mailbox> reply_to;
    Callback done;
  };
  struct Flight {
    std::string server;
    NotaryQuery query;
    std::vector<Waiter> waiters;
    std::size_t next_notary = 0;
    bool tried_direct = false;
    std::optional<Error> last_error;
  };

  void start_next_attempt(Flight& flight);
  void on_body(const std::string& server, const std::string& source, Result<std::string> body);
  void finish(const std::string& server, bool success);
  Result<matrix::VerifyKey> answer_for(const std::string& server, const Waiter& waiter,
                                       bool fetched, const std::optional<Error>& fetch_error);
  static void reply(const std::shared_ptr<Mailbox>& to, Callback done,
                    Result<matrix::VerifyKey> answer);

  // The answer for a pinned server (its key, "unknown_key" or "key_expired"); nullopt when the
  // server is not pinned. One load of the current set per lookup.
  std::optional<Result<matrix::VerifyKey>> pinned_answer(std::string_view server,
                                                         std::string_view key_id,
                                                         std::int64_t valid_at_ms) const;

  KeyStoreConfig config_;  // config_.pinned is moved into pinned_ at construction
  // The pinned set, immutable and swapped whole by replace_pinned() (the reload thread).
  std::atomic<std::shared_ptr<const PinnedKeys>> pinned_;
  KeyFetcher& fetcher_;
  std::function<std::int64_t()> now_ms_;
  KeyPersistence* persistence_;
  ServerKeyCache cache_;
  std::map<std::string, matrix::StaticKeyRing, std::less<>> notary_rings_;

  mutable std::mutex mutex_;  // guards flights_ and backoff_
  std::map<std::string, std::unique_ptr<Flight>, std::less<>> flights_;
  FetchBackoff backoff_;

  KeyStoreMetrics metrics_;
};

}  // namespace bordergate::keystore
