// Shared helpers for the policy unit tests: load a policy from inline YAML and build
// request facts tersely.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "policy/evaluate.h"
#include "policy/loader.h"

namespace bordergate::policy::testing {

inline std::shared_ptr<const Policy> must_load(const std::string& yaml) {
  LoadOutput out = load_policy_text(yaml, "test.yaml");
  for (const auto& d : out.diagnostics) {
    if (d.severity == Diagnostic::Severity::error) ADD_FAILURE() << d.to_string();
  }
  return out.policy;
}

// A policy file of the source tree (the shipped examples), loaded as the gateway would.
inline LoadOutput load_source_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(in.good() || in.eof()) << "cannot read " << path;
  return load_policy_text(text.str(), path);
}

inline RequestFacts inbound(std::optional<std::string> origin, FederationEndpoint e) {
  RequestFacts f;
  f.direction = Direction::inbound;
  f.origin = std::move(origin);
  f.destination = "core.example";
  f.endpoint = e;
  return f;
}

inline RequestFacts outbound(std::string destination, FederationEndpoint e) {
  RequestFacts f;
  f.direction = Direction::outbound;
  f.origin = "core.example";
  f.destination = std::move(destination);
  f.endpoint = e;
  return f;
}

}  // namespace bordergate::policy::testing
