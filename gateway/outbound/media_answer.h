// Remote media answers held to the media policy before the Core stores them. Federation media
// (/_matrix/federation/v1/media/*) answers multipart/mixed: a JSON metadata part, then either
// the bytes with their Content-Type or a Location redirect (federation-notes §7). The legacy
// /_matrix/media/{v3,r0} paths answer the bytes themselves, typed by the answer's Content-Type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/outbound/response_check.h"
#include "policy/policy.h"

namespace bordergate::outbound {

struct MediaPart {
  std::string content_type;             // the second part's Content-Type, empty when absent
  std::string_view bytes;               // the second part's content (empty for a redirect)
  std::optional<std::string> location;  // the second part's Location header, if it redirects
};

// Strict RFC 2046 reading of the answer: the boundary from the Content-Type (token or quoted,
// 1..70 characters), CRLF line ends, exactly two parts, the first application/json. Errors:
// "not_multipart", "no_boundary", "bad_multipart" (with the reason in the message).
Result<MediaPart> parse_media_multipart(std::string_view content_type, std::string_view body);

// pass (also for a redirect: its target is a new CONNECT, judged on its own), or refuse:
// media_not_allowed / media_content_type_not_allowed (502 M_FORBIDDEN), media_too_large
// (502 M_TOO_LARGE, as the spec's own answer for remote media over the limit),
// response_malformed (502 M_UNKNOWN). `media` null: no limits.
ResponseCheck check_media_answer(std::string_view content_type, std::string_view body,
                                 const policy::MediaPolicy* media);

// The same policy over a legacy media answer: `body` is the media, `content_type` its type
// (a missing type fails when types are restricted). Refusals as above; never malformed.
ResponseCheck check_plain_media_answer(std::string_view content_type, std::string_view body,
                                       const policy::MediaPolicy* media);

}  // namespace bordergate::outbound
