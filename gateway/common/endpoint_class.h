// The coarse endpoint classes used as bounded metric labels and by the
// pipeline's classify phase. Later issues refine classification into the full
// federation endpoint table; these classes stay the metric vocabulary.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace bordergate {

enum class EndpointClass : unsigned char { federation, key, media, well_known, other };
inline constexpr size_t kEndpointClassCount = 5;

inline constexpr std::array<std::string_view, kEndpointClassCount> kEndpointClassNames = {
    "federation", "key", "media", "well_known", "other"};

inline std::string_view endpoint_class_name(EndpointClass c) {
  return kEndpointClassNames[static_cast<size_t>(c)];
}

// Traffic direction, a metric label: inbound = remote server -> Core.
enum class Direction : unsigned char { inbound, outbound };
inline std::string_view direction_name(Direction d) {
  return d == Direction::inbound ? "inbound" : "outbound";
}

}  // namespace bordergate
