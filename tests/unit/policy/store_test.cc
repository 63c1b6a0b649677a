// PolicyStore: readers keep their snapshot, swaps are atomic under concurrent readers, and
// an invalid file leaves the previous policy in force.
#include "policy/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
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

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
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

TEST(PolicyStore, InvalidReloadKeepsThePolicyInForce) {
  const std::string good = write_temp("store_good.yaml", policy_text("allow"));
  const std::string bad = write_temp("store_bad.yaml", policy_text("allow") + "bogus: 1\n");
  PolicyStore store(testing::must_load(policy_text("deny")));
  auto r = store.reload(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "policy_reload_rejected");
  EXPECT_NE(r.error().message.find("unknown key `bogus`"), std::string::npos) << r.error().message;
  EXPECT_EQ(store.generation(), 1u);
  RequestFacts f = testing::inbound("p.example", FederationEndpoint::send);
  EXPECT_EQ(evaluate(*store.snapshot(), f).action, Action::deny);
  auto ok = store.reload(good);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->swapped);
  EXPECT_EQ(evaluate(*store.snapshot(), f).action, Action::allow);
  std::remove(good.c_str());
  std::remove(bad.c_str());
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
