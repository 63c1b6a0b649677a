// Renderings of a `policy test` run beyond its PASS/FAIL lines: the coverage section of the text
// output, and the JSON and JUnit XML documents CI systems read (docs/auditor.md). Test names and
// messages come from the tests file and can hold anything; both documents stay well-formed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/coverage.h"
#include "policy/policy.h"
#include "policy/test_suite.h"

namespace bordergate::policy {

// What one report covers: the run, and its coverage when asked for (null otherwise).
struct TestReport {
  const Policy& policy;
  std::string tests_file;
  const PolicyTestRun& run;
  const PolicyCoverage* coverage = nullptr;
  std::vector<CoverageThreshold> thresholds;
};

// The summary, the unexercised rules, uncovered conditions and unused settings entries as
// "file:line: ..." lines, then one PASS/FAIL line per threshold.
std::string coverage_text(const Policy& policy, const PolicyCoverage& coverage,
                          const std::vector<CoverageThreshold>& thresholds);

std::string test_report_json(const TestReport& report);
// testsuites > testsuite (one per tests file) > testcase, a failing test with a <failure> whose
// body is the explanation; thresholds as a second testsuite named "coverage".
std::string test_report_junit(const TestReport& report);

// Text for XML element content or (attribute) an attribute value: markup characters escaped,
// characters XML 1.0 cannot carry (control characters, invalid UTF-8) replaced (`\x01`, U+FFFD).
std::string xml_escape(std::string_view text, bool attribute);

}  // namespace bordergate::policy
