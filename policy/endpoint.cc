// The endpoint table. Order follows the enum so that endpoint_info() is an index.
#include "policy/endpoint.h"

namespace bordergate::policy {
namespace {

using E = FederationEndpoint;
using A = EndpointAuth;
constexpr EndpointRoute kNone{"", ""};

// clang-format off
constexpr std::array<EndpointInfo, kEndpointCount> kCatalogue{{
  {E::well_known, "well_known", {{{"GET", "/.well-known/matrix/server"}, kNone}}, A::none, false, false, false, false},
  {E::key_server, "key.server", {{{"GET", "/_matrix/key/v2/server"}, {"GET", "/_matrix/key/v2/server/{keyId}"}}}, A::none, false, false, false, false},
  {E::key_query, "key.query", {{{"GET", "/_matrix/key/v2/query/{serverName}"}, {"POST", "/_matrix/key/v2/query"}, {"GET", "/_matrix/key/v2/query/{serverName}/{keyId}"}}}, A::none, false, false, false, false},
  {E::version, "version", {{{"GET", "/_matrix/federation/v1/version"}, kNone}}, A::none, false, false, false, false},
  {E::send, "send", {{{"PUT", "/_matrix/federation/v1/send/{txnId}"}, kNone}}, A::x_matrix, true, false, false, false},
  {E::event_auth, "event_auth", {{{"GET", "/_matrix/federation/v1/event_auth/{roomId}/{eventId}"}, kNone}}, A::x_matrix, false, true, true, false},
  {E::backfill, "backfill", {{{"GET", "/_matrix/federation/v1/backfill/{roomId}"}, kNone}}, A::x_matrix, false, true, true, false},
  {E::get_missing_events, "get_missing_events", {{{"POST", "/_matrix/federation/v1/get_missing_events/{roomId}"}, kNone}}, A::x_matrix, false, true, true, false},
  {E::state, "state", {{{"GET", "/_matrix/federation/v1/state/{roomId}"}, kNone}}, A::x_matrix, false, true, true, false},
  {E::state_ids, "state_ids", {{{"GET", "/_matrix/federation/v1/state_ids/{roomId}"}, kNone}}, A::x_matrix, false, false, true, false},
  {E::event, "event", {{{"GET", "/_matrix/federation/v1/event/{eventId}"}, kNone}}, A::x_matrix, false, true, false, false},
  {E::timestamp_to_event, "timestamp_to_event", {{{"GET", "/_matrix/federation/v1/timestamp_to_event/{roomId}"}, kNone}}, A::x_matrix, false, false, true, false},
  {E::make_join, "make_join", {{{"GET", "/_matrix/federation/v1/make_join/{roomId}/{userId}"}, kNone}}, A::x_matrix, false, false, true, true},
  {E::send_join, "send_join", {{{"PUT", "/_matrix/federation/v2/send_join/{roomId}/{eventId}"}, {"PUT", "/_matrix/federation/v1/send_join/{roomId}/{eventId}"}}}, A::x_matrix, true, true, true, false},
  {E::make_knock, "make_knock", {{{"GET", "/_matrix/federation/v1/make_knock/{roomId}/{userId}"}, kNone}}, A::x_matrix, false, false, true, true},
  {E::send_knock, "send_knock", {{{"PUT", "/_matrix/federation/v1/send_knock/{roomId}/{eventId}"}, kNone}}, A::x_matrix, true, true, true, false},
  {E::invite, "invite", {{{"PUT", "/_matrix/federation/v2/invite/{roomId}/{eventId}"}, {"PUT", "/_matrix/federation/v1/invite/{roomId}/{eventId}"}}}, A::x_matrix, true, true, true, false},
  {E::make_leave, "make_leave", {{{"GET", "/_matrix/federation/v1/make_leave/{roomId}/{userId}"}, kNone}}, A::x_matrix, false, false, true, true},
  {E::send_leave, "send_leave", {{{"PUT", "/_matrix/federation/v2/send_leave/{roomId}/{eventId}"}, {"PUT", "/_matrix/federation/v1/send_leave/{roomId}/{eventId}"}}}, A::x_matrix, true, false, true, false},
  {E::exchange_third_party_invite, "exchange_third_party_invite", {{{"PUT", "/_matrix/federation/v1/exchange_third_party_invite/{roomId}"}, kNone}}, A::x_matrix, false, false, true, false},
  {E::threepid_onbind, "3pid.onbind", {{{"PUT", "/_matrix/federation/v1/3pid/onbind"}, kNone}}, A::identity_server, false, false, false, false},
  {E::public_rooms, "publicRooms", {{{"GET", "/_matrix/federation/v1/publicRooms"}, {"POST", "/_matrix/federation/v1/publicRooms"}}}, A::x_matrix, false, false, false, false},
  {E::hierarchy, "hierarchy", {{{"GET", "/_matrix/federation/v1/hierarchy/{roomId}"}, kNone}}, A::x_matrix, false, false, true, false},
  {E::query_directory, "query.directory", {{{"GET", "/_matrix/federation/v1/query/directory"}, kNone}}, A::x_matrix, false, false, false, false},
  {E::query_profile, "query.profile", {{{"GET", "/_matrix/federation/v1/query/profile"}, kNone}}, A::x_matrix, false, false, false, false},
  {E::query_other, "query", {{{"GET", "/_matrix/federation/v1/query/{queryType}"}, kNone}}, A::x_matrix, false, false, false, false},
  {E::openid_userinfo, "openid.userinfo", {{{"GET", "/_matrix/federation/v1/openid/userinfo"}, kNone}}, A::openid, false, false, false, false},
  {E::user_devices, "user.devices", {{{"GET", "/_matrix/federation/v1/user/devices/{userId}"}, kNone}}, A::x_matrix, false, false, false, true},
  {E::user_keys_query, "user.keys.query", {{{"POST", "/_matrix/federation/v1/user/keys/query"}, kNone}}, A::x_matrix, false, false, false, false},
  {E::user_keys_claim, "user.keys.claim", {{{"POST", "/_matrix/federation/v1/user/keys/claim"}, kNone}}, A::x_matrix, false, false, false, false},
  {E::media_download, "media.download", {{{"GET", "/_matrix/federation/v1/media/download/{mediaId}"}, kNone}}, A::x_matrix, false, false, false, false},
  {E::media_thumbnail, "media.thumbnail", {{{"GET", "/_matrix/federation/v1/media/thumbnail/{mediaId}"}, kNone}}, A::x_matrix, false, false, false, false},
  {E::policy_sign, "policy.sign", {{{"POST", "/_matrix/policy/v1/sign"}, kNone}}, A::x_matrix, true, false, false, false},
  {E::media_legacy_download, "media.legacy_download", {{{"GET", "/_matrix/media/v3/download/{serverName}/{mediaId}"}, {"GET", "/_matrix/media/v3/download/{serverName}/{mediaId}/{fileName}"}, {"GET", "/_matrix/media/r0/download/{serverName}/{mediaId}"}, {"GET", "/_matrix/media/r0/download/{serverName}/{mediaId}/{fileName}"}}}, A::none, false, false, false, false},
  {E::media_legacy_thumbnail, "media.legacy_thumbnail", {{{"GET", "/_matrix/media/v3/thumbnail/{serverName}/{mediaId}"}, {"GET", "/_matrix/media/r0/thumbnail/{serverName}/{mediaId}"}}}, A::none, false, false, false, false},
}};
// clang-format on

constexpr bool catalogue_in_enum_order() {
  for (std::size_t i = 0; i < kCatalogue.size(); ++i) {
    if (static_cast<std::size_t>(kCatalogue[i].endpoint) != i) return false;
  }
  return true;
}
static_assert(catalogue_in_enum_order(), "kCatalogue must follow the FederationEndpoint order");
static_assert(kEndpointCount <= 64, "EndpointSet is a 64-bit mask");

constexpr EndpointSet bits(std::initializer_list<E> list) {
  EndpointSet s = 0;
  for (E e : list) s |= endpoint_bit(e);
  return s;
}

// clang-format off
constexpr std::array<EndpointGroup, 14> kGroups{{
  {"all", kAllEndpoints, "every endpoint of the catalogue but @legacy_media"},
  {"discovery", bits({E::well_known, E::version}), "well_known, version"},
  {"keys", bits({E::key_server, E::key_query}), "key.server, key.query (server signing keys, no X-Matrix)"},
  {"transactions", bits({E::send}), "send (PDUs and EDUs)"},
  {"membership", bits({E::make_join, E::send_join, E::make_leave, E::send_leave, E::make_knock,
                       E::send_knock, E::invite}),
   "make_join, send_join, make_leave, send_leave, make_knock, send_knock, invite"},
  {"room_read", bits({E::event_auth, E::backfill, E::get_missing_events, E::state, E::state_ids,
                      E::event, E::timestamp_to_event}),
   "event_auth, backfill, get_missing_events, state, state_ids, event, timestamp_to_event"},
  {"directory", bits({E::public_rooms, E::hierarchy, E::query_directory}),
   "publicRooms, hierarchy, query.directory"},
  {"query", bits({E::query_directory, E::query_profile, E::query_other}),
   "query.directory, query.profile, query"},
  {"e2ee", bits({E::user_devices, E::user_keys_query, E::user_keys_claim}),
   "user.devices, user.keys.query, user.keys.claim"},
  {"media", bits({E::media_download, E::media_thumbnail}), "media.download, media.thumbnail"},
  {"legacy_media", kExplicitOnlyEndpoints,
   "media.legacy_download, media.legacy_thumbnail (inbound, unauthenticated; never in @all)"},
  {"third_party", bits({E::exchange_third_party_invite, E::threepid_onbind}),
   "exchange_third_party_invite, 3pid.onbind"},
  {"unauthenticated", bits({E::well_known, E::key_server, E::key_query, E::version,
                            E::threepid_onbind, E::openid_userinfo}),
   "endpoints without X-Matrix: evaluated with the origin unknown"},
  {"federation", kAllEndpoints & ~bits({E::well_known, E::key_server, E::key_query, E::version,
                                        E::threepid_onbind, E::openid_userinfo}),
   "every X-Matrix endpoint (all minus @unauthenticated)"},
}};
// clang-format on

}  // namespace

std::span<const EndpointInfo> endpoint_catalogue() { return kCatalogue; }

const EndpointInfo& endpoint_info(FederationEndpoint e) {
  return kCatalogue[static_cast<std::size_t>(e)];
}

std::string_view endpoint_name(FederationEndpoint e) { return endpoint_info(e).name; }

std::optional<FederationEndpoint> endpoint_from_name(std::string_view name) {
  for (const auto& info : kCatalogue) {
    if (info.name == name) return info.endpoint;
  }
  return std::nullopt;
}

std::span<const EndpointGroup> endpoint_groups() { return kGroups; }

std::optional<EndpointSet> endpoint_group(std::string_view name) {
  for (const auto& g : kGroups) {
    if (g.name == name) return g.members;
  }
  return std::nullopt;
}

}  // namespace bordergate::policy
