// Parsing of the human-friendly scalar units used in the configuration:
// durations such as "250ms", "5s", "2m", "1h".
#pragma once

#include <optional>
#include <string_view>

#include "gateway/config/config.h"

namespace bordergate {

// "<digits><unit>" with unit ms|s|m|h; no sign, no fraction, no spaces.
std::optional<Millis> parse_duration(std::string_view text);

}  // namespace bordergate
