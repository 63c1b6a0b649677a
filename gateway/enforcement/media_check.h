// Media answers held to the media policy, in both directions: the Core's answers to a peer's
// media request (inbound) and an external server's answers to the Core's (outbound). Federation
// media (/_matrix/federation/v1/media/*) answers multipart/mixed: a JSON metadata part, then the
// bytes with their Content-Type or a Location redirect (federation-notes §7); the legacy
// /_matrix/media/{v3,r0} paths answer the bytes themselves, typed by the answer's Content-Type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "policy/policy.h"

namespace bordergate::enforcement {

struct MediaPart {
  std::string content_type;             // the second part's Content-Type, empty when absent
  std::string_view bytes;               // the second part's content (empty for a redirect)
  std::optional<std::string> location;  // the second part's Location header, if it redirects
};

// Strict RFC 2046 reading of the answer: the boundary from the Content-Type (token or quoted,
// 1..70 characters), CRLF line ends, exactly two parts, the first application/json. Errors:
// "not_multipart", "no_boundary", "bad_multipart" (with the reason in the message).
Result<MediaPart> parse_media_multipart(std::string_view content_type, std::string_view body);

// The verdict on one media answer. A policy refusal is a 4xx, never a 5xx: Synapse backs a
// destination off for ten minutes and more after any 5xx, 401 or 429 from it
// (synapse/util/retryutils.py), so a refused media answer answered 502 would stop all of its
// federation traffic towards the server that asked, not just the one download (found with a real
// Synapse, tests/interop). media_not_allowed / media_content_type_not_allowed: 403 M_FORBIDDEN;
// media_too_large: 413 M_TOO_LARGE. An answer that is not what the endpoint answers
// (response_malformed, M_UNKNOWN) stays a 502: the upstream is broken, not refused. Passing:
// reason "response_ok" or "media_redirect".
struct MediaVerdict {
  bool refused = false;
  std::string reason = "response_ok";
  const char* errcode = "";
  std::string error;  // the text for whoever asked
  int status = 0;     // refused: the answer's status
};

// Whose answer it is, for the wording of refusals.
enum class MediaSource : unsigned char { remote, core };

// `media` null: no limits. A redirect passes unless media is not allowed at all.
MediaVerdict check_multipart_media(std::string_view content_type, std::string_view body,
                                   const policy::MediaPolicy* media, MediaSource source);
// A legacy answer: `body` is the media, `content_type` its type (a missing type fails when
// types are restricted). Never malformed.
MediaVerdict check_plain_media(std::string_view content_type, std::string_view body,
                               const policy::MediaPolicy* media, MediaSource source);

// ---- Inbound: the Core's answers to a peer's media request (docs/inbound.md, "Media answers") --

struct JudgedRequest;

// Slack over media.max_bytes for the multipart framing and metadata part of a federation answer,
// and the most the gateway holds when the policy restricts only the type.
inline constexpr std::uint64_t kMediaFramingSlack = 64 * 1024;
inline constexpr std::uint64_t kMaxHeldMediaBytes = 64ull * 1024 * 1024;

// How many body bytes of the Core's answer to hold and judge before the peer sees any, or
// nullopt to stream it unchecked: only 2xx answers to (federation or legacy) media requests
// whose media settings limit size or type are held.
std::optional<std::uint64_t> core_media_hold_limit(const JudgedRequest& r, int status);

// Judges the Core's whole answer with the media settings of the request's decision. A refusal
// is recorded on `r` (denial = the reason, response_note) for the audit record.
MediaVerdict check_core_media_answer(JudgedRequest& r, std::string_view content_type,
                                     std::string_view body);

// The Core's answer outgrew the hold limit (announced or read): media_too_large, recorded on `r`.
MediaVerdict refuse_oversized_core_media(JudgedRequest& r, std::uint64_t bytes);

}  // namespace bordergate::enforcement
