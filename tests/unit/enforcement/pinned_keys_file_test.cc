// keys.pinned_file: the demo's (and operators') generated pins parse strictly; a key id pinned
// twice with different keys is refused rather than one silently winning.
#include "gateway/enforcement/pinned_keys_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace bordergate::enforcement {
namespace {

constexpr const char* kKey = "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ";

TEST(PinnedKeysFile, ParsesAndMerges) {
  PinnedKeys keys;
  ASSERT_TRUE(parse_pinned_keys(std::string(R"({"peer.example":{"ed25519:a":")") + kKey +
                                    R"("}, "b.example:8448":{"ed25519:x":")" + kKey + R"("}})",
                                keys));
  ASSERT_EQ(keys.keys.size(), 2u);
  EXPECT_EQ(matrix::to_base64(keys.keys.at("peer.example").at("ed25519:a")), kKey);
  EXPECT_TRUE(keys.valid_until.empty());  // plain pins do not expire
  // The same pin again (e.g. also in keys.pinned) is fine.
  EXPECT_TRUE(
      parse_pinned_keys(std::string(R"({"peer.example":{"ed25519:a":")") + kKey + "\"}}", keys));
  EXPECT_TRUE(parse_pinned_keys("{}", keys));
}

// Key rotation in a closed federation: a pin may carry the end of its validity.
TEST(PinnedKeysFile, OptionalValidUntil) {
  const std::string k = kKey;
  PinnedKeys keys;
  ASSERT_TRUE(parse_pinned_keys(R"({"peer.example":{"ed25519:old":{"key":")" + k +
                                    R"(","valid_until_ts":1700000000000},"ed25519:new":{"key":")" +
                                    k + R"("}}})",
                                keys));
  EXPECT_EQ(keys.keys.at("peer.example").size(), 2u);
  ASSERT_EQ(keys.valid_until.at("peer.example").size(), 1u);
  EXPECT_EQ(keys.valid_until.at("peer.example").at("ed25519:old"), 1700000000000);
  // Pinned again with an earlier end: the earlier end wins.
  ASSERT_TRUE(parse_pinned_keys(
      R"({"peer.example":{"ed25519:old":{"key":")" + k + R"(","valid_until_ts":1600000000000}}})",
      keys));
  EXPECT_EQ(keys.valid_until.at("peer.example").at("ed25519:old"), 1600000000000);
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
      R"({"peer.example":{"ed25519:a":{"valid_until_ts":5}}})",
      R"({"peer.example":{"ed25519:a":{"key":")" + k + R"(","valid_until_ts":"soon"}}})",
      R"({"peer.example":{"ed25519:a":{"key":")" + k + R"(","expires":5}}})",
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

// keys.pinned and keys.pinned_file together: both land in one map; the same key id pinned with
// two different keys across them is refused.
TEST(PinnedKeysFile, ConfigInlineAndFileTogether) {
  const std::string other = "Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw";
  const auto file =
      std::filesystem::temp_directory_path() / ("bg-pins-" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << R"({"b.example":{"ed25519:b":")" << other << "\"}}";
  KeysConfig c;
  c.pinned["a.example"]["ed25519:a"] = kKey;
  c.pinned_file = file.string();
  auto keys = load_pinned_keys(c);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(matrix::to_base64(keys->keys.at("a.example").at("ed25519:a")), kKey);
  EXPECT_EQ(matrix::to_base64(keys->keys.at("b.example").at("ed25519:b")), other);

  c.pinned["b.example"]["ed25519:b"] = kKey;  // the file pins another key under this id
  auto clash = load_pinned_keys(c);
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message.find("pinned twice"), std::string::npos);
  EXPECT_NE(clash.error().message.find("keys.pinned_file"), std::string::npos);

  c.pinned.clear();
  c.pinned["a.example"]["ed25519:a"] = "not base64!";
  EXPECT_EQ(load_pinned_keys(c).error().code, "bad_pinned_key");
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace bordergate::enforcement
