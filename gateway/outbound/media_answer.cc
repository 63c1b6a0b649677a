#include "gateway/outbound/media_answer.h"

#include "gateway/outbound/refusal.h"

namespace bordergate::outbound {
namespace {

ResponseCheck from_verdict(enforcement::MediaVerdict v) {
  if (v.refused) return refuse_answer(std::move(v.reason), std::move(v.error), v.errcode, v.status);
  ResponseCheck c;
  c.reason = std::move(v.reason);
  return c;
}

}  // namespace

ResponseCheck check_media_answer(std::string_view content_type, std::string_view body,
                                 const policy::MediaPolicy* media) {
  return from_verdict(enforcement::check_multipart_media(content_type, body, media,
                                                         enforcement::MediaSource::remote));
}

ResponseCheck check_plain_media_answer(std::string_view content_type, std::string_view body,
                                       const policy::MediaPolicy* media) {
  return from_verdict(
      enforcement::check_plain_media(content_type, body, media, enforcement::MediaSource::remote));
}

}  // namespace bordergate::outbound
