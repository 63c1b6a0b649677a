// The pinned-keys file (`keys.pinned_file`): closed-federation keys kept outside the
// configuration, so that a deployment (or `make run`'s demo peer) can pin keys it generates.
// Format: {"server.name": {"ed25519:version": "unpadded base64 public key"}}; a key may instead
// be {"key": "unpadded base64", "valid_until_ts": ms} to end its validity (key rotation).
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/keystore/server_key_store.h"

namespace bordergate::enforcement {

using keystore::PinnedKeys;

// Parses the file's text and adds its keys to `into`. A key id pinned twice with different keys
// (here or in `keys.pinned`) is an error: one of them would silently lose. Pinned twice with
// different validity, the earlier end wins.
Status parse_pinned_keys(std::string_view text, PinnedKeys& into);

// Reads `path` and parses it; errors name the file.
Status load_pinned_keys_file(const std::string& path, PinnedKeys& into);

// Every pinned key of the configuration: `keys.pinned` and then `keys.pinned_file`. The key
// store answers these servers from here only and never fetches their keys.
Result<PinnedKeys> load_pinned_keys(const KeysConfig& keys);

}  // namespace bordergate::enforcement
