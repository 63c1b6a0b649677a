// `policy check` output: every diagnostic with file:line:column and its stable code, then what
// was loaded; as text for people or as one JSON object for CI (docs/auditor.md).
#pragma once

#include <string>

#include "policy/loader.h"

namespace bordergate::policy {

std::string check_text(const std::string& file, const LoadOutput& out);
std::string check_json(const std::string& file, const LoadOutput& out);

}  // namespace bordergate::policy
