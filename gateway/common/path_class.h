// The coarse endpoint classes of a request path, the bounded metric label of every request
// (`PathClass`); the federation endpoint a request is, from the catalogue, is a different
// thing (policy::FederationEndpoint, named by enforcement::classify_endpoint).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "policy/model.h"

namespace bordergate {

enum class PathClass : unsigned char { federation, key, media, well_known, other };
inline constexpr size_t kPathClassCount = 5;

inline constexpr std::array<std::string_view, kPathClassCount> kPathClassNames = {
    "federation", "key", "media", "well_known", "other"};

inline std::string_view path_class_name(PathClass c) {
  return kPathClassNames[static_cast<size_t>(c)];
}

// Traffic direction: one type for the whole gateway, the policy's (inbound = an external server's
// request to the Core, outbound = the Core's request to an external server).
using Direction = policy::Direction;
// The direction as a dense index (metric arrays) and its label.
inline constexpr size_t kDirectionCount = 2;
inline size_t direction_index(Direction d) { return d == Direction::outbound ? 1 : 0; }
inline std::string_view direction_label(size_t index) {
  return index == 0 ? "inbound" : "outbound";
}

}  // namespace bordergate
