// `policy check` output: every diagnostic with file:line:column and its stable code, then what
// was loaded; as text for people or as one JSON object for CI (docs/auditor.md).
#pragma once

#include <string>

#include "policy/loader.h"

namespace bordergate::policy {

// `sha256`: the digest of the file as read (what the audit chain names; "" when it could not be
// read), printed as its own line / member.
std::string check_text(const std::string& file, const LoadOutput& out, const std::string& sha256);
std::string check_json(const std::string& file, const LoadOutput& out, const std::string& sha256);

}  // namespace bordergate::policy
