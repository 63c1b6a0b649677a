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
};

inline constexpr std::size_t kEndpointCount = 33;

// How a request to the endpoint is authenticated.
enum class EndpointAuth : std::uint8_t {
  none,             // no authentication at all (discovery, server keys)
  x_matrix,         // X-Matrix request signature
  openid,           // OpenID access token in the query string
  identity_server,  // called by identity servers; no X-Matrix
};

// One route: a method and a path template. Parameters are written {roomId}, {eventId},
// {userId}, {serverName}, {txnId}, {mediaId}, {queryType}.
struct EndpointRoute {
  std::string_view method;
  std::string_view path;
};

struct EndpointInfo {
  FederationEndpoint endpoint;
  std::string_view name;                // the name used in policy files
  std::array<EndpointRoute, 2> routes;  // v1/v2 or GET/POST variants; unused slots are empty
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
inline constexpr EndpointSet kAllEndpoints = (EndpointSet{1} << kEndpointCount) - 1;

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
