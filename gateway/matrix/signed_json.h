// Signing and verifying JSON objects (App §Signing JSON): the signature covers the canonical JSON
// of the object without "signatures" and "unsigned", so intermediaries can add either freely.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/json.h"

namespace bordergate::matrix {

// Canonical JSON of the object without "signatures" and "unsigned".
Result<std::string> signing_bytes(const JsonObject& object);
// Adds signatures[server_name][key_id], keeping every other server's and key's signature.
Status sign_json(JsonObject& object, std::string_view server_name, const SigningKey& key);
// Checks signatures[server_name][key_id] with the given key. Errors: "missing_signature",
// "bad_base64", "bad_signature_length", "bad_signature", plus canonicalisation errors.
Status verify_json_signature(const JsonObject& object, std::string_view server_name,
                             std::string_view key_id, const VerifyKey& key);

// Key resolution used by X-Matrix and event checks. valid_at_ms: the time the key must be valid at
// (origin_server_ts for events, now for requests); kAnyTime skips every time check (rooms v1-v4
// ignore valid_until_ts). Error codes: "unknown_key", "key_expired", "key_unavailable".
inline constexpr std::int64_t kAnyTime = std::numeric_limits<std::int64_t>::min();
using KeyLookup = std::function<Result<VerifyKey>(
    std::string_view server_name, std::string_view key_id, std::int64_t valid_at_ms)>;

// The App §Checking-for-a-signature rule for one server: ed25519 signatures under
// signatures[server_name] whose key cannot be found ("unknown_key", "key_expired") are skipped,
// every signature whose key is found must verify, and at least one must. Errors:
// "missing_signature" (none usable), "bad_signature", "key_unavailable", ...
Status verify_server_signature(const JsonObject& object, std::string_view server_name,
                               const KeyLookup& keys, std::int64_t valid_at_ms);

}  // namespace bordergate::matrix
