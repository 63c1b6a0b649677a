// Typed readers for the YAML nodes of a policy file. Each reader validates one value,
// records an error with its position when it is wrong, and returns what it could read,
// so the loader can keep going and report every problem in one run.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/loader.h"

namespace bordergate::policy {

class NodeReader {
 public:
  explicit NodeReader(std::string source_name) : source(std::move(source_name)) {}

  std::string source;
  std::vector<Diagnostic> diagnostics;
  int errors = 0;
  YAML::Mark current;  // the mapping being read: where "missing key" errors point

  SourceLocation loc(const YAML::Mark& m) const;
  void error(const YAML::Mark& m, std::string code, std::string message);

  bool expect_map(const YAML::Node& n, const std::string& what);
  bool expect_seq(const YAML::Node& n, const std::string& what);
  // A mapping of known keys, each given once (gateway/common/yaml_mapping.h): unknown or
  // duplicated keys are errors, a typo must never silently widen a policy. False when `n` is no
  // mapping.
  bool check_map(const YAML::Node& n, const std::string& what,
                 std::initializer_list<std::string_view> allowed);

  std::optional<std::string> string(const YAML::Node& n, const std::string& what, bool required);
  std::optional<long long> integer(const YAML::Node& n, const std::string& what);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& what);
  // Sizes: an integer number of bytes or "512KiB", "10MiB", "1GiB".
  std::optional<std::uint64_t> size(const YAML::Node& n, const std::string& what);
  std::optional<double> number(const YAML::Node& n, const std::string& what);
  // A string or a list of strings, each with its position.
  std::vector<std::pair<std::string, YAML::Mark>> string_list(const YAML::Node& n,
                                                              const std::string& what);

  DirectionMask direction(const YAML::Node& n);
  EndpointSet endpoints(const YAML::Node& n, std::vector<std::string>& source_out);
  RoomMatcher rooms(const YAML::Node& ids, const YAML::Node& creators);
  UserMatcher users(const YAML::Node& n, const std::string& what);
  TypeMatcher types(const YAML::Node& n, const std::string& what);
  void limits(const YAML::Node& n, SettingsEntry& e);
  MediaPolicy media(const YAML::Node& n);
  void checks(const YAML::Node& n, SettingsEntry& e);
};

}  // namespace bordergate::policy
