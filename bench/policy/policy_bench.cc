// Evaluation cost of typical requests against a generated policy with 1,000 peer
// patterns (100 federations x 10: exact names, `*.suffix` globs and a few other globs)
// and 100 rules. Prints numbers for docs/benchmarks.md; asserts nothing.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "policy/evaluate.h"
#include "policy/loader.h"

namespace {

using namespace bordergate::policy;

std::string generated_policy() {
  std::string y = "version: 1\nserver_name: core.example\ndefault: deny\nfederations:\n";
  for (int f = 0; f < 100; ++f) {
    y += "  fed" + std::to_string(f) + ":\n    servers:\n";
    for (int i = 0; i < 10; ++i) {
      const std::string n = std::to_string(f) + "-" + std::to_string(i);
      if (i < 6) {
        y += "      - \"*.org" + n + ".example\"\n";  // suffix globs: hashed
      } else if (i < 9) {
        y += "      - matrix.host" + n + ".example\n";  // exact names: hashed
      } else {
        y += "      - \"srv?.misc" + n + ".example\"\n";  // other globs: tried in turn
      }
    }
  }
  y += "rules:\n";
  int rules = 0;
  auto rule = [&](const std::string& body) {
    y += "  - {id: r" + std::to_string(rules++) + ", " + body + "}\n";
  };
  for (int f = 0; f < 100 && rules < 50; ++f) {
    rule("federation: fed" + std::to_string(f) +
         ", endpoints: [send, \"@room_read\", \"@membership\"], action: allow");
  }
  for (int f = 0; f < 100 && rules < 70; f += 5) {
    rule("federation: fed" + std::to_string(f) + ", endpoints: [\"@directory\"], action: deny");
  }
  for (int f = 0; f < 100 && rules < 85; f += 7) {
    rule("federation: fed" + std::to_string(f) +
         ", direction: inbound, event_types: [\"org.custom.*\", m.poll.start], action: quarantine");
  }
  for (int f = 0; f < 100 && rules < 95; f += 10) {
    rule("servers: [matrix.host" + std::to_string(f) +
         "-6.example], endpoints: [\"@media\"], action: allow");
  }
  rule("peer: unknown, direction: inbound, endpoints: [key.server], action: allow");
  rule("peer: anyone, direction: inbound, endpoints: [version], action: allow");
  rule("peer: any, endpoints: [hierarchy], rooms: [\"!public:core.example\"], action: allow");
  rule(
      "peer: any, direction: inbound, endpoints: [invite], invite_targets: "
      "[\"@boss*:core.example\"], action: deny");
  rule("peer: any, direction: inbound, edu_types: [org.unknown.edu], action: report");
  return y;
}

std::shared_ptr<const Policy> policy() {
  static std::shared_ptr<const Policy> p = [] {
    LoadOutput out = load_policy_text(generated_policy(), "generated.yaml");
    if (!out.ok()) {
      for (const auto& d : out.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
      std::abort();
    }
    return out.policy;
  }();
  return p;
}

// The typical request: an inbound /send from a server matched by a suffix glob, with a
// few PDUs and EDUs.
RequestFacts typical_send() {
  RequestFacts f;
  f.direction = Direction::inbound;
  f.origin = "matrix.org42-3.example";
  f.destination = "core.example";
  f.endpoint = FederationEndpoint::send;
  f.x_matrix = CheckResult::passed;
  f.body_bytes = 4096;
  f.pdus = {{"m.room.message", "!r:core.example", "@a:matrix.org42-3.example", CheckResult::passed,
             CheckResult::passed},
            {"m.room.encrypted", "!r:core.example", "@a:matrix.org42-3.example",
             CheckResult::passed, CheckResult::passed},
            {"m.reaction", "!r:core.example", "@b:matrix.org42-3.example", CheckResult::passed,
             CheckResult::passed}};
  f.edus = {{"m.typing", "!r:core.example", "@a:matrix.org42-3.example", CheckResult::passed},
            {"m.receipt", "!r:core.example", "@a:matrix.org42-3.example", CheckResult::passed}};
  return f;
}

void BM_EvaluateTypicalSend(benchmark::State& state) {
  auto p = policy();
  const RequestFacts f = typical_send();
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(*p, f));
}
BENCHMARK(BM_EvaluateTypicalSend);

void BM_EvaluateMakeJoinExactPeer(benchmark::State& state) {
  auto p = policy();
  RequestFacts f;
  f.origin = "matrix.host17-7.example";
  f.endpoint = FederationEndpoint::make_join;
  f.room_id = "!room:core.example";
  f.user_id = "@u:matrix.host17-7.example";
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(*p, f));
}
BENCHMARK(BM_EvaluateMakeJoinExactPeer);

void BM_EvaluateUnlistedPeer(benchmark::State& state) {
  auto p = policy();
  RequestFacts f;
  f.origin = "stranger.elsewhere.example";
  f.endpoint = FederationEndpoint::send;
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(*p, f));
}
BENCHMARK(BM_EvaluateUnlistedPeer);

void BM_EvaluateUnknownOriginKeys(benchmark::State& state) {
  auto p = policy();
  RequestFacts f;
  f.endpoint = FederationEndpoint::key_server;
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(*p, f));
}
BENCHMARK(BM_EvaluateUnknownOriginKeys);

void BM_LoadGeneratedPolicy(benchmark::State& state) {
  const std::string text = generated_policy();
  for (auto _ : state) benchmark::DoNotOptimize(load_policy_text(text, "generated.yaml"));
}
BENCHMARK(BM_LoadGeneratedPolicy)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
