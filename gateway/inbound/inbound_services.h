// Process-wide state of inbound enforcement, shared by every worker and kept across config
// reloads: the policy in force (PolicyStore, swapped on SIGHUP), the per-origin rate limiter,
// the server key store with its persistence, and the room versions learnt from traffic.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/keystore/key_fetcher.h"
#include "gateway/keystore/key_persistence.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/matrix/room_version.h"
#include "policy/rate_limiter.h"
#include "policy/store.h"

namespace bordergate::inbound {

// Until the HTTPS fetcher lands, a server without pinned or cached keys cannot be verified:
// every fetch fails with "fetch_not_configured" (the store backs off and answers
// "key_unavailable", so the request gets 401).
class NoKeyFetcher final : public keystore::KeyFetcher {
 public:
  void fetch_server_keys(const std::string&, Done done) override;
  void query_notary(const std::string&, const keystore::NotaryQuery&, Done done) override;
};

// room id -> room version, learnt from create events, make_* answers and invites. Bounded;
// in memory for the process lifetime.
class RoomVersions {
 public:
  const matrix::RoomVersionRules* find(const std::string& room_id) const;
  void learn(const std::string& room_id, std::string_view version);

 private:
  static constexpr std::size_t kMaxRooms = 1 << 20;
  mutable std::mutex mutex_;
  std::map<std::string, const matrix::RoomVersionRules*, std::less<>> rooms_;
};

struct InboundServices {
  std::string server_name;
  std::string policy_path;
  std::unique_ptr<policy::PolicyStore> policy;
  policy::RateLimiter rate_limiter;
  std::unique_ptr<keystore::KeyFetcher> fetcher;
  std::unique_ptr<keystore::KeyPersistence> key_persistence;
  std::unique_ptr<keystore::ServerKeyStore> keys;
  RoomVersions room_versions;
};

// Loads the policy named by config.policy and opens the key store (pinned keys, cache file).
// The policy's server_name must equal the config's.
Result<std::unique_ptr<InboundServices>> build_inbound_services(const Config& config);

}  // namespace bordergate::inbound
