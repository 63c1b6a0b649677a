// PDU inspection: known and unknown room versions, tampered content, wrong signer, key needs.
#include "gateway/enforcement/pdu_inspection.h"

#include <gtest/gtest.h>

#include "gateway/matrix/server_keys.h"

namespace bordergate::enforcement {
namespace {

using matrix::Json;
using matrix::JsonObject;
using policy::CheckResult;

struct Signed {
  matrix::SigningKey origin_key = matrix::SigningKey::generate("o1");
  matrix::SigningKey other_key = matrix::SigningKey::generate("x1");
  matrix::KeyLookup keys() const {
    return [this](std::string_view server, std::string_view key_id,
                  std::int64_t) -> Result<matrix::VerifyKey> {
      if (server == "origin.example" && key_id == origin_key.key_id())
        return origin_key.verify_key();
      if (server == "other.example" && key_id == other_key.key_id()) return other_key.verify_key();
      return make_error("unknown_key", "no such key");
    };
  }
  JsonObject event(const char* version, const char* signer, const matrix::SigningKey& key) const {
    JsonObject e = *matrix::parse_json(
                        R"({"type":"m.room.message","room_id":"!r:origin.example",
                            "sender":"@a:origin.example","origin_server_ts":1700000000000,
                            "depth":5,"prev_events":["$p"],"auth_events":["$a"],
                            "content":{"body":"hi","msgtype":"m.text"}})")
                        ->object_if();
    EXPECT_TRUE(
        matrix::hash_and_sign_event(e, *matrix::find_room_version(version), signer, key).ok());
    return e;
  }
};

TEST(PduInspection, KnownVersionPasses) {
  Signed s;
  JsonObject e = s.event("10", "origin.example", s.origin_key);
  PduVerdict v = inspect_pdu(e, matrix::find_room_version("10"), s.keys());
  EXPECT_EQ(v.error, "");
  EXPECT_EQ(v.facts.hashes, CheckResult::passed);
  EXPECT_EQ(v.facts.signatures, CheckResult::passed);
  EXPECT_TRUE(v.version_known);
  EXPECT_EQ(v.verified_as, "10");
  EXPECT_EQ(v.facts.event_type, "m.room.message");
  EXPECT_EQ(v.facts.sender, "@a:origin.example");
  EXPECT_EQ(v.event_id.front(), '$');
}

TEST(PduInspection, TamperedContentFailsTheHash) {
  Signed s;
  JsonObject e = s.event("10", "origin.example", s.origin_key);
  (*e["content"].object_if())["body"] = Json("changed");
  PduVerdict v = inspect_pdu(e, matrix::find_room_version("10"), s.keys());
  EXPECT_EQ(v.facts.hashes, CheckResult::failed);
  EXPECT_EQ(v.error, "content_hash_mismatch");
}

TEST(PduInspection, SignedByTheWrongServerFails) {
  Signed s;
  JsonObject e = s.event("10", "other.example", s.other_key);
  PduVerdict v = inspect_pdu(e, matrix::find_room_version("10"), s.keys());
  EXPECT_EQ(v.facts.signatures, CheckResult::failed);
  EXPECT_EQ(v.facts.hashes, CheckResult::passed);
  EXPECT_FALSE(v.error.empty());
}

TEST(PduInspection, UnknownVersionVerifiesWithACandidateFamily) {
  Signed s;
  for (const char* version : {"3", "5", "10", "11"}) {
    JsonObject e = s.event(version, "origin.example", s.origin_key);
    PduVerdict v = inspect_pdu(e, nullptr, s.keys());
    EXPECT_FALSE(v.version_known);
    EXPECT_EQ(v.error, "") << version;
    EXPECT_EQ(v.facts.signatures, CheckResult::passed) << version;
    EXPECT_FALSE(v.verified_as.empty());
  }
  JsonObject bad = s.event("10", "origin.example", s.origin_key);
  (*bad["signatures"].object_if())["origin.example"] =
      Json(JsonObject{{s.origin_key.key_id(), Json(std::string(86, 'A'))}});
  PduVerdict v = inspect_pdu(bad, nullptr, s.keys());
  EXPECT_EQ(v.facts.signatures, CheckResult::failed);
}

TEST(PduInspection, UnknownVersionReportsTheFamilyThatGotFurthest) {
  Signed s;
  JsonObject e = s.event("10", "origin.example", s.origin_key);
  (*e["content"].object_if())["body"] = Json("changed");  // the redacted form is unchanged
  PduVerdict v = inspect_pdu(e, nullptr, s.keys());
  EXPECT_EQ(v.facts.signatures, CheckResult::passed);
  EXPECT_EQ(v.facts.hashes, CheckResult::failed);
  EXPECT_EQ(v.error, "content_hash_mismatch");
}

TEST(PduInspection, KeyNeedsNameTheRequiredSignersOnly) {
  Signed s;
  JsonObject e = s.event("10", "origin.example", s.origin_key);
  ASSERT_TRUE(matrix::sign_json(e, "bystander.example", s.other_key).ok());
  std::vector<KeyNeed> needs;
  collect_key_needs(e, needs);
  ASSERT_EQ(needs.size(), 1u);
  EXPECT_EQ(needs[0].server, "origin.example");
  EXPECT_EQ(needs[0].key_id, s.origin_key.key_id());
  EXPECT_EQ(needs[0].valid_at_ms, 1700000000000);
}

}  // namespace
}  // namespace bordergate::enforcement
