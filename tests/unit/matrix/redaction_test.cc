// Redaction per family: the derived vectors of test-vectors.json (cross-checked with Synapse by
// their author) for every room version, plus the edge cases the notes call out (section 5.4, 11.8).
#include "gateway/matrix/redaction.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include "gateway/matrix/signed_json.h"
#include "tests/unit/matrix/event_vectors.h"

namespace bordergate::matrix {
namespace {

using testing::all_vectors;
using testing::object_at;

const RoomVersionRules& version(std::string_view id) { return *find_room_version(id); }

// "v1-v5" -> {"1",...,"5"}; "v8" -> {"8"}.
std::vector<std::string> versions_in(std::string_view range) {
  range.remove_prefix(1);
  auto dash = range.find('-');
  int lo = std::stoi(std::string(range.substr(0, dash)));
  int hi = dash == std::string_view::npos ? lo : std::stoi(std::string(range.substr(dash + 2)));
  std::vector<std::string> out;
  for (int v = lo; v <= hi; ++v) out.push_back(std::to_string(v));
  return out;
}

std::string redacted_bytes(const JsonObject& event, const RoomVersionRules& rules) {
  std::string out;
  Status s = append_redacted_signing_bytes(out, event, rules);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return out;
}

TEST(Redaction, DerivedVectorsForEveryRoomVersion) {
  int checked_vectors = 0, checked_versions = 0;
  for (const Json& v : all_vectors()) {
    const std::string& name = *v.find("name")->string_if();
    if (!name.starts_with("redaction_derived:")) continue;
    SCOPED_TRACE(name);
    const JsonObject& input = object_at(*v.object_if(), "input");
    std::set<std::string> covered;
    for (const auto& [range, expected] : object_at(*v.object_if(), "expected")) {
      for (const std::string& id : versions_in(range)) {
        SCOPED_TRACE("room version " + id);
        covered.insert(id);
        auto redacted = redact_event(input, version(id));
        ASSERT_TRUE(redacted.ok()) << redacted.error().message;
        EXPECT_EQ(Json(*redacted), expected);
        // The byte writer must agree with the tree form exactly.
        auto want = signing_bytes(*expected.object_if());
        ASSERT_TRUE(want.ok());
        EXPECT_EQ(redacted_bytes(input, version(id)), *want);
        ++checked_versions;
      }
    }
    EXPECT_EQ(covered.size(), 12u) << "a vector must cover every room version";
    ++checked_vectors;
  }
  EXPECT_EQ(checked_vectors, 9);
  EXPECT_EQ(checked_versions, 9 * 12);
}

JsonObject member_event(JsonObject content) {
  return JsonObject{{"type", "m.room.member"},
                    {"sender", "@a:x.org"},
                    {"state_key", "@a:x.org"},
                    {"content", std::move(content)},
                    {"unsigned", JsonObject{{"age", 1}}}};
}

struct ContentCase {
  std::string name;
  std::string type;
  JsonObject content;
  // Expected redacted content per family v1, v6, v8, v9, v11.
  std::array<JsonObject, 5> expected;
};

std::vector<ContentCase> content_cases() {
  JsonObject tpi_signed{{"signed", JsonObject{{"token", "t"}}}, {"display_name", "d"}};
  return {
      {"third_party_invite_without_signed",
       "m.room.member",
       {{"membership", "invite"}, {"third_party_invite", JsonObject{{"display_name", "d"}}}},
       {JsonObject{{"membership", "invite"}}, JsonObject{{"membership", "invite"}},
        JsonObject{{"membership", "invite"}}, JsonObject{{"membership", "invite"}},
        JsonObject{{"membership", "invite"}, {"third_party_invite", JsonObject{}}}}},
      {"third_party_invite_not_an_object",
       "m.room.member",
       {{"membership", "invite"}, {"third_party_invite", "junk"}},
       {JsonObject{{"membership", "invite"}}, JsonObject{{"membership", "invite"}},
        JsonObject{{"membership", "invite"}}, JsonObject{{"membership", "invite"}},
        JsonObject{{"membership", "invite"}}}},
      {"third_party_invite_signed_kept_whole",
       "m.room.member",
       {{"membership", "invite"}, {"third_party_invite", tpi_signed}},
       {JsonObject{{"membership", "invite"}}, JsonObject{{"membership", "invite"}},
        JsonObject{{"membership", "invite"}}, JsonObject{{"membership", "invite"}},
        JsonObject{{"membership", "invite"},
                   {"third_party_invite",
                    JsonObject{{"signed", JsonObject{{"token", "t"}}}}}}}},
      {"join_authorised_kept_on_any_membership_from_v9",
       "m.room.member",
       {{"membership", "leave"}, {"join_authorised_via_users_server", "@b:y.org"}},
       {JsonObject{{"membership", "leave"}}, JsonObject{{"membership", "leave"}},
        JsonObject{{"membership", "leave"}},
        JsonObject{{"membership", "leave"}, {"join_authorised_via_users_server", "@b:y.org"}},
        JsonObject{{"membership", "leave"}, {"join_authorised_via_users_server", "@b:y.org"}}}},
      {"create_without_creator_keeps_everything_in_v11",
       "m.room.create",
       {{"room_version", "11"}, {"m.federate", true}},
       {JsonObject{}, JsonObject{}, JsonObject{}, JsonObject{},
        JsonObject{{"room_version", "11"}, {"m.federate", true}}}},
      {"create_key_needing_escapes",
       "m.room.create",
       {{"we\"ird\\key\n", 1}, {"creator", "@a:x.org"}},
       {JsonObject{{"creator", "@a:x.org"}}, JsonObject{{"creator", "@a:x.org"}},
        JsonObject{{"creator", "@a:x.org"}}, JsonObject{{"creator", "@a:x.org"}},
        JsonObject{{"we\"ird\\key\n", 1}, {"creator", "@a:x.org"}}}},
      {"unknown_type_loses_all_content",
       "org.example.custom",
       {{"membership", "join"}, {"join_rule", "public"}, {"redacts", "$x"}},
       {JsonObject{}, JsonObject{}, JsonObject{}, JsonObject{}, JsonObject{}}},
      {"redaction_content_redacts_only_in_v11",
       "m.room.redaction",
       {{"redacts", "$x"}, {"reason", "r"}},
       {JsonObject{}, JsonObject{}, JsonObject{}, JsonObject{},
        JsonObject{{"redacts", "$x"}}}},
  };
}

TEST(Redaction, ContentEdgeCasesPerFamily) {
  const char* representative[] = {"1", "6", "8", "9", "11"};
  for (const ContentCase& c : content_cases()) {
    SCOPED_TRACE(c.name);
    JsonObject event = member_event(c.content);
    event["type"] = c.type;
    for (int f = 0; f < 5; ++f) {
      SCOPED_TRACE(representative[f]);
      auto redacted = redact_event(event, version(representative[f]));
      ASSERT_TRUE(redacted.ok());
      EXPECT_EQ(Json((*redacted)["content"]), Json(c.expected[f]));
      EXPECT_FALSE(redacted->contains("unsigned"));
      auto want = signing_bytes(*redacted);
      ASSERT_TRUE(want.ok());
      EXPECT_EQ(redacted_bytes(event, version(representative[f])), *want);
    }
  }
}

TEST(Redaction, TopLevelRedactsIsNeverKept) {
  JsonObject event{{"type", "m.room.redaction"}, {"content", JsonObject{}}, {"redacts", "$x"}};
  for (const RoomVersionRules& rules : known_room_versions()) {
    auto redacted = redact_event(event, rules);
    ASSERT_TRUE(redacted.ok());
    EXPECT_FALSE(redacted->contains("redacts")) << rules.id;
  }
}

TEST(Redaction, SignaturesAreKeptInTheTreeButNotInTheSigningBytes) {
  JsonObject event{{"type", "m.room.message"},
                   {"content", JsonObject{{"body", "hi"}}},
                   {"signatures", JsonObject{{"x.org", JsonObject{{"ed25519:k", "S"}}}}}};
  auto redacted = redact_event(event, version("10"));
  ASSERT_TRUE(redacted.ok());
  EXPECT_TRUE(redacted->contains("signatures"));
  EXPECT_EQ(redacted_bytes(event, version("10")), R"({"content":{},"type":"m.room.message"})");
}

TEST(Redaction, MalformedEventsAreRefused) {
  const JsonObject cases[] = {
      {{"content", JsonObject{}}},
      {{"type", 5}, {"content", JsonObject{}}},
      {{"type", "m.room.message"}},
      {{"type", "m.room.message"}, {"content", JsonArray{}}},
  };
  for (const JsonObject& event : cases) {
    auto redacted = redact_event(event, version("9"));
    ASSERT_FALSE(redacted.ok());
    EXPECT_EQ(redacted.error().code, "bad_event_format");
    std::string out;
    Status s = append_redacted_signing_bytes(out, event, version("9"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "bad_event_format");
  }
}

TEST(Redaction, NonCanonicalKeptValuesFailButDroppedOnesDoNot) {
  JsonObject dropped_float{{"type", "m.room.message"}, {"content", JsonObject{{"x", 1.5}}}};
  std::string out;
  EXPECT_TRUE(append_redacted_signing_bytes(out, dropped_float, version("6")).ok());
  JsonObject kept_float{{"type", "m.room.message"}, {"content", JsonObject{}}, {"depth", 1.5}};
  out.clear();
  Status s = append_redacted_signing_bytes(out, kept_float, version("6"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "float_not_allowed");
  JsonObject big{{"type", "m.room.message"}, {"content", JsonObject{}},
                 {"depth", std::int64_t{1} << 60}};
  out.clear();
  s = append_redacted_signing_bytes(out, big, version("3"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "integer_out_of_range");
}

}  // namespace
}  // namespace bordergate::matrix
