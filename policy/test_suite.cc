// The tests-file format is documented in docs/auditor.md. Like the policy loader, it
// rejects unknown keys so a misspelt expectation cannot pass silently.
#include "policy/test_suite.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "policy/evaluate.h"
#include "policy/explain.h"

namespace bordergate::policy {

Result<RequestFacts> facts_from_sketch(const RequestSketch& s, const Policy& policy) {
  RequestFacts f;
  if (s.direction == "inbound" || s.direction == "in") {
    f.direction = Direction::inbound;
  } else if (s.direction == "outbound" || s.direction == "out") {
    f.direction = Direction::outbound;
  } else {
    return make_error("bad_direction", "direction must be in|inbound or out|outbound");
  }
  auto e = endpoint_from_name(s.endpoint);
  if (!e)
    return make_error("unknown_endpoint", "no endpoint `" + s.endpoint + "` in the catalogue");
  f.endpoint = *e;
  const EndpointInfo& info = endpoint_info(*e);
  if (f.direction == Direction::inbound) {
    f.origin = s.origin;
    f.destination = s.destination.empty() ? policy.server_name : s.destination;
    if (f.origin && info.auth == EndpointAuth::x_matrix) f.x_matrix = CheckResult::passed;
  } else {
    f.origin = s.origin ? s.origin : std::optional<std::string>(policy.server_name);
    f.destination = s.destination;
  }
  if (info.room_in_path) f.room_id = s.room;
  const bool user_param = info.user_in_path || *e == FederationEndpoint::query_profile ||
                          *e == FederationEndpoint::user_keys_query ||
                          *e == FederationEndpoint::user_keys_claim;
  if (user_param) f.user_id = s.user;
  f.invite_sender = s.invite_sender;
  f.invite_target = s.invite_target;
  for (const std::string& t : s.event_types) f.pdus.push_back({t, s.room, s.user, {}, {}});
  for (const std::string& t : s.edu_types) f.edus.push_back({t, s.room, s.user, {}});
  f.body_bytes = s.body_bytes;
  if (s.media_size || !s.media_type.empty()) f.media = MediaFacts{s.media_size, s.media_type};
  f.room_servers = s.room_servers;
  return f;
}

namespace {

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else {
    for (const auto& item : n) out.push_back(item.as<std::string>());
  }
  return out;
}

void check_keys(const YAML::Node& n, const std::set<std::string>& allowed,
                const std::string& where) {
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      throw YAML::Exception(kv.first.Mark(), "unknown key `" + key + "` in " + where);
    }
  }
}

}  // namespace

Result<std::vector<PolicyTestCase>> load_policy_tests(const std::string& path) {
  std::vector<PolicyTestCase> out;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) throw YAML::Exception(root.Mark(), "a tests file is a mapping");
    check_keys(root, {"version", "tests"}, "the tests file");
    if (!root["version"] || root["version"].as<int>() != 1) {
      throw YAML::Exception(root.Mark(), "tests files need `version: 1`");
    }
    const YAML::Node tests = root["tests"];
    if (!tests || !tests.IsSequence()) throw YAML::Exception(root.Mark(), "`tests` must be a list");
    for (const YAML::Node& t : tests) {
      if (!t.IsMap()) throw YAML::Exception(t.Mark(), "each test is a mapping");
      check_keys(t, {"name", "request", "expect"}, "a test");
      PolicyTestCase c;
      c.line = t.Mark().line + 1;
      c.name = t["name"].as<std::string>();
      const YAML::Node r = t["request"];
      const YAML::Node x = t["expect"];
      if (!r || !r.IsMap() || !x || !x.IsMap()) {
        throw YAML::Exception(t.Mark(),
                              "test `" + c.name + "` needs `request` and `expect` mappings");
      }
      check_keys(r,
                 {"direction", "origin", "destination", "endpoint", "room", "user", "invite_sender",
                  "invite_target", "event_types", "edu_types", "body_bytes", "media_size",
                  "media_type", "room_servers"},
                 "request of test `" + c.name + "`");
      check_keys(x, {"action", "rule", "reason"}, "expect of test `" + c.name + "`");
      RequestSketch& s = c.request;
      if (r["direction"]) s.direction = r["direction"].as<std::string>();
      if (r["origin"] && !r["origin"].IsNull()) s.origin = r["origin"].as<std::string>();
      if (r["destination"]) s.destination = r["destination"].as<std::string>();
      if (!r["endpoint"])
        throw YAML::Exception(r.Mark(), "test `" + c.name + "` needs an endpoint");
      s.endpoint = r["endpoint"].as<std::string>();
      if (r["room"]) s.room = r["room"].as<std::string>();
      if (r["user"]) s.user = r["user"].as<std::string>();
      if (r["invite_sender"]) s.invite_sender = r["invite_sender"].as<std::string>();
      if (r["invite_target"]) s.invite_target = r["invite_target"].as<std::string>();
      if (r["event_types"]) s.event_types = strings(r["event_types"]);
      if (r["edu_types"]) s.edu_types = strings(r["edu_types"]);
      if (r["body_bytes"]) s.body_bytes = r["body_bytes"].as<std::uint64_t>();
      if (r["media_size"]) s.media_size = r["media_size"].as<std::uint64_t>();
      if (r["media_type"]) s.media_type = r["media_type"].as<std::string>();
      if (r["room_servers"]) s.room_servers = strings(r["room_servers"]);
      if (!x["action"])
        throw YAML::Exception(x.Mark(), "test `" + c.name + "` needs expect.action");
      c.expect_action = x["action"].as<std::string>();
      if (!action_from_name(c.expect_action)) {
        throw YAML::Exception(x["action"].Mark(), "unknown action `" + c.expect_action + "`");
      }
      if (x["rule"]) c.expect_rule = x["rule"].as<std::string>();
      if (x["reason"]) c.expect_reason = x["reason"].as<std::string>();
      out.push_back(std::move(c));
    }
  } catch (const YAML::Exception& e) {
    return make_error("bad_tests_file", path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                            std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return out;
}

PolicyTestRun run_policy_tests(const Policy& policy, const std::vector<PolicyTestCase>& tests) {
  PolicyTestRun run;
  run.results.reserve(tests.size());
  for (const PolicyTestCase& t : tests) {
    PolicyTestResult& r = run.results.emplace_back();
    r.test = t;
    auto facts = facts_from_sketch(t.request, policy);
    if (!facts.ok()) {
      ++run.failed;
      r.failure = "bad request: " + facts.error().message;
      run.output +=
          "FAIL " + t.name + " (line " + std::to_string(t.line) + "): " + r.failure + "\n";
      continue;
    }
    r.facts = std::move(*facts);
    r.decision = evaluate(policy, *r.facts);
    const Decision& d = r.decision;
    std::string mismatch;
    if (action_name(d.action) != t.expect_action) {
      mismatch +=
          " action " + std::string(action_name(d.action)) + " (expected " + t.expect_action + ")";
    }
    if (t.expect_rule && *t.expect_rule != d.rule_id) {
      mismatch += " rule " + d.rule_id + " (expected " + *t.expect_rule + ")";
    }
    if (t.expect_reason && *t.expect_reason != d.reason) {
      mismatch += " reason " + std::string(d.reason) + " (expected " + *t.expect_reason + ")";
    }
    if (mismatch.empty()) {
      r.passed = true;
      ++run.passed;
      run.output += "PASS " + t.name + "\n";
      continue;
    }
    ++run.failed;
    r.failure = "got" + mismatch;
    r.explanation = explain_text(policy, *r.facts, d);
    run.output += "FAIL " + t.name + " (line " + std::to_string(t.line) + "): " + r.failure + "\n";
    const std::string& why = r.explanation;
    std::size_t pos = 0;
    while (pos < why.size()) {
      auto nl = why.find('\n', pos);
      run.output += "    " + why.substr(pos, nl - pos) + "\n";
      pos = nl == std::string::npos ? why.size() : nl + 1;
    }
  }
  run.output += std::to_string(run.passed) + " passed, " + std::to_string(run.failed) + " failed\n";
  return run;
}

}  // namespace bordergate::policy
