// The one way the outbound response checks (response_check.cc, media_answer.cc, key_answer.cc)
// refuse an external server's answer: 502 towards the Core with a Matrix errcode and a text
// naming what failed (a policy refusal of media passes its own 4xx: see MediaVerdict).
// Internal to bg_outbound.
#pragma once

#include <string>
#include <utility>

#include "gateway/outbound/response_check.h"

namespace bordergate::outbound {

inline ResponseCheck refuse_answer(std::string reason, std::string error,
                                   const char* errcode = "M_UNKNOWN", int status = 502) {
  ResponseCheck c;
  c.action = ResponseAction::refuse;
  c.reason = std::move(reason);
  c.status = status;
  c.errcode = errcode;
  c.error = std::move(error);
  return c;
}

// An answer that is not what the endpoint answers (not JSON, a missing member, ...): `what`.
inline ResponseCheck refuse_malformed(const std::string& what) {
  return refuse_answer("response_malformed", "The remote server's answer is malformed: " + what);
}

}  // namespace bordergate::outbound
