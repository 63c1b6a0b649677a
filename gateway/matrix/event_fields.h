// Small accessors shared by the event checks (event.cc, pdu_format.cc): typed member lookups and
// the id shapes they test. Internal to gateway/matrix; callers use event.h and pdu_format.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/pdu_format.h"

namespace bordergate::matrix {

inline Error format_error(std::string message) {
  return Error{"bad_event_format", std::move(message)};
}

inline const std::string* string_member(const JsonObject& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : it->second.string_if();
}

inline const JsonObject* object_member(const JsonObject& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : it->second.object_if();
}

// An id "<sigil>opaque:server" with a non-empty server part.
inline bool has_sigil_and_server(std::string_view id, char sigil) {
  return id.size() > 1 && id.front() == sigil && !id_server_name(id).empty();
}

// Bytes of one member in an object's canonical form: "key":value (without a comma).
std::size_t pdu_member_size(std::string_view key, const Json& value);

}  // namespace bordergate::matrix
