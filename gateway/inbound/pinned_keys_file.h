// The pinned-keys file (`keys.pinned_file`): closed-federation keys kept outside the
// configuration, so that a deployment (or `make run`'s demo peer) can pin keys it generates.
// Format: {"server.name": {"ed25519:version": "unpadded base64 public key"}}.
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/keystore/server_key_store.h"

namespace bordergate::inbound {

using PinnedKeys = decltype(keystore::KeyStoreConfig::pinned);

// Parses the file's text and adds its keys to `into`. A key id pinned twice with different keys
// (here or in `keys.pinned`) is an error: one of them would silently lose.
Status parse_pinned_keys(std::string_view text, PinnedKeys& into);

// Reads `path` and parses it; errors name the file.
Status load_pinned_keys_file(const std::string& path, PinnedKeys& into);

}  // namespace bordergate::inbound
