#include "policy/store.h"

namespace bordergate::policy {

PolicyStore::PolicyStore(std::shared_ptr<const Policy> initial) : current_(std::move(initial)) {}

void PolicyStore::replace(std::shared_ptr<const Policy> next) {
  current_.store(std::move(next), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace bordergate::policy
