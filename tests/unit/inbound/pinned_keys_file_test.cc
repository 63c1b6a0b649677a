// keys.pinned_file: the demo's (and operators') generated pins parse strictly; a key id pinned
// twice with different keys is refused rather than one silently winning.
#include "gateway/inbound/pinned_keys_file.h"

#include <gtest/gtest.h>

namespace bordergate::inbound {
namespace {

constexpr const char* kKey = "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ";

TEST(PinnedKeysFile, ParsesAndMerges) {
  PinnedKeys keys;
  ASSERT_TRUE(parse_pinned_keys(std::string(R"({"peer.example":{"ed25519:a":")") + kKey +
                                    R"("}, "b.example:8448":{"ed25519:x":")" + kKey + R"("}})",
                                keys));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(matrix::to_base64(keys.at("peer.example").at("ed25519:a")), kKey);
  // The same pin again (e.g. also in keys.pinned) is fine.
  EXPECT_TRUE(
      parse_pinned_keys(std::string(R"({"peer.example":{"ed25519:a":")") + kKey + "\"}}", keys));
  EXPECT_TRUE(parse_pinned_keys("{}", keys));
}

TEST(PinnedKeysFile, RefusesMistakes) {
  const std::string k = kKey;
  const std::string cases[] = {
      "",
      "[]",
      R"({"peer.example":{}})",
      R"({"bad name!":{"ed25519:a":")" + k + "\"}}",
      R"({"peer.example":{"rsa:a":")" + k + "\"}}",
      R"({"peer.example":{"ed25519:a":")" + k + "=\"}}",
      R"({"peer.example":{"ed25519:a":42}})",
      R"({"peer.example":{"ed25519:a":"AAAA"}})",
  };
  for (const std::string& text : cases) {
    PinnedKeys keys;
    EXPECT_FALSE(parse_pinned_keys(text, keys)) << text;
  }
  PinnedKeys keys;
  ASSERT_TRUE(parse_pinned_keys(R"({"peer.example":{"ed25519:a":")" + k + "\"}}", keys));
  Status st = parse_pinned_keys(
      R"({"peer.example":{"ed25519:a":"Fz+g1TdY9l2Yk2oa1Y7+ksp4z4t78m05fdRSsHb+6nQ"}})", keys);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("pinned twice"), std::string::npos);
}

TEST(PinnedKeysFile, MissingFileNamesIt) {
  PinnedKeys keys;
  Status st = load_pinned_keys_file("/nonexistent/pins.json", keys);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("/nonexistent/pins.json"), std::string::npos);
}

}  // namespace
}  // namespace bordergate::inbound
