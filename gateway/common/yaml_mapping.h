// The one rule every YAML file of the gateway (the configuration and the policy) applies to a
// mapping: it is a mapping, its keys are strings the reader knows, and each key is given once.
// Each reader words the problems in its own voice; the rule itself is written once, here.
#pragma once

#include <yaml-cpp/mark.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace bordergate {

struct MappingProblem {
  enum class Kind { not_a_mapping, key_not_a_string, unknown_key, duplicate_key };
  Kind kind;
  YAML::Mark mark;  // the node itself (not_a_mapping) or the offending key
  std::string key;  // empty for not_a_mapping and key_not_a_string
};

// Every problem of `node`, in document order; none when it is a mapping of known keys given once.
// A repeated key must be reported: yaml-cpp keeps the first value and drops the second silently.
std::vector<MappingProblem> mapping_problems(const YAML::Node& node,
                                             std::initializer_list<std::string_view> allowed);

// "a, b, c": the allowed keys as a message lists them.
std::string key_list(std::initializer_list<std::string_view> allowed);

}  // namespace bordergate
