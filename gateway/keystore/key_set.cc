#include "gateway/keystore/key_set.h"

#include <algorithm>
#include <limits>

namespace bordergate::keystore {

void ServerKeySet::merge(const matrix::ServerKeys& keys, std::int64_t fetched_at_ms,
                         std::size_t max_records) {
  const std::int64_t capped = std::min(keys.valid_until_ts, fetched_at_ms + kSevenDaysMs);
  for (const auto& [key_id, key] : keys.verify_keys) {
    auto [it, inserted] = keys_.try_emplace(key_id, KeyRecord{key, capped, std::nullopt});
    if (inserted) continue;
    KeyRecord& record = it->second;
    if (record.key != key) {
      // Same id, different key: trust the newer verified answer, but never extend a retirement.
      record = KeyRecord{key, capped, std::nullopt};
    } else if (!record.expired_ts) {
      record.valid_until_ms = std::max(record.valid_until_ms, capped);
    }
  }
  for (const auto& [key_id, old] : keys.old_verify_keys) {
    if (keys.verify_keys.count(key_id) != 0) continue;  // contradictory answer: the current list wins
    auto [it, inserted] = keys_.try_emplace(key_id, KeyRecord{old.key, 0, old.expired_ts});
    if (inserted) continue;
    KeyRecord& record = it->second;
    if (record.valid_until_ms == std::numeric_limits<std::int64_t>::max()) continue;  // pinned
    record.key = old.key;
    record.expired_ts = record.expired_ts ? std::min(*record.expired_ts, old.expired_ts)
                                          : old.expired_ts;
  }
  while (keys_.size() > max_records) {
    auto end_of = [](const KeyRecord& r) { return r.expired_ts ? *r.expired_ts : r.valid_until_ms; };
    auto victim = std::min_element(keys_.begin(), keys_.end(), [&](const auto& a, const auto& b) {
      return end_of(a.second) < end_of(b.second);
    });
    keys_.erase(victim);
  }
  valid_until_ms_ = std::max(valid_until_ms_, capped);
  fetched_at_ms_ = std::max(fetched_at_ms_, fetched_at_ms);
}

void ServerKeySet::pin(std::string key_id, const matrix::VerifyKey& key) {
  keys_[std::move(key_id)] = KeyRecord{key, std::numeric_limits<std::int64_t>::max(), std::nullopt};
  valid_until_ms_ = std::numeric_limits<std::int64_t>::max();
}

Result<matrix::VerifyKey> ServerKeySet::find(std::string_view key_id,
                                             std::int64_t valid_at_ms) const {
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    return make_error("unknown_key", "key " + std::string(key_id) + " is not known");
  }
  const KeyRecord& record = it->second;
  if (valid_at_ms == matrix::kAnyTime) return record.key;
  if (record.expired_ts) {
    if (valid_at_ms < *record.expired_ts) return record.key;
    return make_error("key_expired", "key " + std::string(key_id) + " was retired at " +
                                         std::to_string(*record.expired_ts));
  }
  if (valid_at_ms <= record.valid_until_ms) return record.key;
  return make_error("key_expired", "key " + std::string(key_id) + " is valid only until " +
                                       std::to_string(record.valid_until_ms));
}

}  // namespace bordergate::keystore
