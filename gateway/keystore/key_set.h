// What the gateway knows about one server's signing keys, key by key, and the validity rules of
// federation-notes §3.3: current keys until min(valid_until_ts, fetched + 7 days), old keys
// strictly before expired_ts. Pure values: the cache, the store and the tests share them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/server_keys.h"

namespace bordergate::keystore {

inline constexpr std::int64_t kSevenDaysMs = 7LL * 24 * 3600 * 1000;

struct KeyRecord {
  matrix::VerifyKey key;
  // Current key: usable for times <= valid_until_ms (already capped). INT64_MAX for pinned keys.
  std::int64_t valid_until_ms = 0;
  // Retired key: usable only for times < expired_ts (gmsl's boundary, notes §11.6).
  std::optional<std::int64_t> expired_ts;
};

class ServerKeySet {
 public:
  // Merges a verified response fetched at fetched_at_ms. The 7-day cap is taken relative to the
  // fetch (notes §11.5 leaves the reference open): a far-future valid_until_ts cannot keep a key
  // alive without a refetch. A key's record only ever moves to a later validity or to "retired";
  // keys missing from a newer response keep their old window (old events stay checkable).
  // At most max_records keys are kept: a server rotating key ids cannot grow memory without bound
  // (the records whose validity ended first are dropped).
  void merge(const matrix::ServerKeys& keys, std::int64_t fetched_at_ms,
             std::size_t max_records = 64);
  void pin(std::string key_id, const matrix::VerifyKey& key);

  // Errors: "unknown_key" (never seen), "key_expired" (seen, not valid at valid_at_ms).
  // valid_at_ms == matrix::kAnyTime skips the time checks (rooms v1-v4).
  Result<matrix::VerifyKey> find(std::string_view key_id, std::int64_t valid_at_ms) const;

  // Latest time up to which the current key list was promised (capped); 0 when never fetched.
  std::int64_t valid_until_ms() const { return valid_until_ms_; }
  std::int64_t fetched_at_ms() const { return fetched_at_ms_; }
  std::size_t size() const { return keys_.size(); }
  const std::map<std::string, KeyRecord, std::less<>>& records() const { return keys_; }

 private:
  std::map<std::string, KeyRecord, std::less<>> keys_;
  std::int64_t valid_until_ms_ = 0;
  std::int64_t fetched_at_ms_ = 0;
};

}  // namespace bordergate::keystore
