// The key rule of a YAML mapping, shared by the configuration and the policy loader: every
// problem comes back, in document order, with the position of the node it concerns.
#include "gateway/common/yaml_mapping.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace bordergate {
namespace {

using Kind = MappingProblem::Kind;

struct Expected {
  Kind kind;
  int line;  // 1-based, as messages print them
  int column;
  const char* key;
};

struct Case {
  const char* name;
  const char* yaml;
  std::vector<Expected> problems;
};

TEST(YamlMapping, EveryProblemWithItsPosition) {
  const Case cases[] = {
      {"known keys, each once", "a: 1\nb: 2\n", {}},
      {"an empty mapping", "{}", {}},
      {"an unknown key", "a: 1\nc: 2\n", {{Kind::unknown_key, 2, 1, "c"}}},
      {"a key given twice", "a: 1\nb: 2\na: 3\n", {{Kind::duplicate_key, 3, 1, "a"}}},
      {"a list", "- a\n- b\n", {{Kind::not_a_mapping, 1, 1, ""}}},
      {"a scalar", "just text\n", {{Kind::not_a_mapping, 1, 1, ""}}},
      {"values are the reader's business", "a: {zz: 1}\nb: [zz]\n", {}},
      {"a key that is no string", "? [a]\n: 1\n", {{Kind::key_not_a_string, 1, 3, ""}}},
      {"every problem, in document order",
       "zz: 1\na: 2\nzz: 3\nb: 4\nb: 5\n{x: 1}: 6\n",
       {{Kind::unknown_key, 1, 1, "zz"},
        {Kind::unknown_key, 3, 1, "zz"},
        {Kind::duplicate_key, 3, 1, "zz"},
        {Kind::duplicate_key, 5, 1, "b"},
        {Kind::key_not_a_string, 6, 1, ""}}},
      {"a flow mapping",
       "{a: 1, q: 2, a: 3}",
       {{Kind::unknown_key, 1, 8, "q"}, {Kind::duplicate_key, 1, 14, "a"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto problems = mapping_problems(YAML::Load(c.yaml), {"a", "b"});
    ASSERT_EQ(problems.size(), c.problems.size());
    for (std::size_t i = 0; i < problems.size(); ++i) {
      EXPECT_EQ(problems[i].kind, c.problems[i].kind) << i;
      EXPECT_EQ(problems[i].mark.line + 1, c.problems[i].line) << i;
      EXPECT_EQ(problems[i].mark.column + 1, c.problems[i].column) << i;
      EXPECT_EQ(problems[i].key, c.problems[i].key) << i;
    }
  }
}

TEST(YamlMapping, NothingIsAllowedInAnEmptyList) {
  const auto problems = mapping_problems(YAML::Load("a: 1\n"), {});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].kind, Kind::unknown_key);
}

TEST(YamlMapping, KeyListAsMessagesPrintIt) {
  EXPECT_EQ(key_list({}), "");
  EXPECT_EQ(key_list({"a"}), "a");
  EXPECT_EQ(key_list({"a", "b", "c"}), "a, b, c");
}

}  // namespace
}  // namespace bordergate
