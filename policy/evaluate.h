// The policy decision: a pure function of the compiled policy and the request facts.
// No clocks, no I/O, no shared state; safe to call from any thread on a snapshot.
#pragma once

#include "policy/decision.h"
#include "policy/facts.h"
#include "policy/policy.h"

namespace bordergate::policy {

Decision evaluate(const Policy& policy, const RequestFacts& facts);

// The settings (limits, media, checks, rate) in force for a peer and direction; `peer` is
// a server name (port and case are ignored) or nullopt for an unknown origin.
Settings resolve_settings(const Policy& policy, const std::optional<std::string>& peer,
                          Direction direction);

// A Content-Type (parameters ignored, case-insensitive) against the media policy's list
// ("image/*" matches any image type; an empty list allows every type).
bool media_type_allowed(const MediaPolicy& media, std::string_view content_type);

}  // namespace bordergate::policy
