// Server-key answers the Core fetched through the gateway: its own keys from the destination
// (self-signed, the destination's name) and notary answers (every entry self-signed and signed
// by the destination), including the first run that asks for the notary's keys.
#include "gateway/outbound/key_answer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/keystore/test_keys.h"

namespace bordergate::outbound {
namespace {

using keystore::testing::body;
using keystore::testing::kDay;
using keystore::testing::key_object;
using keystore::testing::kNow;
using keystore::testing::notary_body;
using E = policy::FederationEndpoint;

constexpr const char* kDest = "remote.example:8448";

struct KeyAnswerTest : ::testing::Test {
  matrix::SigningKey dest = matrix::SigningKey::generate("d1");
  matrix::SigningKey other = matrix::SigningKey::generate("o1");
  matrix::SigningKey impostor = matrix::SigningKey::generate("d1");
  bool dest_cached = true;

  matrix::KeyLookup keys() const {
    return [this](std::string_view server, std::string_view key_id,
                  std::int64_t) -> Result<matrix::VerifyKey> {
      if (server == kDest && key_id == dest.key_id()) {
        if (!dest_cached) return make_error("key_unavailable", "not cached");
        return dest.verify_key();
      }
      return make_error("unknown_key", "not a key");
    };
  }

  ResponseCheck check(E endpoint, const std::string& answer, bool awaited = false,
                      std::string_view queried = {}) const {
    ResponseCheckInput in;
    in.asked.endpoint = endpoint;
    in.asked.queried_server = queried;
    in.asked.destination = kDest;
    in.answer = {200, "application/json", answer};
    in.keys_awaited = awaited;
    EXPECT_TRUE(response_needs_check(endpoint));
    return check_response(in, keys());
  }
};

TEST_F(KeyAnswerTest, OwnKeysMustBeTheDestinationsAndSelfSigned) {
  auto own = key_object(kDest, {&dest}, kNow + kDay);
  auto tampered = own;
  tampered["valid_until_ts"] = matrix::Json(kNow + 365 * kDay);  // after signing
  struct Case {
    const char* name;
    std::string answer;
    ResponseAction action;
    const char* reason;
  } cases[] = {
      {"own keys", body(own), ResponseAction::pass, "response_ok"},
      {"keys of another server", body(key_object("other.example", {&other}, kNow + kDay)),
       ResponseAction::refuse, "response_keys_invalid"},
      {"changed after signing", body(tampered), ResponseAction::refuse, "response_keys_invalid"},
      {"signed by another key", body(key_object(kDest, {&dest}, kNow + kDay, {}, {&impostor})),
       ResponseAction::refuse, "response_keys_invalid"},
      {"no keys at all", R"({"server_name":"remote.example:8448","valid_until_ts":1})",
       ResponseAction::refuse, "response_keys_invalid"},
      {"not JSON", "{\"server_name\":", ResponseAction::refuse, "response_malformed"},
      {"duplicate keys", R"({"server_name":"a","server_name":"b"})", ResponseAction::refuse,
       "response_malformed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ResponseCheck r = check(E::key_server, c.answer);
    EXPECT_EQ(r.action, c.action);
    EXPECT_EQ(r.reason, c.reason);
    if (c.action == ResponseAction::refuse) {
      EXPECT_EQ(r.status, 502);
      EXPECT_STREQ(r.errcode, "M_UNKNOWN");
    }
  }
}

TEST_F(KeyAnswerTest, NotaryAnswersMustBeVouchedForByTheDestination) {
  auto vouched = notary_body(
      {key_object("other.example", {&other}, kNow + kDay), key_object(kDest, {&dest}, kNow + kDay)},
      kDest, dest);
  EXPECT_EQ(check(E::key_query, vouched).action, ResponseAction::pass);

  // An entry the notary did not sign, or signed with a key that is not the notary's.
  auto unsigned_entry = body(matrix::JsonObject{
      {"server_keys", matrix::JsonArray{key_object("other.example", {&other}, kNow + kDay)}}});
  auto forged = notary_body({key_object("other.example", {&other}, kNow + kDay)}, kDest, impostor);
  // An entry that is not self-signed, though the notary signed it.
  auto not_self_signed = notary_body(
      {key_object("other.example", {&other}, kNow + kDay, {}, {&impostor})}, kDest, dest);
  for (const std::string& answer : {unsigned_entry, forged, not_self_signed}) {
    ResponseCheck r = check(E::key_query, answer);
    EXPECT_EQ(r.action, ResponseAction::refuse) << answer;
    EXPECT_EQ(r.reason, "response_keys_invalid");
  }
  EXPECT_EQ(check(E::key_query, R"({"server_keys":{}})").action, ResponseAction::refuse);
}

TEST_F(KeyAnswerTest, NotaryKeysNotAtHandAreAskedForOnce) {
  dest_cached = false;
  auto vouched = notary_body({key_object("other.example", {&other}, kNow + kDay)}, kDest, dest);
  ResponseCheck first = check(E::key_query, vouched);
  ASSERT_EQ(first.action, ResponseAction::need_keys);
  ASSERT_EQ(first.missing_keys.size(), 1u);
  EXPECT_EQ(first.missing_keys[0].server, kDest);
  EXPECT_EQ(first.missing_keys[0].key_id, dest.key_id());
  // The caller fetched nothing usable: the second run refuses instead of asking again.
  EXPECT_EQ(check(E::key_query, vouched, /*awaited=*/true).action, ResponseAction::refuse);
  dest_cached = true;
  EXPECT_EQ(check(E::key_query, vouched, /*awaited=*/true).action, ResponseAction::pass);
}

// The key-id routes (Synapse up to 1.73) answer the same objects: /server/{keyId} the server's
// own keys, GET /query/{serverName}/{keyId} {"server_keys":[...]} about that one server.
TEST_F(KeyAnswerTest, KeyIdRoutesAreCheckedLikeTheirKeylessForms) {
  auto own = key_object(kDest, {&dest}, kNow + kDay);
  auto about_other = key_object("other.example", {&other}, kNow + kDay);
  auto about_third = key_object("third.example", {&other}, kNow + kDay);
  struct Case {
    const char* name;
    E endpoint;
    std::string queried;  // key.query GET: {serverName}
    std::string answer;
    ResponseAction action;
    const char* reason;
  } cases[] = {
      {"server/{keyId}: own keys", E::key_server, "", body(own), ResponseAction::pass,
       "response_ok"},
      {"server/{keyId}: another server's", E::key_server, "", body(about_other),
       ResponseAction::refuse, "response_keys_invalid"},
      {"query/{s}/{keyId}: vouched keys of s", E::key_query, "other.example",
       notary_body({about_other}, kDest, dest), ResponseAction::pass, "response_ok"},
      {"query/{s}/{keyId}: nothing known", E::key_query, "other.example",
       notary_body({}, kDest, dest), ResponseAction::pass, "response_ok"},
      {"query/{s}/{keyId}: keys of a server not asked about", E::key_query, "other.example",
       notary_body({about_other, about_third}, kDest, dest), ResponseAction::refuse,
       "response_keys_invalid"},
      {"query/{s}/{keyId}: not vouched", E::key_query, "other.example",
       notary_body({about_other}, kDest, impostor), ResponseAction::refuse,
       "response_keys_invalid"},
      {"query/{s}/{keyId}: a bare key object", E::key_query, "other.example", body(about_other),
       ResponseAction::refuse, "response_keys_invalid"},
      {"POST query: a batch may name several servers", E::key_query, "",
       notary_body({about_other, about_third}, kDest, dest), ResponseAction::pass, "response_ok"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ResponseCheck r = check(c.endpoint, c.answer, false, c.queried);
    EXPECT_EQ(r.action, c.action);
    EXPECT_EQ(r.reason, c.reason);
  }
}

TEST_F(KeyAnswerTest, ErrorAnswersPassToTheCore) {
  ResponseCheckInput in;
  in.asked.endpoint = E::key_server;
  in.asked.destination = kDest;
  in.answer = {404, "application/json", R"({"errcode":"M_NOT_FOUND"})"};
  EXPECT_EQ(check_response(in, keys()).action, ResponseAction::pass);
}

}  // namespace
}  // namespace bordergate::outbound
