// Loads tests/data/matrix/test-vectors.json (the in-tree copy of the federation notes' vectors,
// see its README) for tests, parsed with our own strict parser.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "gateway/matrix/json.h"
#include "tests/unit/source_dir.h"

namespace bordergate::matrix::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline const JsonArray& core_vectors() {
  static const Json doc = [] {
    auto parsed =
        parse_json(read_file(std::string(BG_SOURCE_DIR) + "/tests/data/matrix/test-vectors.json"));
    if (!parsed) throw std::runtime_error("test-vectors.json: " + parsed.error().message);
    return std::move(parsed).value();
  }();
  return *doc.find("vectors")->array_if();
}

inline const Json* find_vector(std::string_view name) {
  for (const Json& v : core_vectors()) {
    if (*v.find("name")->string_if() == name) return &v;
  }
  return nullptr;
}

inline std::string str(const Json* j) {
  if (!j || !j->string_if()) throw std::runtime_error("vector field is not a string");
  return *j->string_if();
}

}  // namespace bordergate::matrix::testing
