// The Core's answers to a peer's media request, inbound: which answers are held, and the verdict
// of the shared media check (gateway/enforcement/media_check.h, the same code as outbound) on them,
// recorded on the request for its audit record.
#include "gateway/enforcement/media_check.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "gateway/enforcement/classifier.h"
#include "gateway/enforcement/judged_request.h"

namespace bordergate::enforcement {
namespace {

std::string multipart(const std::string& second_part) {
  return "--b0\r\nContent-Type: application/json\r\n\r\n{}\r\n--b0\r\n" + second_part +
         "\r\n--b0--\r\n";
}

JudgedRequest request(const char* target, const policy::MediaPolicy* media,
                      policy::Direction direction = policy::Direction::inbound) {
  JudgedRequest r;
  r.direction = direction;
  auto c = direction == policy::Direction::inbound ? classify_endpoint("GET", target)
                                                   : classify_outbound_endpoint("GET", target);
  EXPECT_TRUE(c.ok()) << target;
  if (c) r.route = *c;
  r.decision.emplace();
  r.decision->settings.media = media;
  return r;
}

constexpr const char* kFederation = "/_matrix/federation/v1/media/download/m1";
constexpr const char* kThumb = "/_matrix/federation/v1/media/thumbnail/m1?width=8";
constexpr const char* kLegacy = "/_matrix/media/r0/download/core.example/m1?allow_remote=false";

TEST(CoreMedia, WhichAnswersAreHeld) {
  const policy::MediaPolicy images{true, 100, {"image/*"}};
  const policy::MediaPolicy small{true, 100, {}};
  const policy::MediaPolicy typed{true, std::nullopt, {"image/png"}};
  const policy::MediaPolicy open{true, std::nullopt, {}};
  const policy::MediaPolicy none{false, std::nullopt, {}};
  const struct {
    const char* name;
    const char* target;
    const policy::MediaPolicy* media;
    int status;
    std::optional<std::uint64_t> hold;
    policy::Direction direction = policy::Direction::inbound;
  } cases[] = {
      {"federation media, size limit", kFederation, &small, 200, 100 + kMediaFramingSlack},
      {"thumbnail, size and type", kThumb, &images, 200, 100 + kMediaFramingSlack},
      {"legacy: the body is the media", kLegacy, &images, 200, 100},
      {"type only: the gateway's own bound", kFederation, &typed, 200, kMaxHeldMediaBytes},
      {"no limit: streamed", kFederation, &open, 200, std::nullopt},
      {"not allowed: held (and refused)", kLegacy, &none, 200, kMaxHeldMediaBytes},
      {"no settings", kFederation, nullptr, 200, std::nullopt},
      {"an error answer streams", kFederation, &small, 404, std::nullopt},
      {"a redirect streams", kLegacy, &small, 307, std::nullopt},
      {"not media", "/_matrix/federation/v1/version", &small, 200, std::nullopt},
      {"outbound answers are the tunnel's", "/_matrix/federation/v1/media/download/m1", &small, 200,
       std::nullopt, policy::Direction::outbound},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    JudgedRequest r = request(c.target, c.media, c.direction);
    EXPECT_EQ(core_media_hold_limit(r, c.status), c.hold);
  }
}

TEST(CoreMedia, VerdictsOnTheCoresAnswers) {
  const policy::MediaPolicy images{true, 100, {"image/*", "application/pdf"}};
  const std::string png = "Content-Type: image/png\r\n\r\n" + std::string(100, 'x');
  const struct {
    const char* name;
    const char* target;
    std::string content_type;
    std::string body;
    const char* reason;
    const char* errcode;
  } cases[] = {
      {"federation, within the limit", kFederation, "multipart/mixed; boundary=b0", multipart(png),
       "response_ok", ""},
      {"federation, one byte over", kFederation, "multipart/mixed; boundary=b0",
       multipart(png + "x"), "media_too_large", "M_TOO_LARGE"},
      {"federation, a type off the list", kThumb, "multipart/mixed; boundary=b0",
       multipart("Content-Type: text/html\r\n\r\n<p>"), "media_content_type_not_allowed",
       "M_FORBIDDEN"},
      {"federation, no type", kFederation, "multipart/mixed; boundary=b0", multipart("\r\nabc"),
       "media_content_type_not_allowed", "M_FORBIDDEN"},
      {"federation, a redirect", kFederation, "multipart/mixed; boundary=b0",
       multipart("Location: https://cdn.core.example/m1\r\n"), "media_redirect", ""},
      {"federation, not multipart", kFederation, "image/png", std::string(10, 'x'),
       "response_malformed", "M_UNKNOWN"},
      {"legacy, within the limit", kLegacy, "image/png", std::string(100, 'x'), "response_ok", ""},
      {"legacy, parameters ignored", kLegacy, "Application/PDF; charset=binary", "%PDF",
       "response_ok", ""},
      {"legacy, over the limit", kLegacy, "image/png", std::string(101, 'x'), "media_too_large",
       "M_TOO_LARGE"},
      {"legacy, type off the list", kLegacy, "text/html", "<p>", "media_content_type_not_allowed",
       "M_FORBIDDEN"},
      {"legacy, no type", kLegacy, "", "x", "media_content_type_not_allowed", "M_FORBIDDEN"},
      {"legacy, a multipart body is what it says", kLegacy, "multipart/mixed; boundary=b0",
       multipart("Content-Type: image/png\r\n\r\nx"), "media_content_type_not_allowed",
       "M_FORBIDDEN"},
  };
  // Policy refusals are 4xx (a real Synapse backs a server off after any 5xx it answers); an
  // answer that is not what the endpoint answers is the upstream's failure, 502.
  const std::map<std::string, int, std::less<>> status_of{{"response_ok", 0},
                                                          {"media_redirect", 0},
                                                          {"media_too_large", 413},
                                                          {"media_content_type_not_allowed", 403},
                                                          {"response_malformed", 502}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    JudgedRequest r = request(c.target, &images);
    MediaVerdict v = check_core_media_answer(r, c.content_type, c.body);
    EXPECT_EQ(v.reason, c.reason);
    EXPECT_EQ(v.status, status_of.find(c.reason)->second);
    EXPECT_STREQ(v.errcode, c.errcode);
    const bool refused = std::string_view(c.errcode) != "";
    EXPECT_EQ(v.refused, refused);
    // A refusal is the request's denial, for its audit record; a pass leaves no trace.
    EXPECT_EQ(r.denial, refused ? c.reason : "");
    EXPECT_EQ(r.response_note, refused ? "response refused: " + std::string(c.reason) : "");
    if (refused) {
      EXPECT_EQ(v.error.find("remote"), std::string::npos) << v.error;
    }
  }
}

TEST(CoreMedia, OversizedAnswersAreRefusedUnread) {
  const policy::MediaPolicy small{true, 100, {}};
  JudgedRequest r = request(kFederation, &small);
  MediaVerdict v = refuse_oversized_core_media(r, 65637);
  EXPECT_TRUE(v.refused);
  EXPECT_EQ(v.reason, "media_too_large");
  EXPECT_STREQ(v.errcode, "M_TOO_LARGE");
  EXPECT_EQ(v.status, 413);
  EXPECT_NE(v.error.find("(100)"), std::string::npos) << v.error;
  EXPECT_EQ(r.denial, "media_too_large");
  const policy::MediaPolicy typed{true, std::nullopt, {"image/png"}};
  JudgedRequest t = request(kFederation, &typed);
  EXPECT_NE(refuse_oversized_core_media(t, kMaxHeldMediaBytes + 1).error.find("gateway holds"),
            std::string::npos);
}

}  // namespace
}  // namespace bordergate::enforcement
