// Lookups into tests/data/matrix/test-vectors.json for the event tests; the file is loaded once,
// by test_vectors.h.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "gateway/matrix/json.h"
#include "tests/unit/matrix/test_vectors.h"

namespace bordergate::matrix::testing {

inline const JsonArray& all_vectors() { return core_vectors(); }

// The vector with this "name"; throws if it is missing so a renamed vector fails loudly.
inline const JsonObject& vector_named(std::string_view name) {
  for (const Json& v : all_vectors()) {
    const std::string* n = v.find("name")->string_if();
    if (n && *n == name) return *v.object_if();
  }
  throw std::runtime_error("no test vector named " + std::string(name));
}

inline const JsonObject& object_at(const JsonObject& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || !it->second.is_object()) {
    throw std::runtime_error("vector member " + std::string(key) + " is not an object");
  }
  return *it->second.object_if();
}

inline const std::string& string_at(const JsonObject& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || !it->second.is_string()) {
    throw std::runtime_error("vector member " + std::string(key) + " is not a string");
  }
  return *it->second.string_if();
}

}  // namespace bordergate::matrix::testing
