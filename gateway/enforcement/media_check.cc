#include "gateway/enforcement/media_check.h"

#include <algorithm>

#include "gateway/common/ascii.h"
#include "gateway/enforcement/judged_request.h"
#include "policy/evaluate.h"

namespace bordergate::enforcement {
namespace {

constexpr std::string_view kCrlf = "\r\n";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The media type without parameters, lower-cased.
std::string media_type(std::string_view content_type) {
  std::string t(trim(content_type.substr(0, content_type.find(';'))));
  for (char& c : t) c = ascii_lower(c);
  return t;
}

Error bad(std::string why) { return Error{"bad_multipart", std::move(why)}; }

Result<std::string> boundary_of(std::string_view content_type) {
  std::size_t pos = content_type.find(';');
  while (pos != std::string_view::npos) {
    std::string_view rest = content_type.substr(pos + 1);
    const std::size_t next = rest.find(';');
    std::string_view param = trim(rest.substr(0, next));
    pos = next == std::string_view::npos ? next : pos + 1 + next;
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || !ascii_iequals(trim(param.substr(0, eq)), "boundary"))
      continue;
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.empty() || value.size() > 70 || value.back() == ' ' ||
        value.find_first_of("\"\r\n") != std::string_view::npos) {
      return Error{"no_boundary", "the multipart boundary is malformed"};
    }
    return std::string(value);
  }
  return Error{"no_boundary", "the multipart answer names no boundary"};
}

struct Part {
  std::string_view headers;  // header block without its final CRLF CRLF
  std::string_view content;
};

// The value of header `name` in a part's header block (exactly one allowed), nullopt if absent.
Result<std::optional<std::string_view>> part_header(std::string_view headers,
                                                    std::string_view name) {
  std::optional<std::string_view> found;
  while (!headers.empty()) {
    const std::size_t end = headers.find(kCrlf);
    std::string_view line = headers.substr(0, end);
    headers = end == std::string_view::npos ? std::string_view{} : headers.substr(end + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("a part header has no name");
    if (!ascii_iequals(line.substr(0, colon), name)) continue;
    if (found) return bad("a part repeats " + std::string(name));
    found = trim(line.substr(colon + 1));
  }
  return found;
}

MediaVerdict refuse(std::string reason, std::string error, const char* errcode, int status) {
  return MediaVerdict{true, std::move(reason), errcode, std::move(error), status};
}

// The media policy over the bytes of one answer and their type.
MediaVerdict check_media_bytes(std::string_view type, std::string_view bytes,
                               const policy::MediaPolicy* media, std::string_view subject) {
  if (media == nullptr) return {};
  if (!media->allowed) {
    return refuse("media_not_allowed", std::string(subject) + " is not allowed by policy",
                  "M_FORBIDDEN", 403);
  }
  if (media->max_bytes && bytes.size() > *media->max_bytes) {
    return refuse("media_too_large",
                  std::string(subject) + " (" + std::to_string(bytes.size()) +
                      " bytes) is larger than the policy allows (" +
                      std::to_string(*media->max_bytes) + ")",
                  "M_TOO_LARGE", 413);
  }
  if (!media->content_types.empty() &&
      (type.empty() || !policy::media_type_allowed(*media, type))) {
    return refuse("media_content_type_not_allowed",
                  std::string(subject) + "'s type (" +
                      (type.empty() ? std::string("none") : std::string(type)) +
                      ") is not allowed by policy",
                  "M_FORBIDDEN", 403);
  }
  return {};
}

}  // namespace

Result<MediaPart> parse_media_multipart(std::string_view content_type, std::string_view body) {
  if (media_type(content_type) != "multipart/mixed") {
    return Error{"not_multipart", "the answer is not multipart/mixed"};
  }
  auto boundary = boundary_of(content_type);
  if (!boundary) return boundary.error();
  const std::string delimiter = "--" + *boundary;
  // The first delimiter opens the body or follows the preamble's CRLF.
  std::size_t pos = 0;
  if (body.substr(0, delimiter.size()) != delimiter) {
    pos = body.find("\r\n" + delimiter);
    if (pos == std::string_view::npos) return bad("no opening boundary");
    pos += 2;
  }
  std::vector<Part> parts;
  const std::string separator = "\r\n" + delimiter;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // close delimiter; the epilogue is ignored
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != kCrlf) return bad("a boundary line does not end in CRLF");
    pos += 2;
    const std::size_t next = body.find(separator, pos);
    if (next == std::string_view::npos) return bad("a part is not closed by a boundary");
    std::string_view whole = body.substr(pos, next - pos);
    Part part;
    if (whole.substr(0, 2) == kCrlf) {
      part.content = whole.substr(2);  // no headers
    } else {
      const std::size_t split = whole.find("\r\n\r\n");
      if (split != std::string_view::npos) {
        part.headers = whole.substr(0, split);
        part.content = whole.substr(split + 4);
      } else if (whole.ends_with(kCrlf)) {
        part.headers = whole.substr(0, whole.size() - 2);  // RFC 2046: headers, no body
      } else {
        return bad("a part has no end of headers");
      }
    }
    parts.push_back(part);
    if (parts.size() > 2) return bad("more than two parts");
    pos = next + 2;
  }
  if (parts.size() != 2) return bad("expected two parts");
  auto meta_type = part_header(parts[0].headers, "content-type");
  if (!meta_type) return meta_type.error();
  if (!*meta_type || media_type(**meta_type) != "application/json") {
    return bad("the first part is not application/json");
  }
  MediaPart out;
  auto location = part_header(parts[1].headers, "location");
  if (!location) return location.error();
  auto type = part_header(parts[1].headers, "content-type");
  if (!type) return type.error();
  if (*location) {
    out.location = std::string(**location);
    return out;
  }
  if (*type) out.content_type = std::string(**type);
  out.bytes = parts[1].content;
  return out;
}

MediaVerdict check_multipart_media(std::string_view content_type, std::string_view body,
                                   const policy::MediaPolicy* media, MediaSource source) {
  const bool remote = source == MediaSource::remote;
  auto part = parse_media_multipart(content_type, body);
  if (!part) {
    return refuse("response_malformed",
                  std::string(remote ? "The remote server's" : "The homeserver's") +
                      " media answer is malformed: " + part.error().message,
                  "M_UNKNOWN", 502);
  }
  const std::string_view subject = remote ? "The remote media" : "The media";
  if (part->location) {
    // A redirect carries no bytes: its target is judged on its own (outbound: a new CONNECT).
    if (media != nullptr && !media->allowed) return check_media_bytes({}, {}, media, subject);
    return MediaVerdict{false, "media_redirect", "", ""};
  }
  return check_media_bytes(part->content_type, part->bytes, media, subject);
}

MediaVerdict check_plain_media(std::string_view content_type, std::string_view body,
                               const policy::MediaPolicy* media, MediaSource source) {
  return check_media_bytes(trim(content_type), body, media,
                           source == MediaSource::remote ? "The remote media" : "The media");
}

namespace {

const policy::MediaPolicy* media_in_force(const JudgedRequest& r) {
  return r.decision ? r.decision->settings.media : nullptr;
}

MediaVerdict recorded(JudgedRequest& r, MediaVerdict v) {
  if (v.refused) {
    r.denial = v.reason;
    r.response_note = "response refused: " + v.reason;
  }
  return v;
}

}  // namespace

std::optional<std::uint64_t> core_media_hold_limit(const JudgedRequest& r, int status) {
  if (r.direction != policy::Direction::inbound || !r.route || status < 200 || status > 299 ||
      !policy::is_media_endpoint(r.route->endpoint))
    return std::nullopt;
  const policy::MediaPolicy* media = media_in_force(r);
  if (media == nullptr || (!media->max_bytes && media->content_types.empty() && media->allowed))
    return std::nullopt;
  if (!media->max_bytes) return kMaxHeldMediaBytes;
  return std::min(*media->max_bytes + (r.route->legacy_media ? 0 : kMediaFramingSlack),
                  kMaxHeldMediaBytes + kMediaFramingSlack);
}

MediaVerdict check_core_media_answer(JudgedRequest& r, std::string_view content_type,
                                     std::string_view body) {
  const policy::MediaPolicy* media = media_in_force(r);
  return recorded(r, r.route->legacy_media
                         ? check_plain_media(content_type, body, media, MediaSource::core)
                         : check_multipart_media(content_type, body, media, MediaSource::core));
}

MediaVerdict refuse_oversized_core_media(JudgedRequest& r, std::uint64_t bytes) {
  const policy::MediaPolicy* media = media_in_force(r);
  std::string limit = media != nullptr && media->max_bytes
                          ? "the policy allows (" + std::to_string(*media->max_bytes) + ")"
                          : "the gateway holds (" + std::to_string(kMaxHeldMediaBytes) + ")";
  return recorded(r, refuse("media_too_large",
                            "The media answer (" + std::to_string(bytes) +
                                " bytes or more) is larger than " + limit,
                            "M_TOO_LARGE", 413));
}

}  // namespace bordergate::enforcement
