// The endpoint catalogue: the names the language uses, the groups, and the route table.
#include "policy/endpoint.h"

#include <gtest/gtest.h>

#include <set>

namespace bordergate::policy {
namespace {

TEST(EndpointCatalogue, NamesAreExactlyTheLanguageNames) {
  const std::set<std::string_view> expected = {"well_known",
                                               "key.server",
                                               "key.query",
                                               "version",
                                               "send",
                                               "event_auth",
                                               "backfill",
                                               "get_missing_events",
                                               "state",
                                               "state_ids",
                                               "event",
                                               "timestamp_to_event",
                                               "make_join",
                                               "send_join",
                                               "make_knock",
                                               "send_knock",
                                               "invite",
                                               "make_leave",
                                               "send_leave",
                                               "exchange_third_party_invite",
                                               "3pid.onbind",
                                               "publicRooms",
                                               "hierarchy",
                                               "query.directory",
                                               "query.profile",
                                               "query",
                                               "openid.userinfo",
                                               "user.devices",
                                               "user.keys.query",
                                               "user.keys.claim",
                                               "media.download",
                                               "media.thumbnail",
                                               "policy.sign",
                                               "media.legacy_download",
                                               "media.legacy_thumbnail"};
  std::set<std::string_view> actual;
  for (const auto& info : endpoint_catalogue()) actual.insert(info.name);
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(endpoint_catalogue().size(), kEndpointCount);
}

TEST(EndpointCatalogue, NameRoundTrip) {
  for (const auto& info : endpoint_catalogue()) {
    auto e = endpoint_from_name(info.name);
    ASSERT_TRUE(e.has_value()) << info.name;
    EXPECT_EQ(*e, info.endpoint);
    EXPECT_EQ(&endpoint_info(*e), &info);
  }
  EXPECT_FALSE(endpoint_from_name("Send").has_value());
  EXPECT_FALSE(endpoint_from_name("").has_value());
}

TEST(EndpointCatalogue, VersionVariantsShareOneName) {
  const auto& join = endpoint_info(FederationEndpoint::send_join);
  EXPECT_EQ(join.routes[0].path, "/_matrix/federation/v2/send_join/{roomId}/{eventId}");
  EXPECT_EQ(join.routes[1].path, "/_matrix/federation/v1/send_join/{roomId}/{eventId}");
  const auto& kq = endpoint_info(FederationEndpoint::key_query);
  EXPECT_EQ(kq.routes[0].method, "GET");
  EXPECT_EQ(kq.routes[1].method, "POST");
  EXPECT_EQ(kq.auth, EndpointAuth::none);
  // The key-id forms (Synapse up to 1.73) are routes of the same endpoints.
  EXPECT_EQ(kq.routes[2].path, "/_matrix/key/v2/query/{serverName}/{keyId}");
  EXPECT_EQ(endpoint_info(FederationEndpoint::key_server).routes[1].path,
            "/_matrix/key/v2/server/{keyId}");
  EXPECT_EQ(endpoint_info(FederationEndpoint::media_legacy_download).auth, EndpointAuth::none);
}

TEST(EndpointCatalogue, FactsMatchTheDigest) {
  EXPECT_TRUE(endpoint_info(FederationEndpoint::send).request_carries_pdus);
  EXPECT_TRUE(endpoint_info(FederationEndpoint::invite).request_carries_pdus);
  EXPECT_FALSE(endpoint_info(FederationEndpoint::make_join).request_carries_pdus);
  EXPECT_TRUE(endpoint_info(FederationEndpoint::backfill).response_carries_pdus);
  EXPECT_FALSE(endpoint_info(FederationEndpoint::event).room_in_path);
  EXPECT_TRUE(endpoint_info(FederationEndpoint::make_leave).user_in_path);
  EXPECT_EQ(endpoint_info(FederationEndpoint::openid_userinfo).auth, EndpointAuth::openid);
  EXPECT_EQ(endpoint_info(FederationEndpoint::threepid_onbind).auth, EndpointAuth::identity_server);
}

TEST(EndpointGroups, Members) {
  struct Case {
    const char* group;
    std::set<std::string_view> members;
  };
  const Case cases[] = {
      {"membership",
       {"make_join", "send_join", "make_leave", "send_leave", "make_knock", "send_knock",
        "invite"}},
      {"room_read",
       {"event_auth", "backfill", "get_missing_events", "state", "state_ids", "event",
        "timestamp_to_event"}},
      {"e2ee", {"user.devices", "user.keys.query", "user.keys.claim"}},
      {"keys", {"key.server", "key.query"}},
      {"media", {"media.download", "media.thumbnail"}},
      {"directory", {"publicRooms", "hierarchy", "query.directory"}},
      {"legacy_media", {"media.legacy_download", "media.legacy_thumbnail"}},
      {"unauthenticated",
       {"well_known", "key.server", "key.query", "version", "3pid.onbind", "openid.userinfo"}},
  };
  for (const Case& c : cases) {
    auto set = endpoint_group(c.group);
    ASSERT_TRUE(set.has_value()) << c.group;
    std::set<std::string_view> actual;
    for (const auto& info : endpoint_catalogue()) {
      if (*set & endpoint_bit(info.endpoint)) actual.insert(info.name);
    }
    EXPECT_EQ(actual, c.members) << c.group;
  }
  EXPECT_EQ(*endpoint_group("all"), kAllEndpoints);
  EXPECT_EQ(*endpoint_group("federation") & *endpoint_group("unauthenticated"), 0u);
  EXPECT_EQ(*endpoint_group("federation") | *endpoint_group("unauthenticated"), kAllEndpoints);
  EXPECT_FALSE(endpoint_group("nope").has_value());
}

// The legacy media endpoints carry no authentication: no group but their own reaches them.
TEST(EndpointGroups, LegacyMediaOnlyByName) {
  const EndpointSet legacy = endpoint_bit(FederationEndpoint::media_legacy_download) |
                             endpoint_bit(FederationEndpoint::media_legacy_thumbnail);
  EXPECT_EQ(kExplicitOnlyEndpoints, legacy);
  for (const auto& g : endpoint_groups()) {
    if (g.name == "legacy_media") {
      EXPECT_EQ(g.members, legacy);
    } else {
      EXPECT_EQ(g.members & legacy, 0u) << g.name;
    }
  }
  EXPECT_EQ(kAllEndpoints | legacy, kCatalogueEndpoints);
  EXPECT_EQ(kOriginUnknownEndpoints & legacy, legacy);
  for (const auto& info : endpoint_catalogue()) {
    const bool media = info.name.starts_with("media.");
    EXPECT_EQ(is_media_endpoint(info.endpoint), media) << info.name;
  }
}

}  // namespace
}  // namespace bordergate::policy
