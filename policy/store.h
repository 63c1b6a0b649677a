// The policy in force, swapped whole on reload. Readers take a snapshot (a shared_ptr
// copy) at the start of a request and keep it to the end; a reload builds and validates
// the new policy off the data path (gateway/proxy/server.cc) and publishes it with one atomic
// store.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "policy/policy.h"

namespace bordergate::policy {

class PolicyStore {
 public:
  explicit PolicyStore(std::shared_ptr<const Policy> initial);
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // Lock-free for readers on the data path (std::atomic<std::shared_ptr>).
  std::shared_ptr<const Policy> snapshot() const {
    return current_.load(std::memory_order_acquire);
  }
  // Increments on every successful swap; lets metrics and logs name the policy in force.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  void replace(std::shared_ptr<const Policy> next);

 private:
  std::atomic<std::shared_ptr<const Policy>> current_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace bordergate::policy
