// ConfigReader on its own: a mapping of known keys given once, lists, required keys and strings.
// Every mistake comes back with file:line:column, all of them in one pass.
#include "gateway/config/config_reader.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace bordergate {
namespace {

// "line:column: message" of every error the reader collected.
std::vector<std::string> reported(ConfigReader& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors()) {
    EXPECT_EQ(e.file, "/etc/bg/test.yaml");
    out.push_back(std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message);
  }
  return out;
}

struct MapCase {
  const char* name;
  const char* yaml;
  bool is_map;
  std::vector<std::string> errors;
};

TEST(ConfigReader, CheckMapReportsEveryKeyMistake) {
  const MapCase cases[] = {
      {"known keys, each once", "host: a\nport: 1\n", true, {}},
      {"an unknown key",
       "host: a\nhots: b\n",
       true,
       {"2:1: unknown key 'hots' in upstream (expected one of: host, port)"}},
      {"a key given twice",
       "port: 1\nhost: a\nport: 2\n",
       true,
       {"3:1: duplicate key 'port' in upstream"}},
      {"a list where a mapping belongs",
       "- host\n- port\n",
       false,
       {"1:1: upstream must be a mapping"}},
      {"a scalar where a mapping belongs", "8008\n", false, {"1:1: upstream must be a mapping"}},
      {"a key that is no string",
       "host: a\n[x]: 1\n",
       true,
       {"2:1: keys in upstream must be strings"}},
      {"every mistake at once, in document order",
       "hots: a\nport: 1\nport: 2\nbogus: 3\n{a: 1}: 4\n",
       true,
       {"1:1: unknown key 'hots' in upstream (expected one of: host, port)",
        "3:1: duplicate key 'port' in upstream",
        "4:1: unknown key 'bogus' in upstream (expected one of: host, port)",
        "5:1: keys in upstream must be strings"}},
      {"a flow mapping",
       "{host: a, prot: 1, host: b}",
       true,
       {"1:11: unknown key 'prot' in upstream (expected one of: host, port)",
        "1:20: duplicate key 'host' in upstream"}},
  };
  for (const MapCase& c : cases) {
    SCOPED_TRACE(c.name);
    ConfigReader r("/etc/bg/test.yaml");
    EXPECT_EQ(r.check_map(YAML::Load(c.yaml), "upstream", {"host", "port"}), c.is_map);
    EXPECT_EQ(reported(r), c.errors);
  }
}

TEST(ConfigReader, NestedMappingsAreCheckedByTheirReaders) {
  ConfigReader r("/etc/bg/test.yaml");
  const YAML::Node root = YAML::Load("upstream:\n  hots: a\n  tls: {enabeld: true}\n");
  ASSERT_TRUE(r.check_map(root, "the configuration", {"upstream"}));
  ASSERT_TRUE(r.check_map(root["upstream"], "upstream", {"host", "tls"}));
  ASSERT_TRUE(r.check_map(root["upstream"]["tls"], "upstream tls", {"enabled"}));
  EXPECT_EQ(reported(r),
            (std::vector<std::string>{
                "2:3: unknown key 'hots' in upstream (expected one of: host, tls)",
                "3:9: unknown key 'enabeld' in upstream tls (expected one of: enabled)",
            }));
}

TEST(ConfigReader, RequiredKeysAndLists) {
  ConfigReader r("/etc/bg/test.yaml");
  const YAML::Node root = YAML::Load("listeners:\n  federation: []\nnames: x\nok: [a]\n");
  EXPECT_TRUE(r.required(root, "listeners"));
  EXPECT_FALSE(r.required(root, "upstream"));
  EXPECT_FALSE(r.required(root["listeners"], "tls", "listeners always terminate TLS"));
  EXPECT_FALSE(r.sequence(root["listeners"]["federation"], "'federation'", true, "listeners"));
  EXPECT_TRUE(r.sequence(root["listeners"]["federation"], "'federation'", false));
  EXPECT_FALSE(r.sequence(root["names"], "'names'", false));
  EXPECT_TRUE(r.sequence(root["ok"], "'ok'", true));
  EXPECT_EQ(reported(r), (std::vector<std::string>{
                             "1:1: missing required key 'upstream'",
                             "2:3: missing required key 'tls' (listeners always terminate TLS)",
                             "2:15: 'federation' must be a non-empty list of listeners",
                             "3:8: 'names' must be a list",
                         }));
}

TEST(ConfigReader, Strings) {
  ConfigReader r("/etc/bg/test.yaml");
  const YAML::Node root =
      YAML::Load("ca: ''\nname: a.example\nlist: [a, '', [b], c]\nnot_a_list: a\n");
  EXPECT_EQ(r.get_non_empty(root, "absent"), std::nullopt);
  EXPECT_EQ(r.get_non_empty(root, "ca"), std::nullopt);
  EXPECT_EQ(r.get_non_empty(root, "name"), "a.example");
  const auto list = r.get_strings(root, "list");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].second, "a");
  EXPECT_EQ(list[1].second, "c");
  EXPECT_EQ(list[1].first.Mark().column + 1, 20);
  EXPECT_TRUE(r.get_strings(root, "not_a_list").empty());
  EXPECT_EQ(reported(r), (std::vector<std::string>{
                             "1:5: 'ca' must be a non-empty string",
                             "3:11: entries of 'list' must be non-empty strings",
                             "3:15: entries of 'list' must be non-empty strings",
                             "4:13: 'not_a_list' must be a list of strings",
                         }));
}

}  // namespace
}  // namespace bordergate
