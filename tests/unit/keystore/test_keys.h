// Test helpers: signed key-server responses built with the matrix signing core.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/server_keys.h"
#include "gateway/matrix/signed_json.h"

namespace bordergate::keystore::testing {

inline constexpr std::int64_t kNow = 1'700'000'000'000;
inline constexpr std::int64_t kDay = 24LL * 3600 * 1000;

struct OldKey {
  const matrix::SigningKey* key;
  std::int64_t expired_ts;
};

// A /_matrix/key/v2/server object for `server` publishing `current`, self-signed by `signers`
// (default: the current keys), optionally also signed by a notary.
inline matrix::JsonObject key_object(const std::string& server,
                                     const std::vector<const matrix::SigningKey*>& current,
                                     std::int64_t valid_until_ts,
                                     const std::vector<OldKey>& old = {},
                                     std::vector<const matrix::SigningKey*> signers = {}) {
  matrix::JsonObject verify_keys;
  for (const auto* key : current) {
    verify_keys.emplace(key->key_id(),
                        matrix::JsonObject{{"key", matrix::to_base64(key->verify_key())}});
  }
  matrix::JsonObject old_keys;
  for (const auto& o : old) {
    old_keys.emplace(o.key->key_id(),
                     matrix::JsonObject{{"key", matrix::to_base64(o.key->verify_key())},
                                        {"expired_ts", matrix::Json(o.expired_ts)}});
  }
  matrix::JsonObject object{{"server_name", server},
                            {"valid_until_ts", matrix::Json(valid_until_ts)},
                            {"verify_keys", std::move(verify_keys)},
                            {"old_verify_keys", std::move(old_keys)}};
  if (signers.empty()) signers = current;
  for (const auto* signer : signers) {
    if (!matrix::sign_json(object, server, *signer)) std::abort();
  }
  return object;
}

inline std::string body(const matrix::JsonObject& object) {
  return matrix::compact_json(matrix::Json(object));
}

inline std::string notary_body(std::vector<matrix::JsonObject> objects, const std::string& notary,
                               const matrix::SigningKey& notary_key) {
  matrix::JsonArray entries;
  for (auto& object : objects) {
    if (!matrix::sign_json(object, notary, notary_key)) std::abort();
    entries.emplace_back(std::move(object));
  }
  return matrix::compact_json(matrix::Json(matrix::JsonObject{{"server_keys", std::move(entries)}}));
}

}  // namespace bordergate::keystore::testing
