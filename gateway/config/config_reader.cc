#include "gateway/config/config_reader.h"

#include <yaml-cpp/yaml.h>

#include <charconv>

#include "gateway/common/yaml_mapping.h"
#include "gateway/config/units.h"

namespace bordergate {

void ConfigReader::error(const YAML::Node& at, const std::string& message) {
  error(at.Mark(), message);
}

void ConfigReader::error(const YAML::Mark& m, const std::string& message) {
  if (m.is_null()) {
    errors_.push_back({file_, 0, 0, message});
  } else {
    errors_.push_back({file_, m.line + 1, m.column + 1, message});
  }
}

std::string ConfigReader::where(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

bool ConfigReader::check_map(const YAML::Node& node, const std::string& what,
                             std::initializer_list<std::string_view> allowed) {
  using Kind = MappingProblem::Kind;
  for (const MappingProblem& p : mapping_problems(node, allowed)) {
    switch (p.kind) {
      case Kind::not_a_mapping:
        error(node, what + " must be a mapping");
        return false;
      case Kind::key_not_a_string:
        error(p.mark, "keys in " + what + " must be strings");
        break;
      case Kind::unknown_key:
        error(p.mark, "unknown key '" + p.key + "' in " + what +
                          " (expected one of: " + key_list(allowed) + ")");
        break;
      case Kind::duplicate_key:
        error(p.mark, "duplicate key '" + p.key + "' in " + what);
        break;
    }
  }
  return true;
}

YAML::Node ConfigReader::required(const YAML::Node& map, const char* key, std::string_view why) {
  YAML::Node n = map[key];
  if (!n) {
    error(map, std::string("missing required key '") + key + "'" +
                   (why.empty() ? std::string() : " (" + std::string(why) + ")"));
  }
  return n;
}

bool ConfigReader::sequence(const YAML::Node& n, const std::string& name, bool non_empty,
                            std::string_view of) {
  if (n.IsSequence() && (!non_empty || n.size() > 0)) return true;
  error(n, name + " must be a " + (non_empty ? "non-empty " : "") + "list" +
               (of.empty() ? std::string() : " of " + std::string(of)));
  return false;
}

std::optional<std::string> ConfigReader::scalar(const YAML::Node& n, const std::string& name) {
  if (!n.IsScalar()) {
    error(n, name + " must be a string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<std::string> ConfigReader::non_empty(const YAML::Node& n, const std::string& name) {
  if (!n.IsScalar() || n.Scalar().empty()) {
    error(n, name + " must be a non-empty string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<std::uint64_t> ConfigReader::integer(const YAML::Node& n, const std::string& name,
                                                   std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!n.IsScalar() || s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    error(n, name + " must be a non-negative integer");
    return std::nullopt;
  }
  if (v < min || v > max) {
    error(n, name + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

std::optional<ConfigReader::Millis> ConfigReader::duration(const YAML::Node& n,
                                                           const std::string& name, Millis min,
                                                           Millis max) {
  std::optional<Millis> d = n.IsScalar() ? parse_duration(n.Scalar()) : std::nullopt;
  if (!d) {
    error(n, name + " must be a duration such as 250ms, 5s, 2m or 1h");
    return std::nullopt;
  }
  if (*d < min || *d > max) {
    error(n, name +
                 (max == Millis::max() ? " must be at least " + std::to_string(min.count())
                                       : " must be between " + std::to_string(min.count()) +
                                             "ms and " + std::to_string(max.count())) +
                 "ms");
    return std::nullopt;
  }
  return d;
}

std::optional<bool> ConfigReader::boolean(const YAML::Node& n, const std::string& name) {
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  if (s == "true") return true;
  if (s == "false") return false;
  error(n, name + " must be true or false");
  return std::nullopt;
}

bool ConfigReader::get_string(const YAML::Node& map, const char* key, std::string& out,
                              bool required) {
  YAML::Node n = map[key];
  if (!n) {
    if (required) error(map, std::string("missing required key '") + key + "'");
    return false;
  }
  auto s = scalar(n, std::string("'") + key + "'");
  if (s) out = std::move(*s);
  return s.has_value();
}

std::optional<std::uint64_t> ConfigReader::integer_at(const YAML::Node& map, const char* key,
                                                      std::uint64_t min, std::uint64_t max,
                                                      bool required) {
  YAML::Node n = map[key];
  if (!n) {
    if (required) error(map, std::string("missing required key '") + key + "'");
    return std::nullopt;
  }
  return integer(n, std::string("'") + key + "'", min, max);
}

void ConfigReader::get_duration(const YAML::Node& map, const char* key, Millis& out, Millis min,
                                Millis max) {
  YAML::Node n = map[key];
  if (!n) return;
  if (auto d = duration(n, std::string("'") + key + "'", min, max)) out = *d;
}

void ConfigReader::get_bool(const YAML::Node& map, const char* key, bool& out) {
  YAML::Node n = map[key];
  if (!n) return;
  if (auto b = boolean(n, std::string("'") + key + "'")) out = *b;
}

std::optional<std::string> ConfigReader::get_non_empty(const YAML::Node& map, const char* key) {
  YAML::Node n = map[key];
  if (!n) return std::nullopt;
  return non_empty(n, std::string("'") + key + "'");
}

std::vector<std::pair<YAML::Node, std::string>> ConfigReader::get_strings(const YAML::Node& map,
                                                                          const char* key) {
  std::vector<std::pair<YAML::Node, std::string>> out;
  YAML::Node n = map[key];
  if (!n || !sequence(n, std::string("'") + key + "'", false, "strings")) return out;
  for (const auto& item : n) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      error(item, std::string("entries of '") + key + "' must be non-empty strings");
    } else {
      out.emplace_back(item, item.Scalar());
    }
  }
  return out;
}

}  // namespace bordergate
