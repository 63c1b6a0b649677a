#include "gateway/common/yaml_mapping.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace bordergate {

std::vector<MappingProblem> mapping_problems(const YAML::Node& node,
                                             std::initializer_list<std::string_view> allowed) {
  using Kind = MappingProblem::Kind;
  if (!node.IsMap()) return {{Kind::not_a_mapping, node.Mark(), {}}};
  std::vector<MappingProblem> out;
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: it->first lives in a temporary
    if (!key.IsScalar()) {
      out.push_back({Kind::key_not_a_string, key.Mark(), {}});
      continue;
    }
    const std::string& k = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      out.push_back({Kind::unknown_key, key.Mark(), k});
    }
    if (!seen.insert(k).second) out.push_back({Kind::duplicate_key, key.Mark(), k});
  }
  return out;
}

std::string key_list(std::initializer_list<std::string_view> allowed) {
  std::string out;
  for (std::string_view a : allowed) out += (out.empty() ? "" : ", ") + std::string(a);
  return out;
}

}  // namespace bordergate
