// Remote media answers held to the media policy before the Core stores them: the shared media
// check (gateway/enforcement/media_check.h, which also judges the Core's own answers inbound) as an
// outbound ResponseCheck.
#pragma once

#include <string_view>

#include "gateway/enforcement/media_check.h"
#include "gateway/outbound/response_check.h"
#include "policy/policy.h"

namespace bordergate::outbound {

using enforcement::MediaPart;
using enforcement::parse_media_multipart;

// pass (also for a redirect: its target is a new CONNECT, judged on its own), or refuse with the
// verdict's status (enforcement::MediaVerdict): media_not_allowed / media_content_type_not_allowed
// (403 M_FORBIDDEN), media_too_large (413 M_TOO_LARGE), response_malformed (502 M_UNKNOWN).
// `media` null: no limits.
ResponseCheck check_media_answer(std::string_view content_type, std::string_view body,
                                 const policy::MediaPolicy* media);

// The same policy over a legacy media answer: `body` is the media, `content_type` its type.
ResponseCheck check_plain_media_answer(std::string_view content_type, std::string_view body,
                                       const policy::MediaPolicy* media);

}  // namespace bordergate::outbound
