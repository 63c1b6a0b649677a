// Building blocks for writing canonical JSON of a filtered object (an event minus some keys, a
// redacted event) straight into a byte string, without first copying the object. Internal to the
// event code; the full encoder lives in json.h.
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/json.h"

namespace bordergate::matrix {

// "float_not_allowed" / "integer_out_of_range" when the value could not be canonical JSON; the
// precondition append_canonical_json relies on. Parsed values always pass; built ones may not.
Status check_canonical_values(const Json& value);

// Appends `"key":` with canonical string escaping.
void append_canonical_key(std::string& out, std::string_view key);

}  // namespace bordergate::matrix
