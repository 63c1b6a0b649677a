// Loads ../shared/matrix/test-vectors.json at test time for the event tests: the vectors stay in
// one place and a change there shows up here without copying anything into the tests.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gateway/matrix/json.h"

namespace bordergate::matrix::testing {

inline const JsonArray& all_vectors() {
  static const Json document = [] {
    std::ifstream in(std::string(BG_SHARED_DIR) + "/matrix/test-vectors.json", std::ios::binary);
    if (!in) throw std::runtime_error("cannot open test-vectors.json under BG_SHARED_DIR");
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parse_json(text.str());
    if (!parsed) throw std::runtime_error("test-vectors.json: " + parsed.error().message);
    return std::move(*parsed);
  }();
  return *document.find("vectors")->array_if();
}

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
