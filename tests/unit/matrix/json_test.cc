// Strict parsing and canonical encoding: every rule of MATRIX_API.md json.h, table-driven.
#include "gateway/matrix/json.h"

#include <gtest/gtest.h>

#include <string>

namespace bordergate::matrix {
namespace {

struct Canon {
  std::string input;
  std::string canonical;
};

class JsonCanonical : public ::testing::TestWithParam<Canon> {};

TEST_P(JsonCanonical, ParsesAndEncodes) {
  auto parsed = parse_json(GetParam().input);
  ASSERT_TRUE(parsed.ok()) << parsed.error().code << ": " << parsed.error().message;
  auto canon = canonical_json(*parsed);
  ASSERT_TRUE(canon.ok());
  EXPECT_EQ(*canon, GetParam().canonical);
  // Round trip: canonical(parse(canonical(x))) == canonical(x).
  auto again = parse_json(*canon);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*canonical_json(*again), *canon);
  EXPECT_EQ(*again, *parsed);
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonCanonical,
    ::testing::Values(
        Canon{"{}", "{}"}, Canon{"[]", "[]"}, Canon{" \t\r\n{ } \n", "{}"}, Canon{"null", "null"},
        Canon{"true", "true"}, Canon{"false", "false"}, Canon{"0", "0"}, Canon{"-1", "-1"},
        Canon{"9007199254740991", "9007199254740991"},
        Canon{"-9007199254740991", "-9007199254740991"},
        Canon{R"({"b":1,"a":[3,2,{"d":null,"c":true}]})",
              R"({"a":[3,2,{"c":true,"d":null}],"b":1})"},
        Canon{R"("a/b")", R"("a/b")"}, Canon{R"("a\/b")", R"("a/b")"},
        Canon{R"("\u00e9\u65E5")", "\"\xc3\xa9\xe6\x97\xa5\""},
        Canon{R"("\ud83d\ude00")", "\"\xf0\x9f\x98\x80\""},
        Canon{"\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\""},
        Canon{R"("\u007f\u2028\u2029")", "\"\x7f\xe2\x80\xa8\xe2\x80\xa9\""},
        Canon{R"("\b\f\n\r\t\"\\")", R"("\b\f\n\r\t\"\\")"},
        Canon{R"("\u0000\u0001\u000b\u000e\u001F")", R"("\u0000\u0001\u000b\u000e\u001f")"},
        Canon{R"({"":""})", R"({"":""})"},
        // Code-point order, not UTF-16 order: U+FFFF before U+1F600.
        Canon{R"({"\ud83d\ude00":1,"\uffff":2,"a":3,"B":4,"\u00e9":5})",
              "{\"B\":4,\"a\":3,\"\xc3\xa9\":5,\"\xef\xbf\xbf\":2,\"\xf0\x9f\x98\x80\":1}"},
        Canon{R"({"a":{"a":{"a":{}}}})", R"({"a":{"a":{"a":{}}}})"}));

struct Reject {
  std::string input;
  std::string code;
};

class JsonReject : public ::testing::TestWithParam<Reject> {};

TEST_P(JsonReject, FailsWithCode) {
  auto parsed = parse_json(GetParam().input);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << GetParam().input;
  EXPECT_EQ(parsed.error().code, GetParam().code) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("byte"), std::string::npos) << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonReject,
    ::testing::Values(
        Reject{R"({"a":1,"a":2})", "duplicate_key"},
        Reject{R"({"x":{"a":1,"b":2,"a":3}})", "duplicate_key"},
        Reject{R"({"\u0061":1,"a":2})", "duplicate_key"}, Reject{"\"\xff\"", "invalid_utf8"},
        Reject{"\"\xc0\xaf\"", "invalid_utf8"}, Reject{"\"\xe0\x80\xaf\"", "invalid_utf8"},
        Reject{"\"\xe6\x97\"", "invalid_utf8"}, Reject{"\"\xed\xa0\x80\"", "invalid_utf8"},
        Reject{"\"\xf4\x90\x80\x80\"", "invalid_utf8"}, Reject{"{\"\xfe\":1}", "invalid_utf8"},
        Reject{R"("\ud800")", "lone_surrogate"}, Reject{R"("\udc00")", "lone_surrogate"},
        Reject{R"("\ud800\u0041")", "lone_surrogate"},
        Reject{R"("\udc00\ud800")", "lone_surrogate"}, Reject{R"("x\udfff")", "lone_surrogate"},
        Reject{R"({"\udbff":1})", "lone_surrogate"},
        Reject{"9007199254740992", "integer_out_of_range"},
        Reject{"-9007199254740992", "integer_out_of_range"},
        Reject{"123456789012345678901234567890", "integer_out_of_range"},
        Reject{"1.0", "float_not_allowed"}, Reject{"1e2", "float_not_allowed"},
        Reject{"1E2", "float_not_allowed"}, Reject{"-0", "float_not_allowed"},
        Reject{"-0.0", "float_not_allowed"}, Reject{R"({"a":-0,"b":1e10})", "float_not_allowed"},
        Reject{"NaN", "invalid_json"}, Reject{"Infinity", "invalid_json"},
        Reject{"-Infinity", "invalid_json"}, Reject{"01", "invalid_json"},
        Reject{"+1", "invalid_json"}, Reject{".5", "invalid_json"}, Reject{"1.", "invalid_json"},
        Reject{"{} x", "invalid_json"}, Reject{"{}{}", "invalid_json"},
        Reject{"\xef\xbb\xbf{}", "invalid_json"}, Reject{"", "invalid_json"},
        Reject{"  ", "invalid_json"}, Reject{std::string("{}\0", 3), "invalid_json"},
        Reject{std::string("\"a\0b\"", 5), "invalid_json"}, Reject{"\"\x01\"", "invalid_json"},
        Reject{"\"\n\"", "invalid_json"}, Reject{R"("\x")", "invalid_json"},
        Reject{R"("\u12")", "invalid_json"}, Reject{"'a'", "invalid_json"},
        Reject{"[1,]", "invalid_json"}, Reject{R"({"a":1,})", "invalid_json"},
        Reject{"[1 2]", "invalid_json"}, Reject{"{1:2}", "invalid_json"},
        Reject{"// c\n{}", "invalid_json"}, Reject{"[", "invalid_json"},
        Reject{"{\"a\"", "invalid_json"}, Reject{"tru", "invalid_json"},
        Reject{"\"abc", "invalid_json"}));

TEST(Json, DepthLimitIsExact) {
  JsonLimits limits;
  limits.max_depth = 5;
  EXPECT_TRUE(parse_json("[[[[[]]]]]", limits).ok());
  auto r = parse_json("[[[[[[]]]]]]", limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "depth_exceeded");
  EXPECT_EQ(parse_json(R"({"a":{"b":{"c":{"d":{"e":{}}}}}})", limits).error().code,
            "depth_exceeded");
}

TEST(Json, DepthBombDoesNotRecurse) {
  // A million brackets: an input-recursive parser would overflow the stack long before.
  std::string bomb(1'000'000, '[');
  auto r = parse_json(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "depth_exceeded");
  JsonLimits unlimited;
  unlimited.max_depth = 2'000'000;
  r = parse_json(bomb, unlimited);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_json");  // unterminated, but no crash
}

// Keys in ascending byte order are appended without a search (the parser's fast path for
// canonical input); everything else takes the lookup. Both must find every duplicate and build
// the same object, whatever the order and whatever the nesting in between.
struct KeyOrder {
  std::string input;
  std::string canonical;  // empty: must be rejected as duplicate_key
};

class JsonKeyOrder : public ::testing::TestWithParam<KeyOrder> {};

TEST_P(JsonKeyOrder, DuplicatesFoundAndObjectsEqual) {
  auto parsed = parse_json(GetParam().input);
  if (GetParam().canonical.empty()) {
    ASSERT_FALSE(parsed.ok()) << "accepted: " << GetParam().input;
    EXPECT_EQ(parsed.error().code, "duplicate_key") << parsed.error().message;
    return;
  }
  ASSERT_TRUE(parsed.ok()) << GetParam().input << ": " << parsed.error().message;
  auto canonical = canonical_json(*parsed);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, GetParam().canonical);
  // The canonical text parses (fast path all the way) into the very same value.
  auto again = parse_json(*canonical);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *parsed);
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonKeyOrder,
    ::testing::Values(
        // Ascending: the fast path.
        KeyOrder{R"({"a":1,"b":2,"c":3})", R"({"a":1,"b":2,"c":3})"},
        KeyOrder{R"({"a":1,"ab":2,"b":3})", R"({"a":1,"ab":2,"b":3})"},
        KeyOrder{"{\"z\":1,\"\xc3\xa9\":2}", "{\"z\":1,\"\xc3\xa9\":2}"},  // bytes, not chars
        // Duplicates where the fast path must not apply: equal to the last key, below it,
        // a prefix of it, behind a nested object holding the same keys.
        KeyOrder{R"({"a":1,"b":2,"b":3})", ""}, KeyOrder{R"({"a":1,"b":2,"a":3})", ""},
        KeyOrder{R"({"a":1,"ab":2,"a":3})", ""}, KeyOrder{R"({"ab":1,"b":2,"ab":3})", ""},
        KeyOrder{R"({"a":{"a":1,"b":2},"b":{"b":1},"a":0})", ""},
        KeyOrder{"{\"\xc3\xa9\":1,\"z\":2,\"\xc3\xa9\":3}", ""},
        KeyOrder{R"({"":1,"a":2,"":3})", ""}, KeyOrder{R"([{"a":1},{"a":1,"a":2}])", ""},
        // Descending and mixed: the lookup path, same object as the sorted text.
        KeyOrder{R"({"c":3,"b":2,"a":1})", R"({"a":1,"b":2,"c":3})"},
        KeyOrder{R"({"b":2,"c":3,"a":1,"d":4})", R"({"a":1,"b":2,"c":3,"d":4})"},
        KeyOrder{R"({"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]})",
                 R"({"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}})"},
        KeyOrder{R"({"a":{"a":{"a":1}},"b":{"a":{"b":1,"a":2}}})",
                 R"({"a":{"a":{"a":1}},"b":{"a":{"a":2,"b":1}}})"}));

TEST(Json, SizeLimit) {
  JsonLimits limits;
  limits.max_bytes = 4;
  EXPECT_TRUE(parse_json("[12]", limits).ok());
  EXPECT_EQ(parse_json("[123]", limits).error().code, "too_large");
}

TEST(Json, FloatsWhenAllowed) {
  JsonLimits limits;
  limits.allow_floats = true;
  auto r = parse_json(R"({"a":1.5,"b":-0,"c":1e2,"d":9007199254740993,"e":7})", limits);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->find("a")->is_double());
  EXPECT_TRUE(r->find("b")->is_double());
  EXPECT_TRUE(r->find("d")->is_double());
  EXPECT_EQ(r->find("e")->int_if(), 7);
  EXPECT_EQ(compact_json(*r), R"({"a":1.5,"b":-0,"c":100,"d":9007199254740992,"e":7})");
  EXPECT_EQ(canonical_json(*r).error().code, "float_not_allowed");
  EXPECT_EQ(parse_json("1e400", limits).error().code, "number_out_of_range");
}

TEST(Json, CanonicalRejectsWhatItCannotRepresent) {
  EXPECT_EQ(canonical_json(Json(JsonObject{{"a", Json(0.5)}})).error().code, "float_not_allowed");
  EXPECT_EQ(canonical_json(Json(std::int64_t{kMaxJsonInteger + 1})).error().code,
            "integer_out_of_range");
  EXPECT_EQ(canonical_json(Json(std::int64_t{-kMaxJsonInteger - 1})).error().code,
            "integer_out_of_range");
  EXPECT_EQ(canonical_json(Json(JsonArray{Json("\xff")})).error().code, "invalid_utf8");
  EXPECT_EQ(canonical_json(Json(JsonObject{{"\xed\xa0\x80", Json(1)}})).error().code,
            "invalid_utf8");
  EXPECT_EQ(*canonical_json(Json(std::int64_t{kMaxJsonInteger})), "9007199254740991");
}

TEST(Json, EveryControlCharacterEscapedAsSpecified) {
  for (int c = 0; c < 0x20; ++c) {
    std::string expected;
    switch (c) {
      case '\b':
        expected = "\\b";
        break;
      case '\f':
        expected = "\\f";
        break;
      case '\n':
        expected = "\\n";
        break;
      case '\r':
        expected = "\\r";
        break;
      case '\t':
        expected = "\\t";
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        expected = buf;
      }
    }
    EXPECT_EQ(*canonical_json(Json(std::string(1, static_cast<char>(c)))), "\"" + expected + "\"")
        << c;
  }
  for (int c = 0x20; c < 0x80; ++c) {
    std::string s(1, static_cast<char>(c));
    std::string expected = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : s;
    EXPECT_EQ(*canonical_json(Json(s)), "\"" + expected + "\"") << c;
  }
}

TEST(Json, Accessors) {
  auto r = parse_json(R"({"s":"x","i":3,"b":true,"n":null,"a":[],"o":{}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->find("s")->string_if(), "x");
  EXPECT_EQ(r->find("i")->int_if(), 3);
  EXPECT_EQ(r->find("b")->bool_if(), true);
  EXPECT_TRUE(r->find("n")->is_null());
  EXPECT_TRUE(r->find("a")->is_array());
  EXPECT_TRUE(r->find("o")->is_object());
  EXPECT_EQ(r->find("missing"), nullptr);
  EXPECT_EQ(r->find("s")->find("x"), nullptr);
  EXPECT_FALSE(r->find("s")->int_if());
}

struct Utf8 {
  std::string text;
  bool valid;
};
class Utf8Validation : public ::testing::TestWithParam<Utf8> {};
TEST_P(Utf8Validation, Classifies) { EXPECT_EQ(is_valid_utf8(GetParam().text), GetParam().valid); }
INSTANTIATE_TEST_SUITE_P(
    Table, Utf8Validation,
    ::testing::Values(Utf8{"", true}, Utf8{"plain ascii text longer than eight", true},
                      Utf8{"\xc3\xa9", true}, Utf8{"\xe6\x97\xa5", true},
                      Utf8{"\xef\xbf\xbf", true}, Utf8{"\xf0\x9f\x98\x80", true},
                      Utf8{"\xf4\x8f\xbf\xbf", true}, Utf8{"\xed\x9f\xbf", true},
                      Utf8{"\xee\x80\x80", true}, Utf8{"\x80", false}, Utf8{"\xc1\xbf", false},
                      Utf8{"\xc3", false}, Utf8{"\xe0\x9f\xbf", false}, Utf8{"\xed\xa0\x80", false},
                      Utf8{"\xed\xbf\xbf", false}, Utf8{"\xf0\x8f\xbf\xbf", false},
                      Utf8{"\xf4\x90\x80\x80", false}, Utf8{"\xf5\x80\x80\x80", false},
                      Utf8{"\xff", false}, Utf8{"abcdefgh\xc3(", false},
                      Utf8{"\xe6\x97\xa5\xe6\x97", false}));

}  // namespace
}  // namespace bordergate::matrix
