#include "gateway/http/body_budget.h"

#include <malloc.h>

namespace bordergate {
namespace {

constexpr std::uint64_t kTrimAfterPeak = 64ull << 20;

}  // namespace

bool BodyBudget::admit(std::uint64_t declared) {
  if (declared <= kSmallBody) return true;
  if (in_use() + declared <= limit()) return true;
  refused_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool BodyBudget::charge(std::uint64_t n, std::uint64_t held) {
  const bool small = held + n <= kSmallBody;
  std::uint64_t now = in_use_.load(std::memory_order_relaxed);
  for (;;) {
    if (!small && now + n > limit()) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (in_use_.compare_exchange_weak(now, now + n, std::memory_order_relaxed)) break;
  }
  std::uint64_t peak = peak_.load(std::memory_order_relaxed);
  while (now + n > peak && !peak_.compare_exchange_weak(peak, now + n, std::memory_order_relaxed)) {
  }
  return true;
}

void BodyBudget::release(std::uint64_t n) {
  const std::uint64_t left = in_use_.fetch_sub(n, std::memory_order_relaxed) - n;
  if (left >= limit() / 8) return;
  std::uint64_t peak = peak_.load(std::memory_order_relaxed);
  // One thread wins the trim of a spike; the others see the reset peak.
  if (peak >= kTrimAfterPeak &&
      peak_.compare_exchange_strong(peak, left, std::memory_order_relaxed)) {
    malloc_trim(0);
    trims_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace bordergate
