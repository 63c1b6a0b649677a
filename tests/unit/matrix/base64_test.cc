// Unpadded base64: both alphabets, strict decoding, round trips over every length.
#include "gateway/matrix/base64.h"

#include <gtest/gtest.h>

#include <random>

namespace bordergate::matrix {
namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

struct Bad {
  std::string text;
  bool url;
};
class Base64Reject : public ::testing::TestWithParam<Bad> {};
TEST_P(Base64Reject, IsBadBase64) {
  auto r = GetParam().url ? base64url_decode(GetParam().text) : base64_decode(GetParam().text);
  ASSERT_FALSE(r.ok()) << GetParam().text;
  EXPECT_EQ(r.error().code, "bad_base64");
}
INSTANTIATE_TEST_SUITE_P(
    Table, Base64Reject,
    ::testing::Values(Bad{"Z", false}, Bad{"Zm9vY", false},    // len % 4 == 1
                      Bad{"Zh", false}, Bad{"Zm9=", false},    // non-zero trailing bits
                      Bad{"Zm8/", true}, Bad{"Zm8+", true},    // standard chars in URL-safe
                      Bad{"Zm8_", false}, Bad{"Zm8-", false},  // URL-safe chars in standard
                      Bad{"Zm 9v", false}, Bad{"Zm9v\n", false}, Bad{"Zm\x80v", false},
                      Bad{"Zg=", false}, Bad{"Zg===", false}, Bad{"Z===", false}, Bad{"=", false},
                      Bad{"==", false}, Bad{"Zm9v=", false}, Bad{"Zm9v====", false},
                      Bad{"Z=g=", false}, Bad{"Zg=A", false}, Bad{"Zm8==", false},
                      Bad{std::string("Zm\0v", 4), false}));

TEST(Base64, TrailingBitsIgnoredOnlyOnRequest) {
  EXPECT_FALSE(base64_decode("Zh").ok());
  EXPECT_EQ(*base64_decode("Zh", TrailingBits::kIgnored), bytes("f"));
  EXPECT_EQ(*base64_decode("Zm9=", TrailingBits::kIgnored), bytes("fo"));
  EXPECT_FALSE(base64_decode("Z", TrailingBits::kIgnored).ok());
  EXPECT_FALSE(base64_decode("Z!", TrailingBits::kIgnored).ok());
}

TEST(Base64, PaddedInputIsAccepted) {
  EXPECT_EQ(*base64_decode("Zg=="), bytes("f"));
  EXPECT_EQ(*base64_decode("Zm8="), bytes("fo"));
  EXPECT_EQ(*base64url_decode("_-8="), (std::vector<std::uint8_t>{0xff, 0xef}));
}

TEST(Base64, Alphabets) {
  std::vector<std::uint8_t> b{0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(b), "+/+/");
  EXPECT_EQ(base64url_encode(b), "-_-_");
  EXPECT_EQ(*base64_decode("+/+/"), b);
  EXPECT_EQ(*base64url_decode("-_-_"), b);
}

TEST(Base64, RoundTripEveryLength) {
  std::mt19937 rng(42);
  for (std::size_t n = 0; n < 200; ++n) {
    std::vector<std::uint8_t> in(n);
    for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    std::string s = base64_encode(in);
    std::string u = base64url_encode(in);
    EXPECT_EQ(s.size(), (n * 4 + 2) / 3);
    EXPECT_EQ(s.find('='), std::string::npos);
    EXPECT_EQ(*base64_decode(s), in);
    EXPECT_EQ(*base64url_decode(u), in);
  }
}

TEST(Base64, DecodingIsCanonical) {
  // Every accepted unpadded text re-encodes to itself: no second spelling of the same bytes.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (char a : alphabet) {
    for (char b : alphabet) {
      std::string text{a, b};
      auto r = base64_decode(text);
      if (r.ok()) {
        EXPECT_EQ(base64_encode(*r), text);
      }
      for (char c : alphabet) {
        std::string t3 = text + c;
        auto r3 = base64_decode(t3);
        if (r3.ok()) {
          EXPECT_EQ(base64_encode(*r3), t3);
        }
      }
    }
  }
}

}  // namespace
}  // namespace bordergate::matrix
