// Pieces of canonical JSON for the event code (see canonical_parts.h).
#include "gateway/matrix/canonical_parts.h"

#include <vector>

namespace bordergate::matrix {

Status check_canonical_values(const Json& value) {
  // Explicit stack: built values are not depth-limited the way parsed ones are.
  std::vector<const Json*> pending{&value};
  while (!pending.empty()) {
    const Json* v = pending.back();
    pending.pop_back();
    if (v->is_double()) {
      return make_error("float_not_allowed", "a non-integer number cannot be canonical JSON");
    }
    if (auto i = v->int_if()) {
      if (*i > kMaxJsonInteger || *i < -kMaxJsonInteger) {
        return make_error("integer_out_of_range",
                          "an integer is outside the canonical JSON range of +-(2^53-1)");
      }
    } else if (const JsonArray* array = v->array_if()) {
      for (const Json& item : *array) pending.push_back(&item);
    } else if (const JsonObject* object = v->object_if()) {
      for (const auto& [key, item] : *object) pending.push_back(&item);
    }
  }
  return {};
}

void append_canonical_key(std::string& out, std::string_view key) {
  // Keys that need no escaping (the common case: every key the spec defines) are copied as they
  // are; anything else goes through the full encoder so the escaping rules exist only once.
  bool plain = true;
  for (char c : key) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.push_back('"');
    out.append(key);
    out.push_back('"');
  } else {
    append_canonical_json(out, Json(key));
  }
  out.push_back(':');
}

}  // namespace bordergate::matrix
