// An event carried in the answer to a request and what the gateway did with it: the
// vocabulary outbound::check_response writes, the audit record lists and
// bordergate_answer_events_total counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bordergate::enforcement {

// forward: unchanged. report: unchanged, a report rule matched. redacted: a content rule
// refused it, delivered in its redacted form. arrived_redacted: its signatures verify but its
// content does not match its hash (redacted where it came from, or altered on the way):
// delivered in its redacted form, which is what a receiving homeserver keeps of it (Synapse:
// "seems to have been redacted; using our redacted copy"), never removed.
enum class EventOutcome : std::uint8_t { forward, report, redacted, arrived_redacted };
inline constexpr std::size_t kEventOutcomes = 4;

inline const char* event_outcome_name(EventOutcome o) {
  switch (o) {
    case EventOutcome::forward:
      return "forward";
    case EventOutcome::report:
      return "report";
    case EventOutcome::redacted:
      return "redacted";
    case EventOutcome::arrived_redacted:
      return "arrived_redacted";
  }
  return "forward";
}

struct AnswerEvent {
  std::string event_id;
  std::string event_type;
  EventOutcome outcome = EventOutcome::forward;
  std::string rule_id;  // the content rule that decided; empty when none did
};

}  // namespace bordergate::enforcement
