// The key store the phase tests verify with, built as gateway/proxy/federation.cc builds the
// process-wide one: the configured pinned keys, and a (scripted) fetcher for every other server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/enforcement/pinned_keys_file.h"
#include "gateway/keystore/key_fetcher.h"
#include "gateway/keystore/server_key_store.h"

namespace bordergate::enforcement::testing {

inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline Result<std::unique_ptr<keystore::ServerKeyStore>> key_store_for(
    const KeysConfig& keys, keystore::KeyFetcher& fetcher) {
  keystore::KeyStoreConfig kc;
  auto pinned = load_pinned_keys(keys);
  if (!pinned) return pinned.error();
  kc.pinned = std::move(*pinned);
  return std::make_unique<keystore::ServerKeyStore>(std::move(kc), fetcher, wall_clock_ms);
}

}  // namespace bordergate::enforcement::testing
