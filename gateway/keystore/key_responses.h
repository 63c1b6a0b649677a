// Turning fetched bodies into trusted keys: strict JSON, self-signatures (and notary signatures),
// the server name asked for, sane sizes. Everything a hostile key server can send ends here.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/matrix/server_keys.h"

namespace bordergate::keystore {

struct ResponseLimits {
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_keys = 64;  // verify_keys + old_verify_keys in one object
};

// A /_matrix/key/v2/server body. Errors: "invalid_json", the matrix library's
// "bad_server_keys" / "missing_signature" / "bad_signature", plus "wrong_server" (server_name is
// not the one asked for), "response_too_large", "too_many_keys". An answer whose valid_until_ts
// has passed is accepted: it still proves which keys were valid back then (old events), and the
// validity rules keep it from authenticating anything now.
Result<matrix::ServerKeys> verify_server_response(std::string_view body,
                                                  std::string_view expected_server,
                                                  const ResponseLimits& limits = {});

// A notary body: every entry self-signed and notary-signed (via notary_keys). Returns the entries
// for expected_server only (a notary may add others; they are ignored, not trusted for free).
// Errors as above plus the notary's signature errors; "no_keys" when the notary knows nothing.
// now_ms: the time the notary's own key must be valid at.
Result<std::vector<matrix::ServerKeys>> verify_notary_response(
    std::string_view body, std::string_view notary_name, const matrix::KeyLookup& notary_keys,
    std::string_view expected_server, std::int64_t now_ms, const ResponseLimits& limits = {});

}  // namespace bordergate::keystore
