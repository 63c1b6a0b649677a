// Rendering a decision for people and machines: `policy explain` prints the text form,
// `--json` the JSON form; `policy test` prints the text form for each failure.
#pragma once

#include <string>

#include "policy/decision.h"
#include "policy/facts.h"
#include "policy/policy.h"

namespace bordergate::policy {

// The precedence rule in one sentence, as explain and the docs state it.
extern const char* const kPrecedenceText;

std::string describe_request(const RequestFacts& facts);
std::string explain_text(const Policy& policy, const RequestFacts& facts, const Decision& d);
std::string explain_json(const Policy& policy, const RequestFacts& facts, const Decision& d);
std::string describe_rule(const Policy& policy, std::uint32_t rule);

}  // namespace bordergate::policy
