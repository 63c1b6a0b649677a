// Coverage text, JSON and JUnit XML of a test run (see test_report.h).
#include "policy/test_report.h"

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "policy/model.h"

namespace bordergate::policy {
namespace {

// Keys in the order written: a person reading the document finds the summary first.
using json = nlohmann::ordered_json;

std::string where(const SourceLocation& l) { return l.file + ":" + std::to_string(l.line); }

std::string_view rule_status(const RuleCoverage& r) {
  if (r.exercised()) return "exercised";
  return r.outranked > 0 ? "outranked_only" : "never_matched";
}

std::string_view seen_text(const ConditionCoverage& c) {
  if (c.covered()) return "true_and_false";
  if (c.seen_true) return "only_true";
  if (c.seen_false) return "only_false";
  return "never_evaluated";
}

std::string required_text(double required) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", required);
  return buf;
}

// "rules 86.6% is below --min-coverage 90%" or "... meets ...".
std::string threshold_text(const CoverageThreshold& t) {
  return t.metric + " " + coverage_percent_text(t.actual) + (t.met() ? " meets " : " is below ") +
         t.option + " " + required_text(t.required);
}

std::string summary_line(const Policy& p, const PolicyCoverage& c) {
  return std::to_string(c.rules_exercised()) + " of " + std::to_string(c.rules.size()) +
         " rules exercised (" + coverage_percent_text(c.rule_percent()) + "), " +
         std::to_string(c.conditions_covered()) + " of " + std::to_string(c.conditions()) +
         " conditions covered (" + coverage_percent_text(c.condition_percent()) + "), " +
         std::to_string(c.settings_in_force()) + " of " + std::to_string(c.settings.size()) +
         " settings entries in force, default " + std::string(action_name(p.default_action)) +
         (c.default_reached > 0 ? " reached by " + std::to_string(c.default_reached) + " test(s)"
                                : " never reached");
}

json coverage_json(const Policy& p, const PolicyTestRun& run, const PolicyCoverage& c) {
  auto names = [&](const std::vector<std::uint32_t>& tests) {
    json a = json::array();
    for (std::uint32_t t : tests) a.push_back(run.results[t].test.name);
    return a;
  };
  json rules = json::array();
  for (const RuleCoverage& rc : c.rules) {
    const Rule& r = p.rules[rc.rule];
    json conditions = json::array();
    for (const ConditionCoverage& cc : rc.conditions) {
      conditions.push_back({{"condition", rule_condition_name(cc.condition)},
                            {"covered", cc.covered()},
                            {"seen", seen_text(cc)}});
    }
    rules.push_back({{"id", r.id},
                     {"file", r.location.file},
                     {"line", r.location.line},
                     {"action", action_name(r.action)},
                     {"status", rule_status(rc)},
                     {"exercised", rc.exercised()},
                     {"decided_in", names(rc.decided_in)},
                     {"reported_in", names(rc.reported_in)},
                     {"outranked_in", rc.outranked},
                     {"conditions", conditions}});
  }
  json settings = json::array();
  for (const SettingsCoverage& sc : c.settings) {
    const SettingsEntry& e = p.settings[sc.entry];
    json fields = json::array();
    for (const SettingsField& f : sc.fields) {
      fields.push_back({{"field", f.name}, {"in_force_in", f.in_force}});
    }
    settings.push_back({{"id", e.id},
                        {"file", e.location.file},
                        {"line", e.location.line},
                        {"in_force_in", sc.in_force},
                        {"fields", fields}});
  }
  return {
      {"tests", c.tests},
      {"summary",
       {{"rules", c.rules.size()},
        {"rules_exercised", c.rules_exercised()},
        {"rule_percent", c.rule_percent()},
        {"conditions", c.conditions()},
        {"conditions_covered", c.conditions_covered()},
        {"condition_percent", c.condition_percent()},
        {"settings", c.settings.size()},
        {"settings_in_force", c.settings_in_force()}}},
      {"default", {{"action", action_name(p.default_action)}, {"reached_in", c.default_reached}}},
      {"rules", rules},
      {"settings", settings}};
}

// A tests file's name without directory and extension: the JUnit classname.
std::string stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  const auto dot = s.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? s : s.substr(0, dot);
}

// A valid UTF-8 sequence of a character XML 1.0 allows starts at s[i]: its length, else 0.
std::size_t xml_char_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  // The lead byte gives the length and the first bits (0xC0, 0xC1 and above 0xF4 lead nothing).
  std::size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  if (c >= 0xE0 && c <= 0xEF) n = 3;
  if (c >= 0xF0 && c <= 0xF4) n = 4;
  if (n == 0) return 0;
  std::uint32_t cp = c & (0x7Fu >> n);
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (overlong || surrogate || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF) return 0;
  return n;
}

std::string junit_failure(std::string_view type, const std::string& message,
                          const std::string& body) {
  return "      <failure type=\"" + xml_escape(type, true) + "\" message=\"" +
         xml_escape(message, true) + "\">" + xml_escape(body, false) + "</failure>\n";
}

}  // namespace

std::string xml_escape(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = xml_char_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no valid character
        ++i;
      } else {
        out.append(s, i, n);
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";  // also keeps `]]>` out of the document
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      // In attribute values a parser folds raw whitespace to spaces, and everywhere a raw CR
      // to LF: character references keep them.
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        if (c < 0x20) {
          // XML 1.0 has no way to carry other control characters, not even as references.
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string coverage_text(const Policy& p, const PolicyCoverage& c,
                          const std::vector<CoverageThreshold>& thresholds) {
  std::ostringstream o;
  o << "coverage of " << c.tests << " test(s): " << summary_line(p, c) << "\n";
  for (const RuleCoverage& rc : c.rules) {
    const Rule& r = p.rules[rc.rule];
    const std::string head = where(r.location) + ": rule " + r.id + ": ";
    if (!rc.exercised()) {
      o << head
        << (rc.outranked > 0 ? "matched only where another rule outranked it (" +
                                   std::to_string(rc.outranked) + " test(s))"
                             : std::string("never matched by any test"))
        << "\n";
    }
    for (const ConditionCoverage& cc : rc.conditions) {
      if (cc.covered()) continue;
      o << head << rule_condition_name(cc.condition) << " ";
      if (cc.seen_true) {
        o << "seen only true";
      } else if (cc.seen_false) {
        o << "seen only false";
      } else {
        o << "never evaluated";
      }
      o << "\n";
    }
  }
  for (const SettingsCoverage& sc : c.settings) {
    const SettingsEntry& e = p.settings[sc.entry];
    const std::string head = where(e.location) + ": settings " + e.id + ": ";
    if (sc.in_force == 0) {
      o << head << "never in force\n";
      continue;
    }
    for (const SettingsField& f : sc.fields) {
      if (f.in_force == 0) o << head << f.name << " never in force\n";
    }
  }
  for (const CoverageThreshold& t : thresholds) {
    o << (t.met() ? "PASS" : "FAIL") << " coverage: " << threshold_text(t) << "\n";
  }
  return o.str();
}

std::string test_report_json(const TestReport& r) {
  json tests = json::array();
  for (const PolicyTestResult& t : r.run.results) {
    json expected = {{"action", t.test.expect_action}};
    if (t.test.expect_rule) expected["rule"] = *t.test.expect_rule;
    if (t.test.expect_reason) expected["reason"] = *t.test.expect_reason;
    json actual = nullptr;
    if (t.facts) {
      actual = {{"action", action_name(t.decision.action)},
                {"rule", t.decision.rule_id},
                {"reason", t.decision.reason}};
    }
    tests.push_back({{"name", t.test.name},
                     {"line", t.test.line},
                     {"passed", t.passed},
                     {"expected", expected},
                     {"actual", actual},
                     {"failure", t.passed ? json(nullptr) : json(t.failure)},
                     {"explanation", t.explanation.empty() ? json(nullptr) : json(t.explanation)}});
  }
  json j = {{"policy", r.policy.source},
            {"tests_file", r.tests_file},
            {"summary",
             {{"tests", r.run.results.size()}, {"passed", r.run.passed}, {"failed", r.run.failed}}},
            {"tests", tests}};
  if (r.coverage) j["coverage"] = coverage_json(r.policy, r.run, *r.coverage);
  json thresholds = json::array();
  for (const CoverageThreshold& t : r.thresholds) {
    thresholds.push_back({{"option", t.option},
                          {"metric", t.metric},
                          {"required", t.required},
                          {"actual", t.actual},
                          {"met", t.met()}});
  }
  j["thresholds"] = thresholds;
  // Replace, not throw, on bytes that are not UTF-8: a tests file may hold anything.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string test_report_junit(const TestReport& r) {
  const std::string classname = stem(r.tests_file);
  int threshold_failures = 0;
  for (const CoverageThreshold& t : r.thresholds) threshold_failures += t.met() ? 0 : 1;
  const std::size_t total = r.run.results.size() + r.thresholds.size();
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<testsuites name=\"bordergate policy test\" tests=\"" << total << "\" failures=\""
    << r.run.failed + threshold_failures << "\" errors=\"0\">\n"
    << "  <testsuite name=\"" << xml_escape(r.tests_file, true) << "\" tests=\""
    << r.run.results.size() << "\" failures=\"" << r.run.failed
    << "\" errors=\"0\" skipped=\"0\">\n"
    << "    <properties>\n"
    << "      <property name=\"policy\" value=\"" << xml_escape(r.policy.source, true) << "\"/>\n";
  if (r.coverage) {
    const PolicyCoverage& c = *r.coverage;
    o << "      <property name=\"coverage.rules\" value=\""
      << coverage_percent_text(c.rule_percent()) << "\"/>\n"
      << "      <property name=\"coverage.conditions\" value=\""
      << coverage_percent_text(c.condition_percent()) << "\"/>\n";
  }
  o << "    </properties>\n";
  for (const PolicyTestResult& t : r.run.results) {
    o << "    <testcase name=\"" << xml_escape(t.test.name, true) << "\" classname=\""
      << xml_escape(classname, true) << "\" file=\"" << xml_escape(r.tests_file, true) << "\"";
    if (t.passed) {
      o << "/>\n";
      continue;
    }
    const std::string message = "line " + std::to_string(t.test.line) + ": " + t.failure;
    o << ">\n"
      << junit_failure(t.facts ? "wrong_decision" : "bad_request", message,
                       message + "\n" + t.explanation)
      << "    </testcase>\n";
  }
  if (r.coverage) {
    o << "    <system-out>" << xml_escape(coverage_text(r.policy, *r.coverage, r.thresholds), false)
      << "</system-out>\n";
  }
  o << "  </testsuite>\n";
  if (!r.thresholds.empty()) {
    o << "  <testsuite name=\"coverage\" tests=\"" << r.thresholds.size() << "\" failures=\""
      << threshold_failures << "\" errors=\"0\" skipped=\"0\">\n";
    for (const CoverageThreshold& t : r.thresholds) {
      o << "    <testcase name=\""
        << xml_escape(t.metric + " coverage " + t.option + " " + required_text(t.required), true)
        << "\" classname=\"coverage\"";
      if (t.met()) {
        o << "/>\n";
        continue;
      }
      const std::string message = threshold_text(t);
      o << ">\n"
        << junit_failure("coverage_below_threshold", message,
                         r.coverage ? coverage_text(r.policy, *r.coverage, {}) : message)
        << "    </testcase>\n";
    }
    o << "  </testsuite>\n";
  }
  o << "</testsuites>\n";
  return o.str();
}

}  // namespace bordergate::policy
