// The machine-readable outputs CI systems read: `policy test` as JSON and JUnit XML (with
// coverage and thresholds), `policy check` and `policy diff` as JSON. Names and messages come
// from files a reviewer writes; whatever they hold, the documents stay well-formed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "policy/check_report.h"
#include "policy/coverage.h"
#include "policy/diff.h"
#include "policy/test_report.h"
#include "policy/test_suite.h"
#include "test_util.h"

namespace bordergate::policy {
namespace {

using nlohmann::json;

struct EscapeCase {
  std::string input;
  bool attribute;
  std::string expected;
};

void PrintTo(const EscapeCase& c, std::ostream* os) {
  *os << ::testing::PrintToString(c.input) << (c.attribute ? " (attribute)" : " (text)");
}

class XmlEscape : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(XmlEscape, Escapes) {
  EXPECT_EQ(xml_escape(GetParam().input, GetParam().attribute), GetParam().expected);
}

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

INSTANTIATE_TEST_SUITE_P(
    Table, XmlEscape,
    ::testing::Values(EscapeCase{"plain text", true, "plain text"},
                      EscapeCase{"a<b>&\"c'", true, "a&lt;b&gt;&amp;&quot;c&apos;"},
                      EscapeCase{"x]]>y", false, "x]]&gt;y"},
                      EscapeCase{"tab\tline\nCR\r", true, "tab&#9;line&#10;CR&#13;"},
                      EscapeCase{"tab\tline\nCR\r", false, "tab\tline\nCR&#13;"},
                      EscapeCase{std::string("nul\0bell\x07"
                                             "esc\x1b",
                                             13),
                                 true, "nul\\x00bell\\x07esc\\x1b"},
                      EscapeCase{"Gr\xC3\xBC\xC3\x9F"
                                 "e \xE2\x82\xAC \xF0\x9F\x98\x80",
                                 true,
                                 "Gr\xC3\xBC\xC3\x9F"
                                 "e \xE2\x82\xAC \xF0\x9F\x98\x80"},  // valid UTF-8 kept
                      EscapeCase{"bad \xFF byte", true, "bad " + kReplacement + " byte"},
                      EscapeCase{"cut \xE2\x82", true, "cut " + kReplacement + kReplacement},
                      EscapeCase{"overlong \xC0\xAF", true,
                                 "overlong " + kReplacement + kReplacement},
                      EscapeCase{"surrogate \xED\xA0\x80", true,
                                 "surrogate " + kReplacement + kReplacement + kReplacement},
                      EscapeCase{"not a character \xEF\xBF\xBE", true,
                                 "not a character " + kReplacement + kReplacement + kReplacement}));

const std::string kPolicy =
    "version: 1\nserver_name: core.example\ndefault: deny\n"
    "federations: {p: {servers: [p.example]}}\nrules:\n"
    "  - {id: base, federation: p, action: allow}\n"
    "  - {id: no-dir, federation: p, endpoints: [\"@directory\"], action: deny}\n"
    "  - {id: unused, peer: any, endpoints: [invite], action: deny}\n";

// A name with everything XML and JSON must escape, plus bytes that are no UTF-8 at all.
const std::string kHostile =
    std::string("<b>&amp; \"quoted\" 'single' ]]> ctl\x01\x1b\x7f tab\t nl\n end ") + "\xFF";

PolicyTestCase test_case(std::string name, std::string origin, std::string endpoint,
                         std::string action) {
  PolicyTestCase t;
  t.name = std::move(name);
  t.line = 7;
  t.request.origin = std::move(origin);
  t.request.endpoint = std::move(endpoint);
  t.expect_action = std::move(action);
  return t;
}

struct Fixture {
  std::shared_ptr<const Policy> policy = testing::must_load(kPolicy);
  PolicyTestRun run = run_policy_tests(
      *policy, {test_case("sends", "p.example", "send", "allow"),
                test_case(kHostile, "p.example", "publicRooms", "allow"),  // fails: deny
                test_case("bad endpoint", "p.example", "nope", "allow")});
  PolicyCoverage coverage = policy_coverage(*policy, run);
};

// No byte XML 1.0 forbids: control characters other than tab, LF, CR; no `]]>`.
void expect_xml_chars(const std::string& xml) {
  for (char ch : xml) {
    const auto c = static_cast<unsigned char>(ch);
    EXPECT_FALSE(c < 0x20 && c != '\t' && c != '\n' && c != '\r') << "control byte " << int(c);
  }
  EXPECT_EQ(xml.find("]]>"), std::string::npos);
}

TEST(TestReportJunit, StructureCountsAndEscaping) {
  Fixture f;
  ASSERT_EQ(f.run.failed, 2);
  const auto thresholds = coverage_thresholds(f.coverage, 90.0, std::nullopt);
  const std::string xml =
      test_report_junit({*f.policy, "tests/p-tests.yaml", f.run, &f.coverage, thresholds});
  expect_xml_chars(xml);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 0), 0u) << xml;
  // 3 tests + 1 threshold; 2 failed tests + 1 threshold missed (2 of 3 rules = 66.6% < 90%).
  EXPECT_NE(xml.find("<testsuites name=\"bordergate policy test\" tests=\"4\" failures=\"3\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"tests/p-tests.yaml\" tests=\"3\" failures=\"2\""),
            std::string::npos)
      << xml;
  EXPECT_NE(
      xml.find("<testcase name=\"sends\" classname=\"p-tests\" file=\"tests/p-tests.yaml\"/>"),
      std::string::npos)
      << xml;
  const std::string escaped =
      "&lt;b&gt;&amp;amp; &quot;quoted&quot; &apos;single&apos; ]]&gt; ctl\\x01\\x1b\x7f "
      "tab&#9; nl&#10; end \xEF\xBF\xBD";
  EXPECT_NE(xml.find("<testcase name=\"" + escaped + "\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure type=\"wrong_decision\" message=\"line 7: got action deny "
                     "(expected allow)\">"),
            std::string::npos)
      << xml;
  // The failure body is the explanation.
  EXPECT_NE(xml.find("Decision: DENY (rule no-dir, reason denied_by_rule)\n"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure type=\"bad_request\" message=\"line 7: bad request: no endpoint "
                     "`nope` in the catalogue\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<property name=\"coverage.rules\" value=\"66.6%\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"coverage\" tests=\"1\" failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("message=\"rules 66.6% is below --min-coverage 90%\""), std::string::npos)
      << xml;
  EXPECT_TRUE(xml.ends_with("  </testsuite>\n</testsuites>\n")) << xml;
}

TEST(TestReportJunit, WithoutCoverageNoCoverageSuite) {
  Fixture f;
  const std::string xml = test_report_junit({*f.policy, "t.yaml", f.run, nullptr, {}});
  EXPECT_EQ(xml.find("coverage"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<system-out>"), std::string::npos);
}

TEST(TestReportJson, TestsCoverageAndThresholds) {
  Fixture f;
  const auto thresholds = coverage_thresholds(f.coverage, 50.0, 100.0);
  const std::string text = test_report_json({*f.policy, "t.yaml", f.run, &f.coverage, thresholds});
  const json j = json::parse(text);  // throws on invalid JSON
  EXPECT_EQ(j["policy"], "test.yaml");
  EXPECT_EQ(j["tests_file"], "t.yaml");
  EXPECT_EQ(j["summary"]["tests"], 3);
  EXPECT_EQ(j["summary"]["passed"], 1);
  EXPECT_EQ(j["summary"]["failed"], 2);
  ASSERT_EQ(j["tests"].size(), 3u);
  EXPECT_EQ(j["tests"][0]["passed"], true);
  EXPECT_TRUE(j["tests"][0]["failure"].is_null());
  // The hostile name comes back byte for byte, except the invalid byte (U+FFFD).
  std::string name = kHostile;
  name.replace(name.size() - 1, 1, "\xEF\xBF\xBD");
  EXPECT_EQ(j["tests"][1]["name"], name);
  EXPECT_EQ(j["tests"][1]["expected"]["action"], "allow");
  EXPECT_EQ(j["tests"][1]["actual"]["action"], "deny");
  EXPECT_EQ(j["tests"][1]["actual"]["rule"], "no-dir");
  EXPECT_NE(j["tests"][1]["explanation"].get<std::string>().find("Decision: DENY"),
            std::string::npos);
  EXPECT_TRUE(j["tests"][2]["actual"].is_null());
  EXPECT_EQ(j["tests"][2]["failure"], "bad request: no endpoint `nope` in the catalogue");

  const json& c = j["coverage"];
  EXPECT_EQ(c["tests"], 2);
  EXPECT_EQ(c["summary"]["rules"], 3);
  EXPECT_EQ(c["summary"]["rules_exercised"], 2);
  ASSERT_EQ(c["rules"].size(), 3u);
  EXPECT_EQ(c["rules"][1]["id"], "no-dir");
  EXPECT_EQ(c["rules"][1]["line"], 7);
  EXPECT_EQ(c["rules"][1]["decided_in"][0], name);
  EXPECT_EQ(c["rules"][2]["status"], "never_matched");
  EXPECT_EQ(c["rules"][2]["conditions"][1]["condition"], "endpoints");
  EXPECT_EQ(c["rules"][2]["conditions"][1]["seen"], "only_false");
  EXPECT_EQ(c["default"]["action"], "deny");

  ASSERT_EQ(j["thresholds"].size(), 2u);
  EXPECT_EQ(j["thresholds"][0]["met"], true);
  EXPECT_EQ(j["thresholds"][1]["option"], "--min-condition-coverage");
  EXPECT_EQ(j["thresholds"][1]["met"], false);

  const json plain = json::parse(test_report_json({*f.policy, "t.yaml", f.run, nullptr, {}}));
  EXPECT_FALSE(plain.contains("coverage"));
  EXPECT_TRUE(plain["thresholds"].empty());
}

TEST(CoverageText, FileLineFindingsAndThresholds) {
  Fixture f;
  const std::string text =
      coverage_text(*f.policy, f.coverage, coverage_thresholds(f.coverage, 60.0, 90.0));
  EXPECT_EQ(text.rfind("coverage of 2 test(s): 2 of 3 rules exercised (66.6%), ", 0), 0u) << text;
  EXPECT_NE(text.find("test.yaml:8: rule unused: never matched by any test\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("test.yaml:8: rule unused: endpoints seen only false\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("test.yaml:6: rule base: peer seen only true\n"), std::string::npos) << text;
  EXPECT_NE(text.find("PASS coverage: rules 66.6% meets --min-coverage 60%\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("FAIL coverage: conditions "), std::string::npos) << text;
}

TEST(CheckJson, DiagnosticsWithPositions) {
  const LoadOutput bad = load_policy_text(
      "version: 1\nserver_name: core.example\nrules:\n"
      "  - id: r\n    peer: any\n    action: allow\n    endpoints: [sendd]\n    colour: blue\n",
      "broken.yaml");
  const json j = json::parse(check_json("broken.yaml", bad, "ab12"));
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["sha256"], "ab12");  // a file that was read has a digest, valid or not
  EXPECT_EQ(j["errors"], 2);
  EXPECT_TRUE(j["rules"].is_null());
  ASSERT_EQ(j["diagnostics"].size(), 2u);
  EXPECT_EQ(j["diagnostics"][0]["file"], "broken.yaml");
  EXPECT_EQ(j["diagnostics"][0]["line"], 7);
  EXPECT_EQ(j["diagnostics"][0]["column"], 17);
  EXPECT_EQ(j["diagnostics"][0]["severity"], "error");
  EXPECT_EQ(j["diagnostics"][0]["code"], "unknown_endpoint");

  const LoadOutput good = load_policy_text(kPolicy, "good.yaml");
  const json g = json::parse(check_json("good.yaml", good, ""));
  EXPECT_EQ(g["valid"], true);
  EXPECT_EQ(g["rules"], 3);
  EXPECT_EQ(g["federations"], 1);
  EXPECT_TRUE(g["sha256"].is_null());  // not read from a file
  EXPECT_EQ(check_text("good.yaml", good, "").find("good.yaml: 0 error(s)"), 0u);
  EXPECT_NE(check_text("good.yaml", good, "ab12").find("\nsha256 ab12\n"), std::string::npos);
}

TEST(DiffJson, SameChangesAsTheText) {
  const std::string base =
      "version: 1\nserver_name: core.example\n"
      "federations: {p: {servers: [p.example]}}\nrules:\n";
  auto a = testing::must_load(
      base + "  - {id: r, federation: p, endpoints: [send, publicRooms], action: allow}\n");
  auto b = testing::must_load(base +
                              "  - {id: r, federation: p, endpoints: [send, media.download], "
                              "action: allow}\n  - {id: new.rule, federation: p, endpoints: "
                              "[invite], action: deny}\ndefault: allow\n");
  const PolicyDiff d = diff_policies(*a, *b);
  const json j = json::parse(diff_json(d));
  EXPECT_EQ(j["identical"], false);
  EXPECT_EQ(j["summary"]["gained"], d.gained);
  EXPECT_EQ(j["summary"]["lost"], d.lost);
  EXPECT_EQ(j["summary"]["changed"], d.changed);
  EXPECT_EQ(j["default_action"]["old"], "deny");
  EXPECT_EQ(j["default_action"]["new"], "allow");
  int lines = 0;
  bool seen_gain = false;
  for (const json& peer : j["peers"]) {
    for (const json& c : peer["changes"]) {
      ++lines;
      const std::string mark = c["change"] == "gained" ? "+ gained"
                               : c["change"] == "lost" ? "- lost  "
                                                       : "~ changed";
      const std::string line = "  " + mark + "  " + c["what"].get<std::string>() + ": " +
                               c["old"].get<std::string>() + " -> " + c["new"].get<std::string>();
      EXPECT_NE(d.text.find(line + "\n"), std::string::npos) << line << "\n" << d.text;
      if (peer["server"] == "p.example" && c["what"] == "inbound media.download") {
        seen_gain = true;
        EXPECT_EQ(c["change"], "gained");
        EXPECT_EQ(c["old_action"], "deny");
        EXPECT_EQ(c["new_action"], "allow");
        EXPECT_EQ(c["new_rule"], "r");
      }
    }
  }
  EXPECT_TRUE(seen_gain) << d.text;
  EXPECT_GT(lines, 0);
  ASSERT_EQ(j["rules"].size(), 2u);
  EXPECT_EQ(j["rules"][0]["change"], "changed");
  EXPECT_EQ(j["rules"][1]["change"], "added");
  EXPECT_EQ(j["rules"][1]["rule"], "new.rule");
  EXPECT_TRUE(j["rules"][1]["old"].is_null());

  const json same = json::parse(diff_json(diff_policies(*a, *a)));
  EXPECT_EQ(same["identical"], true);
  EXPECT_TRUE(same["peers"].empty());
  EXPECT_TRUE(same["default_action"].is_null());
}

}  // namespace
}  // namespace bordergate::policy
