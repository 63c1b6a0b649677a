#include "gateway/http/outcome.h"

#include <array>

namespace bordergate {
namespace {

struct FailureRow {
  ErrorSource source;
  int status;
  const char* errcode;
  const char* text;
  std::int64_t retry_after_ms = 0;  // 0: no Retry-After
};

// Timeouts are 504, everything else on the way to an answer 502: a 5xx tells a Synapse origin
// to back off and retry later, which is right for a Core or destination that is down. Refusals
// by policy never pass here: they are 4xx (403, 413, 429) built by the phases.
constexpr std::array<FailureRow, 12> kFailures = {{
    {ErrorSource::core, 502, "M_UNKNOWN", "The homeserver refused the connection"},
    {ErrorSource::core, 504, "M_UNKNOWN", "Timed out connecting to the homeserver"},
    {ErrorSource::core, 504, "M_UNKNOWN", "Timed out waiting for the homeserver"},
    {ErrorSource::core, 502, "M_UNKNOWN", "The homeserver closed the connection"},
    {ErrorSource::core, 502, "M_UNKNOWN", "TLS with the homeserver failed"},
    {ErrorSource::core, 502, "M_UNKNOWN", "The homeserver sent an invalid response"},
    {ErrorSource::core, 502, "M_UNKNOWN", "The homeserver is unreachable"},
    {ErrorSource::remote, 502, "M_UNKNOWN", "The destination server could not be reached"},
    {ErrorSource::remote, 504, "M_UNKNOWN", "The destination server could not be reached"},
    {ErrorSource::remote, 502, "M_UNKNOWN",
     "The destination's response exceeds the gateway's limit"},
    {ErrorSource::remote, 502, "M_UNKNOWN", "The destination's answer failed the checks"},
    {ErrorSource::gateway, 503, "M_UNAVAILABLE",
     "The gateway holds too many large answers now; retry later", Outcome::kUnavailableRetryMs},
}};

}  // namespace

GatewayError failure_answer(Failure failure, std::string text) {
  const FailureRow& row = kFailures[static_cast<std::size_t>(failure)];
  GatewayError e{row.status, row.errcode, text.empty() ? std::string(row.text) : text, row.source};
  if (row.retry_after_ms > 0) e.retry_after_ms = row.retry_after_ms;
  return e;
}

const char* outcome_label(ErrorSource source) {
  switch (source) {
    case ErrorSource::peer:
    case ErrorSource::policy:
      return "denied";
    case ErrorSource::core:
    case ErrorSource::remote:
      return "upstream_error";
    case ErrorSource::gateway:
      break;
  }
  return "gateway_error";
}

}  // namespace bordergate
