// `policy test`: a table of requests with the decisions they must get (like `opa test`),
// plus the helpers that turn a short request description (CLI flags or a YAML mapping)
// into RequestFacts.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "policy/decision.h"
#include "policy/facts.h"
#include "policy/policy.h"

namespace bordergate::policy {

// A request as a reviewer writes it. `room` and `user` fill the path parameters when the
// endpoint has them and become the room / sender of every PDU and EDU listed by type.
struct RequestSketch {
  std::string direction = "inbound";
  std::optional<std::string> origin;  // absent = unknown origin
  std::string destination;
  std::string endpoint;
  std::string room;
  std::string user;
  std::string invite_sender;
  std::string invite_target;
  std::vector<std::string> event_types;
  std::vector<std::string> edu_types;
  std::uint64_t body_bytes = 0;
  std::optional<std::uint64_t> media_size;
  std::string media_type;
  // The servers joined to `room` as the gateway would know them (room_members_outside_federations);
  // absent = the room's membership is unknown.
  std::optional<std::vector<std::string>> room_servers;
};
Result<RequestFacts> facts_from_sketch(const RequestSketch& sketch, const Policy& policy);

struct PolicyTestCase {
  std::string name;
  int line = 0;
  RequestSketch request;
  std::string expect_action;
  std::optional<std::string> expect_rule;
  std::optional<std::string> expect_reason;
};
Result<std::vector<PolicyTestCase>> load_policy_tests(const std::string& path);

// One test case's outcome, kept whole for the machine-readable reports and for coverage.
struct PolicyTestResult {
  PolicyTestCase test;
  bool passed = false;
  // Empty when passed; else "got action deny (expected allow) ..." or "bad request: ...".
  std::string failure;
  std::string explanation;            // explain_text() of the decision, for failures
  std::optional<RequestFacts> facts;  // absent when the request could not be built
  Decision decision;                  // evaluate(policy, *facts) when facts are present
};

struct PolicyTestRun {
  int passed = 0;
  int failed = 0;
  std::vector<PolicyTestResult> results;  // in the order of the tests file
  std::string output;  // one line per test, each failure with its full explanation
};
PolicyTestRun run_policy_tests(const Policy& policy, const std::vector<PolicyTestCase>& tests);

}  // namespace bordergate::policy
