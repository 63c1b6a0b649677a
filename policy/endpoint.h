// The federation endpoint catalogue (federation-notes §7) as one enum plus a data table.
// The policy language names endpoints by `endpoint_name()`; the gateway's classifier maps
// method + path onto the same enum and can be generated from `endpoint_catalogue()`.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace bordergate::policy {

enum class FederationEndpoint : std::uint8_t {
  well_known,
  key_server,
  key_query,
  version,
  send,
  event_auth,
  backfill,
  get_missing_events,
  state,
  state_ids,
  event,
  timestamp_to_event,
  make_join,
  send_join,
  make_knock,
  send_knock,
  invite,
  make_leave,
  send_leave,
  exchange_third_party_invite,
  threepid_onbind,
  public_rooms,
  hierarchy,
  query_directory,
  query_profile,
  query_other,
  openid_userinfo,
  user_devices,
  user_keys_query,
  user_keys_claim,
  media_download,
  media_thumbnail,
  policy_sign,
  // Inbound only: the deprecated client-server media paths an older homeserver (Synapse up to
  // 1.x before authenticated media) fetches remote media with, unauthenticated. Outbound the same
  // paths are judged as media_download / media_thumbnail (docs/outbound.md, "Legacy media").
  media_legacy_download,
  media_legacy_thumbnail,
};

inline constexpr std::size_t kEndpointCount = 35;

// How a request to the endpoint is authenticated.
enum class EndpointAuth : std::uint8_t {
  none,             // no authentication at all (discovery, server keys)
  x_matrix,         // X-Matrix request signature
  openid,           // OpenID access token in the query string
  identity_server,  // called by identity servers; no X-Matrix
};

// One route: a method and a path template. Parameters are written {roomId}, {eventId},
// {userId}, {serverName}, {txnId}, {mediaId}, {queryType}, {keyId}, {fileName}.
struct EndpointRoute {
  std::string_view method;
  std::string_view path;
};

struct EndpointInfo {
  FederationEndpoint endpoint;
  std::string_view name;                // the name used in policy files
  std::array<EndpointRoute, 4> routes;  // v1/v2, GET/POST or path variants; unused slots empty
  EndpointAuth auth;
  bool request_carries_pdus;   // the request body holds signed PDUs
  bool response_carries_pdus;  // the response body holds signed PDUs
  bool room_in_path;           // {roomId} is a path parameter
  bool user_in_path;           // {userId} is a path parameter
};

// Bit set of endpoints (the catalogue has fewer than 64 entries).
using EndpointSet = std::uint64_t;
inline constexpr EndpointSet endpoint_bit(FederationEndpoint e) {
  return EndpointSet{1} << static_cast<unsigned>(e);
}
inline constexpr EndpointSet kCatalogueEndpoints = (EndpointSet{1} << kEndpointCount) - 1;
// Endpoints a rule reaches only by naming them (or their group): never through `@all`, another
// group, or a rule without `endpoints`. The legacy media paths carry no authentication at all, so
// opening them must be a deliberate line in the policy (docs/policy.md, "Legacy media").
inline constexpr EndpointSet kExplicitOnlyEndpoints =
    endpoint_bit(FederationEndpoint::media_legacy_download) |
    endpoint_bit(FederationEndpoint::media_legacy_thumbnail);
inline constexpr EndpointSet kAllEndpoints = kCatalogueEndpoints & ~kExplicitOnlyEndpoints;
// Endpoints whose inbound requests carry no X-Matrix: their origin is unknown.
inline constexpr EndpointSet kOriginUnknownEndpoints =
    endpoint_bit(FederationEndpoint::well_known) | endpoint_bit(FederationEndpoint::key_server) |
    endpoint_bit(FederationEndpoint::key_query) | endpoint_bit(FederationEndpoint::version) |
    endpoint_bit(FederationEndpoint::threepid_onbind) |
    endpoint_bit(FederationEndpoint::openid_userinfo) | kExplicitOnlyEndpoints;

// Media endpoints: the media settings (allowed, max_bytes, content_types) apply to them.
constexpr bool is_media_endpoint(FederationEndpoint e) {
  return e == FederationEndpoint::media_download || e == FederationEndpoint::media_thumbnail ||
         e == FederationEndpoint::media_legacy_download ||
         e == FederationEndpoint::media_legacy_thumbnail;
}

std::span<const EndpointInfo> endpoint_catalogue();
const EndpointInfo& endpoint_info(FederationEndpoint e);
std::string_view endpoint_name(FederationEndpoint e);
std::optional<FederationEndpoint> endpoint_from_name(std::string_view name);

// Named endpoint groups usable in policy files as `@name` (documented in docs/policy.md).
struct EndpointGroup {
  std::string_view name;  // without the leading '@'
  EndpointSet members;
  std::string_view description;
};
std::span<const EndpointGroup> endpoint_groups();
std::optional<EndpointSet> endpoint_group(std::string_view name_without_at);

}  // namespace bordergate::policy
