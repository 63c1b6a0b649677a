// A scripted KeyFetcher for the store tests: answers from tables, counts calls, and can hold
// answers back (to pile requests up behind one fetch).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/keystore/key_fetcher.h"

namespace bordergate::keystore::testing {

class FakeFetcher : public KeyFetcher {
 public:
  // Unknown servers/notaries fail with "connect_failed".
  std::map<std::string, Result<std::string>> direct;
  std::map<std::string, Result<std::string>> notary;  // by notary name
  std::atomic<int> direct_calls{0};
  std::atomic<int> notary_calls{0};
  std::vector<NotaryQuery> notary_queries;

  // When holding, answers wait in `held` until release() (called by the test, on any thread).
  std::atomic<bool> hold{false};

  void fetch_server_keys(const std::string& server_name, Done done) override {
    direct_calls.fetch_add(1);
    answer(direct, server_name, std::move(done));
  }
  void query_notary(const std::string& notary_name, const NotaryQuery& query, Done done) override {
    notary_calls.fetch_add(1);
    {
      std::lock_guard lock(mutex_);
      notary_queries.push_back(query);
    }
    answer(notary, notary_name, std::move(done));
  }

  std::size_t held_count() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  void release() {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mutex_);
      ready.swap(held_);
    }
    for (auto& f : ready) f();
  }

 private:
  void answer(const std::map<std::string, Result<std::string>>& table, const std::string& name,
              Done done) {
    Result<std::string> result = make_error("connect_failed", "connection refused");
    if (auto it = table.find(name); it != table.end()) result = it->second;
    if (hold.load()) {
      std::lock_guard lock(mutex_);
      held_.push_back([done = std::move(done), result]() mutable { done(std::move(result)); });
      return;
    }
    done(std::move(result));
  }

  std::mutex mutex_;
  std::vector<std::function<void()>> held_;
};

}  // namespace bordergate::keystore::testing
