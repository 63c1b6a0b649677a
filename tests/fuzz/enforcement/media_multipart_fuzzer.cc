// The multipart/mixed reader of federation media answers (federation-notes §7) on hostile bytes:
// the first line is the answer's Content-Type, the rest its body. Never a crash, and what it
// reads holds together: the media bytes lie inside the body; a redirect carries no bytes; the
// verdict of the media policy is a 403/413 refusal with M_FORBIDDEN/M_TOO_LARGE, or a 502
// M_UNKNOWN exactly when the answer does not parse, and a size limit refuses exactly the parts larger than it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "gateway/enforcement/media_check.h"

using namespace bordergate;

namespace {

void check_verdict(const enforcement::MediaVerdict& v) {
  if (!v.refused) {
    if (v.status != 0 || (v.reason != "response_ok" && v.reason != "media_redirect")) std::abort();
    return;
  }
  const bool forbidden = v.status == 403 && std::strcmp(v.errcode, "M_FORBIDDEN") == 0;
  const bool too_large = v.status == 413 && std::strcmp(v.errcode, "M_TOO_LARGE") == 0;
  const bool malformed = v.status == 502 && std::strcmp(v.errcode, "M_UNKNOWN") == 0 &&
                         v.reason == "response_malformed";
  if (!forbidden && !too_large && !malformed) std::abort();
  if (v.error.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return 0;
  const std::string_view content_type = input.substr(0, nl);
  const std::string_view body = input.substr(nl + 1);

  auto part = enforcement::parse_media_multipart(content_type, body);
  if (part) {
    if (!part->bytes.empty() &&
        (part->bytes.data() < body.data() ||
         part->bytes.data() + part->bytes.size() > body.data() + body.size())) {
      std::abort();
    }
    if (part->location && !part->bytes.empty()) std::abort();
  }

  policy::MediaPolicy open;
  policy::MediaPolicy limited;
  limited.max_bytes = 16;
  limited.content_types = {"image/*", "text/plain"};
  policy::MediaPolicy closed;
  closed.allowed = false;
  const policy::MediaPolicy* const policies[] = {nullptr, &open, &limited, &closed};
  for (const policy::MediaPolicy* media : policies) {
    for (auto source : {enforcement::MediaSource::remote, enforcement::MediaSource::core}) {
      const auto v = enforcement::check_multipart_media(content_type, body, media, source);
      check_verdict(v);
      // A malformed answer is malformed whatever the policy; a well-formed one never is.
      if ((v.reason == "response_malformed") != !part.ok()) std::abort();
      if (part && media == &limited && !part->location && part->bytes.size() > 16 &&
          !v.refused) {
        std::abort();
      }
      (void)enforcement::check_plain_media(content_type, body, media, source);
    }
  }
  return 0;
}
