// PolicyStore: readers keep their snapshot, and swaps are atomic under concurrent readers.
// (An invalid file leaving the policy in force is the reload's: tests/integration/test_reload.py.)
#include "policy/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_util.h"

namespace bordergate::policy {
namespace {

std::string policy_text(const char* action) {
  return std::string(
             "version: 1\nserver_name: core.example\nfederations: {p: {servers: [p.example]}}\n"
             "rules:\n  - {id: r-") +
         action + ", federation: p, endpoints: [send], action: " + action + "}\n";
}

TEST(PolicyStore, SnapshotSurvivesSwap) {
  PolicyStore store(testing::must_load(policy_text("allow")));
  auto before = store.snapshot();
  store.replace(testing::must_load(policy_text("deny")));
  RequestFacts f = testing::inbound("p.example", FederationEndpoint::send);
  EXPECT_EQ(evaluate(*before, f).action, Action::allow);  // the old snapshot is still whole
  EXPECT_EQ(evaluate(*store.snapshot(), f).action, Action::deny);
  EXPECT_EQ(store.generation(), 2u);
}

// Readers evaluate continuously while a writer swaps between two policies. Every
// decision must be one of the two consistent answers (rule id and action from the same
// policy); under ASan/UBSan this also catches use-after-free of a swapped-out policy.
TEST(PolicyStore, ConcurrentReadersWhileSwapping) {
  auto allow = testing::must_load(policy_text("allow"));
  auto deny = testing::must_load(policy_text("deny"));
  PolicyStore store(allow);
  std::atomic<bool> stop{false};
  std::atomic<long> inconsistent{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      RequestFacts f = testing::inbound("p.example", FederationEndpoint::send);
      while (!stop.load(std::memory_order_relaxed)) {
        auto snap = store.snapshot();
        Decision d = evaluate(*snap, f);
        const bool ok = (d.action == Action::allow && d.rule_id == "r-allow") ||
                        (d.action == Action::deny && d.rule_id == "r-deny");
        if (!ok) inconsistent.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) {
    // Fresh policies each time, so the old one is really freed while readers run.
    store.replace(testing::must_load(policy_text(i % 2 ? "allow" : "deny")));
  }
  while (reads.load() < 1000) std::this_thread::yield();
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_EQ(store.generation(), 2001u);
}

}  // namespace
}  // namespace bordergate::policy
