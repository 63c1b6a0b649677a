// `policy report`: the capability matrix an auditor attaches to a review — federations x
// endpoints, event types, EDU types, media, limits, checks, invites and room/user rules —
// as Markdown or as one self-contained HTML page (inline CSS, no scripts, no links out).
#pragma once

#include <string>

#include "policy/policy.h"

namespace bordergate::policy {

enum class ReportFormat { markdown, html };

std::string capability_report(const Policy& policy, ReportFormat format);

}  // namespace bordergate::policy
