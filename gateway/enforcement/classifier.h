// Endpoint classification for the inbound direction: method + raw request-target onto the
// federation endpoint catalogue (policy/endpoint.h), with the path parameters percent-decoded.
// Pure and allocation-light; the only gate through which a request can reach the Core.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "policy/endpoint.h"

namespace bordergate::enforcement {

// Path parameters, percent-decoded (empty = not in this endpoint's path).
struct PathParams {
  std::string room_id;
  std::string event_id;
  std::string user_id;
  std::string server_name;
  std::string txn_id;
  std::string media_id;
  std::string query_type;
  std::string key_id;  // key.server / key.query by key id: "<algorithm>:<version>", checked
};

struct Classification {
  policy::FederationEndpoint endpoint = policy::FederationEndpoint::version;
  std::uint8_t route = 0;  // index into EndpointInfo::routes (v2/v1 or GET/POST variant)
  int api_version = 1;     // the /vN/ of the matched route
  PathParams params;
  // A legacy client-server media path (/_matrix/media/{v3,r0}/download|thumbnail/{serverName}/
  // {mediaId}): params.server_name is the path's serverName; the answer is the plain media, not
  // multipart. Inbound it is media_legacy_download / media_legacy_thumbnail (a peer such as
  // Synapse 1.67 fetching the Core's media); outbound (the Core falling back when the
  // destination does not know the federation media API) media_download / media_thumbnail.
  bool legacy_media = false;
};

// Errors (all mean "not forwarded"):
//   "unknown_endpoint"      no route matches the path           -> 404 M_UNRECOGNIZED
//   "method_not_allowed"    a route matches the path, not the method -> 405 M_UNRECOGNIZED
//   "bad_path"              not origin-form, bad percent-encoding, NUL, '.'/'..' or empty
//                           segments, a {keyId} that is not "<algorithm>:<version>"
//                                                                -> 404 M_UNRECOGNIZED
// Matching: the path (request-target up to '?') is split on '/' first; literal segments must
// equal the template byte for byte (no decoding, no case folding); parameter segments are then
// percent-decoded individually, so "%2F" stays inside its segment. The query never routes.
Result<Classification> classify_endpoint(std::string_view method, std::string_view target);

// The Core's requests through the outbound proxy: the catalogue as above, with the legacy media
// paths judged as the federation media endpoints they stand in for (docs/outbound.md, "Legacy
// media"), so that one media rule covers both path families towards a destination.
Result<Classification> classify_outbound_endpoint(std::string_view method, std::string_view target);

// "<algorithm>:<version>", both [a-zA-Z0-9_]+ (S2S §Retrieving server keys), after decoding.
bool is_key_id(std::string_view key_id);

// True when the query of `target` sets allow_remote exactly once, to "false" (inbound legacy
// media). Pairs are split on '&' and ';' (Twisted splits on both), names and values decoded as
// forms are ('+' is a space, then percent-decoding), so no spelling of a second allow_remote
// slips past; a malformed escape anywhere in the query is false.
bool allow_remote_false(std::string_view target);

// Percent-decodes one path segment; nullopt on a malformed escape or a NUL byte.
std::optional<std::string> percent_decode_segment(std::string_view segment);

}  // namespace bordergate::enforcement
