// Endpoint classification: every catalogue route, its parameters, and the smuggling attempts
// that must never reach the Core (prefix tricks, dot segments, encoded separators, query).
#include "gateway/enforcement/classifier.h"

#include <gtest/gtest.h>

namespace bordergate::enforcement {
namespace {

using policy::FederationEndpoint;
using E = FederationEndpoint;

struct Good {
  const char* method;
  const char* target;
  E endpoint;
  int api_version;
  const char* room = "";
  const char* event = "";
  const char* user = "";
  const char* server = "";
  const char* txn = "";
  const char* media = "";
  const char* key = "";
};

TEST(Classifier, EveryRouteOfTheCatalogue) {
  const Good cases[] = {
      {"GET", "/.well-known/matrix/server", E::well_known, 1},
      {"GET", "/_matrix/key/v2/server", E::key_server, 2},
      {"GET", "/_matrix/key/v2/server/ed25519%3Aa_LSoT", E::key_server, 2, "", "", "", "", "", "",
       "ed25519:a_LSoT"},
      {"GET", "/_matrix/key/v2/query/peer.example/ed25519%3Aabc?minimum_valid_until_ts=1",
       E::key_query, 2, "", "", "", "peer.example", "", "", "ed25519:abc"},
      {"GET", "/_matrix/key/v2/query/peer.example%3A8448?minimum_valid_until_ts=1", E::key_query, 2,
       "", "", "", "peer.example:8448"},
      {"POST", "/_matrix/key/v2/query", E::key_query, 2},
      {"GET", "/_matrix/federation/v1/version", E::version, 1},
      {"PUT", "/_matrix/federation/v1/send/1700000000000", E::send, 1, "", "", "", "",
       "1700000000000"},
      {"GET", "/_matrix/federation/v1/event_auth/%21r%3Aa.example/%24ev%2Fwith%2Bslash",
       E::event_auth, 1, "!r:a.example", "$ev/with+slash"},
      {"GET", "/_matrix/federation/v1/backfill/!r:a?v=%24a&limit=5", E::backfill, 1, "!r:a"},
      {"POST", "/_matrix/federation/v1/get_missing_events/!r:a", E::get_missing_events, 1, "!r:a"},
      {"GET", "/_matrix/federation/v1/state/!r:a?event_id=%24e", E::state, 1, "!r:a"},
      {"GET", "/_matrix/federation/v1/state_ids/!r:a", E::state_ids, 1, "!r:a"},
      {"GET", "/_matrix/federation/v1/event/%24abc", E::event, 1, "", "$abc"},
      {"GET", "/_matrix/federation/v1/timestamp_to_event/!r:a?dir=f&ts=1", E::timestamp_to_event, 1,
       "!r:a"},
      {"GET", "/_matrix/federation/v1/make_join/!r:a/%40u%3Ab?ver=10", E::make_join, 1, "!r:a", "",
       "@u:b"},
      {"PUT", "/_matrix/federation/v2/send_join/!r:a/%24e", E::send_join, 2, "!r:a", "$e"},
      {"PUT", "/_matrix/federation/v1/send_join/!r:a/%24e", E::send_join, 1, "!r:a", "$e"},
      {"GET", "/_matrix/federation/v1/make_knock/!r:a/@u:b", E::make_knock, 1, "!r:a", "", "@u:b"},
      {"PUT", "/_matrix/federation/v1/send_knock/!r:a/$e", E::send_knock, 1, "!r:a", "$e"},
      {"PUT", "/_matrix/federation/v2/invite/!r:a/$e", E::invite, 2, "!r:a", "$e"},
      {"PUT", "/_matrix/federation/v1/invite/!r:a/$e", E::invite, 1, "!r:a", "$e"},
      {"GET", "/_matrix/federation/v1/make_leave/!r:a/@u:b", E::make_leave, 1, "!r:a", "", "@u:b"},
      {"PUT", "/_matrix/federation/v2/send_leave/!r:a/$e", E::send_leave, 2, "!r:a", "$e"},
      {"PUT", "/_matrix/federation/v1/send_leave/!r:a/$e", E::send_leave, 1, "!r:a", "$e"},
      {"PUT", "/_matrix/federation/v1/exchange_third_party_invite/!r:a",
       E::exchange_third_party_invite, 1, "!r:a"},
      {"PUT", "/_matrix/federation/v1/3pid/onbind", E::threepid_onbind, 1},
      {"GET", "/_matrix/federation/v1/publicRooms?limit=3", E::public_rooms, 1},
      {"POST", "/_matrix/federation/v1/publicRooms", E::public_rooms, 1},
      {"GET", "/_matrix/federation/v1/hierarchy/!r:a", E::hierarchy, 1, "!r:a"},
      {"GET", "/_matrix/federation/v1/query/directory?room_alias=%23a%3Ab", E::query_directory, 1},
      {"GET", "/_matrix/federation/v1/query/profile?user_id=%40a%3Ab", E::query_profile, 1},
      {"GET", "/_matrix/federation/v1/query/custom.type", E::query_other, 1},
      {"GET", "/_matrix/federation/v1/openid/userinfo?access_token=x", E::openid_userinfo, 1},
      {"GET", "/_matrix/federation/v1/user/devices/%40a%3Ab", E::user_devices, 1, "", "", "@a:b"},
      {"POST", "/_matrix/federation/v1/user/keys/query", E::user_keys_query, 1},
      {"POST", "/_matrix/federation/v1/user/keys/claim", E::user_keys_claim, 1},
      {"GET", "/_matrix/federation/v1/media/download/abcDEF", E::media_download, 1, "", "", "", "",
       "", "abcDEF"},
      {"GET", "/_matrix/federation/v1/media/thumbnail/abc?width=32", E::media_thumbnail, 1, "", "",
       "", "", "", "abc"},
      {"POST", "/_matrix/policy/v1/sign", E::policy_sign, 1},
      {"GET", "/_matrix/media/r0/download/core.example/m1?allow_remote=false",
       E::media_legacy_download, 0, "", "", "", "core.example", "", "m1"},
      {"GET", "/_matrix/media/v3/thumbnail/core.example/m2?width=32&allow_remote=false",
       E::media_legacy_thumbnail, 3, "", "", "", "core.example", "", "m2"},
  };
  bool seen[policy::kEndpointCount] = {};
  for (const Good& c : cases) {
    auto r = classify_endpoint(c.method, c.target);
    ASSERT_TRUE(r.ok()) << c.method << " " << c.target << ": " << r.error().code;
    EXPECT_EQ(r->endpoint, c.endpoint) << c.target;
    EXPECT_EQ(r->api_version, c.api_version) << c.target;
    EXPECT_EQ(r->params.room_id, c.room) << c.target;
    EXPECT_EQ(r->params.event_id, c.event) << c.target;
    EXPECT_EQ(r->params.user_id, c.user) << c.target;
    EXPECT_EQ(r->params.server_name, c.server) << c.target;
    EXPECT_EQ(r->params.txn_id, c.txn) << c.target;
    EXPECT_EQ(r->params.media_id, c.media) << c.target;
    EXPECT_EQ(r->params.key_id, c.key) << c.target;
    seen[static_cast<int>(c.endpoint)] = true;
  }
  for (std::size_t i = 0; i < policy::kEndpointCount; ++i)
    EXPECT_TRUE(seen[i]) << "no case for " << policy::endpoint_name(static_cast<E>(i));
}

struct Bad {
  const char* method;
  const char* target;
  const char* code;
};

TEST(Classifier, RefusesEverythingElse) {
  const Bad cases[] = {
      // Outside the federation and key APIs.
      {"GET", "/_matrix/client/v3/sync", "unknown_endpoint"},
      {"GET", "/_synapse/admin/v1/users", "unknown_endpoint"},
      {"GET", "/metrics", "unknown_endpoint"},
      {"GET", "/", "bad_path"},
      {"GET", "/_matrix/media/v3/upload", "unknown_endpoint"},
      {"GET", "/_matrix/media/v3/config", "unknown_endpoint"},
      // Prefix and suffix tricks.
      {"GET", "/x/_matrix/federation/v1/version", "unknown_endpoint"},
      {"GET", "/_matrix/federation/v1/version/extra", "unknown_endpoint"},
      {"GET", "/_matrix/federation/v1/version/", "bad_path"},
      {"GET", "/_matrix/federation/v1//version", "bad_path"},
      {"GET", "//_matrix/federation/v1/version", "bad_path"},
      {"PUT", "/_matrix/federation/v1/send/", "bad_path"},
      {"PUT", "/_matrix/federation/v1/send/a/b", "unknown_endpoint"},
      // Dot segments, raw and encoded.
      {"GET", "/_matrix/federation/v1/../../_synapse/admin/v1/users", "bad_path"},
      {"GET", "/_matrix/federation/v1/./version", "bad_path"},
      {"PUT", "/_matrix/federation/v1/send/%2e%2e", "bad_path"},
      {"PUT", "/_matrix/federation/v1/send/.", "bad_path"},
      // Encoded separators never split a segment, so an encoded path does not route.
      {"GET", "/_matrix/federation/v1%2Fversion", "unknown_endpoint"},
      {"GET", "/_matrix%2Ffederation%2Fv1%2Fversion", "unknown_endpoint"},
      {"GET", "/_matrix/federation/v1/%76ersion", "unknown_endpoint"},
      {"GET", "/_matrix/federation/V1/version", "unknown_endpoint"},
      // Malformed escapes and NUL.
      {"PUT", "/_matrix/federation/v1/send/a%2", "bad_path"},
      {"PUT", "/_matrix/federation/v1/send/a%zz", "bad_path"},
      {"PUT", "/_matrix/federation/v1/send/a%00b", "bad_path"},
      {"GET", "/_matrix/client/v3/sync%00", "bad_path"},
      // The query string never routes.
      {"GET", "/_matrix/client/v3/sync?/_matrix/federation/v1/version", "unknown_endpoint"},
      {"GET", "/?x=/_matrix/federation/v1/version", "bad_path"},
      // Not origin-form.
      {"GET", "http://core/_matrix/federation/v1/version", "bad_path"},
      {"OPTIONS", "*", "bad_path"},
      {"GET", "", "bad_path"},
      {"GET", "/_matrix/federation/v1/version#frag", "bad_path"},
      // Known path, wrong method.
      {"POST", "/_matrix/federation/v1/version", "method_not_allowed"},
      {"GET", "/_matrix/federation/v1/send/t1", "method_not_allowed"},
      {"HEAD", "/_matrix/key/v2/server", "method_not_allowed"},
      {"DELETE", "/_matrix/federation/v2/invite/!r:a/$e", "method_not_allowed"},
      {"get", "/_matrix/federation/v1/version", "method_not_allowed"},
      {"POST", "/_matrix/federation/v1/query/profile", "method_not_allowed"},
  };
  for (const Bad& c : cases) {
    auto r = classify_endpoint(c.method, c.target);
    ASSERT_FALSE(r.ok()) << c.method << " " << c.target << " classified as "
                         << policy::endpoint_name(r->endpoint);
    EXPECT_EQ(r.error().code, c.code) << c.method << " " << c.target;
  }
}

// The Core's outbound requests: the whole catalogue still classifies as above, and the legacy
// client-server media paths Synapse falls back to are media.download / media.thumbnail with the
// path's serverName (inbound, classify_endpoint names them media.legacy_download / _thumbnail).
TEST(Classifier, OutboundLegacyMediaPaths) {
  struct Legacy {
    const char* method;
    const char* target;
    E endpoint;
    int api_version;
    const char* server;
    const char* media;
  } cases[] = {
      {"GET",
       "/_matrix/media/v3/download/peer.example/abcDEF?allow_remote=false&timeout_ms=20000"
       "&allow_redirect=true",
       E::media_download, 3, "peer.example", "abcDEF"},
      {"GET", "/_matrix/media/v3/download/peer.example%3A8448/m1/cat.png", E::media_download, 3,
       "peer.example:8448", "m1"},
      {"GET", "/_matrix/media/v3/thumbnail/peer.example/m2?width=32&height=32&method=crop",
       E::media_thumbnail, 3, "peer.example", "m2"},
      {"GET", "/_matrix/media/r0/download/peer.example/m3?allow_remote=false", E::media_download, 0,
       "peer.example", "m3"},
      {"GET", "/_matrix/media/r0/download/[::1]:8448/m4/x", E::media_download, 0, "[::1]:8448",
       "m4"},
      {"GET", "/_matrix/media/r0/thumbnail/peer.example/m%2F5", E::media_thumbnail, 0,
       "peer.example", "m/5"},
  };
  for (const Legacy& c : cases) {
    auto r = classify_outbound_endpoint(c.method, c.target);
    ASSERT_TRUE(r.ok()) << c.target << ": " << r.error().code;
    EXPECT_EQ(r->endpoint, c.endpoint) << c.target;
    EXPECT_TRUE(r->legacy_media) << c.target;
    EXPECT_EQ(r->api_version, c.api_version) << c.target;
    EXPECT_EQ(r->params.server_name, c.server) << c.target;
    EXPECT_EQ(r->params.media_id, c.media) << c.target;
    // Inbound, the same path is its own endpoint, explicit-only in the policy.
    auto inbound = classify_endpoint(c.method, c.target);
    ASSERT_TRUE(inbound.ok()) << c.target;
    EXPECT_EQ(inbound->endpoint, c.endpoint == E::media_download ? E::media_legacy_download
                                                                 : E::media_legacy_thumbnail)
        << c.target;
    EXPECT_TRUE(inbound->legacy_media) << c.target;
    EXPECT_EQ(inbound->params.server_name, c.server) << c.target;
    EXPECT_EQ(inbound->params.media_id, c.media) << c.target;
  }
  // Federation paths classify outbound exactly as inbound, never as legacy.
  for (const char* target : {"/_matrix/federation/v1/media/download/abc",
                             "/_matrix/federation/v1/media/thumbnail/abc?width=1"}) {
    auto out = classify_outbound_endpoint("GET", target);
    auto in = classify_endpoint("GET", target);
    ASSERT_TRUE(out.ok() && in.ok()) << target;
    EXPECT_EQ(out->endpoint, in->endpoint);
    EXPECT_EQ(out->api_version, in->api_version);
    EXPECT_FALSE(out->legacy_media);
  }
  const struct {
    const char* method;
    const char* target;
    const char* code;
  } refused[] = {
      {"PUT", "/_matrix/media/v3/download/peer.example/m1", "method_not_allowed"},
      {"POST", "/_matrix/media/v3/thumbnail/peer.example/m1", "method_not_allowed"},
      {"GET", "/_matrix/media/v3/upload", "unknown_endpoint"},
      {"POST", "/_matrix/media/v3/upload", "unknown_endpoint"},
      {"GET", "/_matrix/media/v3/config", "unknown_endpoint"},
      {"GET", "/_matrix/media/v3/preview_url?url=x", "unknown_endpoint"},
      {"GET", "/_matrix/media/v3/download/peer.example", "unknown_endpoint"},
      {"GET", "/_matrix/media/v3/download/peer.example/m1/name/extra", "unknown_endpoint"},
      {"GET", "/_matrix/media/v3/thumbnail/peer.example/m1/name", "unknown_endpoint"},
      {"GET", "/_matrix/media/v1/download/peer.example/m1", "unknown_endpoint"},
      {"GET", "/_matrix/media/V3/download/peer.example/m1", "unknown_endpoint"},
      {"GET", "/_matrix/client/v1/media/download/peer.example/m1", "unknown_endpoint"},
      {"GET", "/_matrix/media/v3/download/peer.example/%2e%2e", "bad_path"},
      {"GET", "/_matrix/media/v3/download/peer.example//m1", "bad_path"},
      {"GET", "/_matrix/media/v3/download/peer.example/m%00", "bad_path"},
      {"GET", "/_matrix/media%2Fv3/download/peer.example/m1", "unknown_endpoint"},
      {"GET", "/_matrix/client/v3/sync", "unknown_endpoint"},
      {"POST", "/_matrix/federation/v1/version", "method_not_allowed"},
  };
  for (const auto& c : refused) {
    auto r = classify_outbound_endpoint(c.method, c.target);
    ASSERT_FALSE(r.ok()) << c.method << " " << c.target << " classified as "
                         << policy::endpoint_name(r->endpoint);
    EXPECT_EQ(r.error().code, c.code) << c.method << " " << c.target;
  }
}

TEST(Classifier, PercentDecodeSegment) {
  EXPECT_EQ(percent_decode_segment("%24a%2Fb%2fc"), std::optional<std::string>("$a/b/c"));
  EXPECT_EQ(percent_decode_segment("plain+plus"), std::optional<std::string>("plain+plus"));
  EXPECT_EQ(percent_decode_segment("%C3%A4"), std::optional<std::string>("\xC3\xA4"));
  EXPECT_FALSE(percent_decode_segment("%"));
  EXPECT_FALSE(percent_decode_segment("%4"));
  EXPECT_FALSE(percent_decode_segment("%g0"));
  EXPECT_FALSE(percent_decode_segment("%00"));
  EXPECT_FALSE(percent_decode_segment(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace bordergate::enforcement
