#include "gateway/inbound/inbound_services.h"

#include <chrono>

#include "gateway/matrix/ed25519.h"

namespace bordergate::inbound {

void NoKeyFetcher::fetch_server_keys(const std::string&, Done done) {
  done(make_error("fetch_not_configured", "no key fetcher configured: pin this server's keys"));
}

void NoKeyFetcher::query_notary(const std::string&, const keystore::NotaryQuery&, Done done) {
  done(make_error("fetch_not_configured", "no key fetcher configured"));
}

const matrix::RoomVersionRules* RoomVersions::find(const std::string& room_id) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  return it == rooms_.end() ? nullptr : it->second;
}

void RoomVersions::learn(const std::string& room_id, std::string_view version) {
  const matrix::RoomVersionRules* rules = matrix::find_room_version(version);
  if (rules == nullptr || room_id.empty()) return;
  std::lock_guard lock(mutex_);
  if (rooms_.size() >= kMaxRooms && !rooms_.contains(room_id)) rooms_.erase(rooms_.begin());
  rooms_[room_id] = rules;
}

Result<std::unique_ptr<InboundServices>> build_inbound_services(const Config& config) {
  auto s = std::make_unique<InboundServices>();
  s->server_name = config.server_name;
  s->policy_path = config.policy;
  auto loaded = policy::load_policy(config.policy);
  if (!loaded) return make_error(loaded.error().code, "policy: " + loaded.error().message);
  if ((*loaded)->server_name != config.server_name) {
    return make_error("policy_server_name", "policy " + config.policy + " is written for '" +
                                                (*loaded)->server_name + "', the gateway serves '" +
                                                config.server_name + "'");
  }
  s->policy = std::make_unique<policy::PolicyStore>(std::move(loaded.value()));

  keystore::KeyStoreConfig kc;
  for (const auto& [server, keys] : config.keys.pinned) {
    for (const auto& [key_id, b64] : keys) {
      auto key = matrix::verify_key_from_base64(b64);
      if (!key) return make_error("bad_pinned_key", "keys.pinned." + server + "." + key_id);
      kc.pinned[server].emplace(key_id, *key);
    }
  }
  if (!config.keys.cache_file.empty()) {
    auto p = keystore::KeyPersistence::open(config.keys.cache_file);
    if (!p) return make_error(p.error().code, "keys.cache_file: " + p.error().message);
    s->key_persistence = std::move(p.value());
  }
  s->fetcher = std::make_unique<NoKeyFetcher>();
  s->keys = std::make_unique<keystore::ServerKeyStore>(
      std::move(kc), *s->fetcher,
      [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      },
      s->key_persistence.get());
  if (s->key_persistence) {
    auto n = s->keys->load_persisted();
    if (!n) return make_error(n.error().code, "keys.cache_file: " + n.error().message);
  }
  return s;
}

}  // namespace bordergate::inbound
