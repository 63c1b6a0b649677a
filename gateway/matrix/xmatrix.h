// X-Matrix request authentication (S2S §Request Authentication): parsing the Authorization header,
// rebuilding the signed request object, verifying it, and signing our own outgoing requests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/signed_json.h"

namespace bordergate::matrix {

struct XMatrixAuth {
  std::string origin;
  std::optional<std::string> destination;
  std::string key_id;
  std::string signature;  // unpadded base64 as sent
};

// One Authorization header value: scheme "X-Matrix" (case-insensitive), then RFC 9110 auth-params
// in any order, names case-insensitive, token or quoted-string values (backslash escapes undone;
// ':' accepted in unquoted values for legacy senders), "sig" or "signature", unknown params
// ignored. Errors: "not_xmatrix" (other scheme), "bad_xmatrix_header" (syntax, duplicate or
// missing parameter; the message names the byte offset or the parameter).
Result<XMatrixAuth> parse_xmatrix(std::string_view header_value);

// Every Authorization value of a request: values of other schemes are skipped, every X-Matrix one
// must parse, and all must name the same origin. Errors as above plus "missing_xmatrix",
// "origin_mismatch".
Result<std::vector<XMatrixAuth>> parse_xmatrix_headers(std::span<const std::string_view> values);

struct XMatrixRequest {
  std::string_view method, uri, origin, destination;
  const Json* content = nullptr;  // nullptr: no body, "content" omitted
};
// Canonical JSON of {method, uri, origin, destination[, content]}.
Result<std::string> xmatrix_signing_bytes(const XMatrixRequest& request);

// Verifies one signature. destination in the signed object is always our_server_name (as Synapse
// does); a header destination naming someone else fails with "wrong_destination". Key lookup at
// now_ms ("unknown_key", "key_expired", ...), then "bad_base64" / "bad_signature".
Status verify_xmatrix(const XMatrixAuth& auth, std::string_view method, std::string_view uri,
                      std::string_view our_server_name, const Json* content, const KeyLookup& keys,
                      std::int64_t now_ms);

// Several headers (Synapse's rule, notes §11.2): every signature whose key can be found must
// verify and at least one must. Returns the authenticated origin.
Result<std::string> verify_xmatrix_all(std::span<const XMatrixAuth> auths, std::string_view method,
                                       std::string_view uri, std::string_view our_server_name,
                                       const Json* content, const KeyLookup& keys,
                                       std::int64_t now_ms);

// The full Authorization header value for an outgoing request, in the form senders should use:
// `X-Matrix origin="..",destination="..",key="..",sig=".."`. Server names and key ids never need
// escaping, but quotes and backslashes are escaped anyway. Fails only when content cannot be
// canonicalised (floats, out-of-range integers, invalid UTF-8).
Result<std::string> sign_xmatrix(std::string_view method, std::string_view uri,
                                 std::string_view origin, std::string_view destination,
                                 const Json* content, const SigningKey& key);

}  // namespace bordergate::matrix
