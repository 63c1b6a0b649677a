// Typed reads of YAML configuration nodes that collect every error with its file:line:column
// instead of stopping at the first. Every section of the configuration (config_loader.cc,
// discovery_config.cc, outbound_config.cc) reads its values through one ConfigReader.
#pragma once

#include <yaml-cpp/node/node.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/config/config_loader.h"

namespace YAML {
struct Mark;
}

namespace bordergate {

class ConfigReader {
 public:
  using Millis = std::chrono::milliseconds;

  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  std::vector<ConfigError>& errors() { return errors_; }
  std::size_t error_count() const { return errors_.size(); }

  // An error at `at`'s position (line 0 when the node has none: a key that is missing).
  void error(const YAML::Node& at, const std::string& message);
  void error(const YAML::Mark& at, const std::string& message);
  // "file:line:col" of `n`, for errors found later (certificates are read at runtime build).
  std::string where(const YAML::Node& n) const;

  // A mapping of known keys, each given once (the rule of gateway/common/yaml_mapping.h, which
  // the policy loader applies too): every unknown or repeated key is an error ("unknown key 'k'
  // in WHAT (expected one of: ...)"); false when `node` is not a mapping ("WHAT must be a
  // mapping").
  bool check_map(const YAML::Node& node, const std::string& what,
                 std::initializer_list<std::string_view> allowed);

  // `map[key]`, or a null node after reporting "missing required key 'key'" (and `why`, when
  // given: " (federation listeners always terminate TLS)") at the map.
  YAML::Node required(const YAML::Node& map, const char* key, std::string_view why = {});
  // "NAME must be a list", "... a non-empty list", "... a list of OF" when `n` is not one.
  bool sequence(const YAML::Node& n, const std::string& name, bool non_empty,
                std::string_view of = {});

  // Values. `name` is how a message names the value ("'port'", "outbound.listen.port"); every
  // message reads "NAME must ...". Each returns nullopt after reporting a wrong value.
  std::optional<std::string> scalar(const YAML::Node& n, const std::string& name);
  std::optional<std::string> non_empty(const YAML::Node& n, const std::string& name);
  std::optional<std::uint64_t> integer(const YAML::Node& n, const std::string& name,
                                       std::uint64_t min, std::uint64_t max);
  std::optional<Millis> duration(const YAML::Node& n, const std::string& name, Millis min,
                                 Millis max);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& name);

  // The same for `map[key]`, named "'key'": absent keys leave `out` alone (or, when required,
  // are reported at the map as "missing required key 'key'").
  bool get_string(const YAML::Node& map, const char* key, std::string& out, bool required);
  template <class Int>
  void get_uint(const YAML::Node& map, const char* key, Int& out, std::uint64_t min,
                std::uint64_t max, bool required = false) {
    if (auto v = integer_at(map, key, min, max, required)) out = static_cast<Int>(*v);
  }
  void get_duration(const YAML::Node& map, const char* key, Millis& out, Millis min, Millis max);
  void get_bool(const YAML::Node& map, const char* key, bool& out);
  // `map[key]` as a non-empty string, when present.
  std::optional<std::string> get_non_empty(const YAML::Node& map, const char* key);
  // `map[key]` as a list of non-empty strings, each with its node (for errors found later).
  std::vector<std::pair<YAML::Node, std::string>> get_strings(const YAML::Node& map,
                                                              const char* key);

 private:
  std::optional<std::uint64_t> integer_at(const YAML::Node& map, const char* key, std::uint64_t min,
                                          std::uint64_t max, bool required);

  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace bordergate
