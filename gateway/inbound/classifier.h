// Endpoint classification for the inbound direction: method + raw request-target onto the
// federation endpoint catalogue (policy/endpoint.h), with the path parameters percent-decoded.
// Pure and allocation-light; the only gate through which a request can reach the Core.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "policy/endpoint.h"

namespace bordergate::inbound {

// Path parameters, percent-decoded (empty = not in this endpoint's path).
struct PathParams {
  std::string room_id;
  std::string event_id;
  std::string user_id;
  std::string server_name;
  std::string txn_id;
  std::string media_id;
  std::string query_type;
};

struct Classification {
  policy::FederationEndpoint endpoint = policy::FederationEndpoint::version;
  std::uint8_t route = 0;  // index into EndpointInfo::routes (v2/v1 or GET/POST variant)
  int api_version = 1;     // the /vN/ of the matched route
  PathParams params;
  // Outbound only: a legacy client-server media path (/_matrix/media/{v3,r0}/download|thumbnail/
  // {serverName}/{mediaId}) that Synapse falls back to when the destination does not know the
  // federation media API. Classified as media_download / media_thumbnail; params.server_name is
  // the path's serverName; the answer is the plain media, not multipart.
  bool legacy_media = false;
};

// Errors (all mean "not forwarded"):
//   "unknown_endpoint"      no route matches the path           -> 404 M_UNRECOGNIZED
//   "method_not_allowed"    a route matches the path, not the method -> 405 M_UNRECOGNIZED
//   "bad_path"              not origin-form, bad percent-encoding, NUL, '.'/'..' or empty
//                           segments                             -> 404 M_UNRECOGNIZED
// Matching: the path (request-target up to '?') is split on '/' first; literal segments must
// equal the template byte for byte (no decoding, no case folding); parameter segments are then
// percent-decoded individually, so "%2F" stays inside its segment. The query never routes.
Result<Classification> classify_endpoint(std::string_view method, std::string_view target);

// The Core's requests through the outbound proxy: the catalogue as above, and, for a path it does
// not know, the legacy media paths (GET only; docs/outbound.md, "Legacy media"). The federation
// listener never uses this: those are client-server API paths, refused inbound.
Result<Classification> classify_outbound_endpoint(std::string_view method, std::string_view target);

// Percent-decodes one path segment; nullopt on a malformed escape or a NUL byte.
std::optional<std::string> percent_decode_segment(std::string_view segment);

}  // namespace bordergate::inbound
