#include "gateway/http/body_budget.h"

#include <malloc.h>

#include <algorithm>
#include <utility>

namespace bordergate {
namespace {

constexpr std::uint64_t kTrimAfterPeak = 64ull << 20;
constexpr std::uint64_t kTrimFloor = 8ull << 20;

}  // namespace

std::string_view buffer_kind_name(BufferKind kind) {
  return kind == BufferKind::answer ? "answer" : "request_body";
}

void BodyBudget::count_refusal(BufferKind kind) {
  by_kind_[static_cast<std::size_t>(kind)].refused.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t BodyBudget::refused() const {
  std::uint64_t total = 0;
  for (const PerKind& k : by_kind_) total += k.refused.load(std::memory_order_relaxed);
  return total;
}

bool BodyBudget::admit(std::uint64_t declared, BufferKind kind) {
  if (declared <= kSmallBody) return true;
  if (in_use() + declared <= limit()) return true;
  count_refusal(kind);
  return false;
}

bool BodyBudget::charge(std::uint64_t n, std::uint64_t held, BufferKind kind) {
  const bool small = held + n <= kSmallBody;
  std::uint64_t now = in_use_.load(std::memory_order_relaxed);
  for (;;) {
    if (!small && now + n > limit()) {
      count_refusal(kind);
      return false;
    }
    if (in_use_.compare_exchange_weak(now, now + n, std::memory_order_relaxed)) break;
  }
  by_kind_[static_cast<std::size_t>(kind)].in_use.fetch_add(n, std::memory_order_relaxed);
  std::uint64_t peak = peak_.load(std::memory_order_relaxed);
  while (now + n > peak && !peak_.compare_exchange_weak(peak, now + n, std::memory_order_relaxed)) {
  }
  return true;
}

void BodyBudget::release(std::uint64_t n, BufferKind kind) {
  by_kind_[static_cast<std::size_t>(kind)].in_use.fetch_sub(n, std::memory_order_relaxed);
  const std::uint64_t left = in_use_.fetch_sub(n, std::memory_order_relaxed) - n;
  if (left >= limit() / 8) return;
  std::uint64_t peak = peak_.load(std::memory_order_relaxed);
  // A spike: 64 MiB, or half the budget when that is smaller (a small budget is never reached
  // by 64 MiB), but at least 8 MiB (less is not worth a trim). One thread wins the trim of a
  // spike; the others see the reset peak.
  const std::uint64_t spike = std::max(kTrimFloor, std::min(kTrimAfterPeak, limit() / 2));
  if (peak >= spike &&
      peak_.compare_exchange_strong(peak, left, std::memory_order_relaxed)) {
    malloc_trim(0);
    trims_.fetch_add(1, std::memory_order_relaxed);
  }
}

BudgetLease& BudgetLease::operator=(BudgetLease&& other) noexcept {
  if (this != &other) {
    release();
    budget_ = std::exchange(other.budget_, nullptr);
    kind_ = other.kind_;
    held_ = std::exchange(other.held_, 0);
  }
  return *this;
}

bool BudgetLease::admit(std::uint64_t declared) const {
  return budget_ == nullptr || budget_->admit(declared, kind_);
}

bool BudgetLease::grow_to(std::uint64_t bytes) {
  if (budget_ == nullptr || bytes <= held_) return true;
  if (!budget_->charge(bytes - held_, held_, kind_)) return false;
  held_ = bytes;
  return true;
}

bool BudgetLease::make_room(std::string& buffer, std::size_t more, std::uint64_t ceiling) {
  const std::uint64_t needed = std::uint64_t{buffer.size()} + more;
  if (needed <= buffer.capacity()) return true;
  const std::uint64_t target = std::max<std::uint64_t>(
      needed, std::min<std::uint64_t>(std::uint64_t{buffer.capacity()} * 2, ceiling));
  if (!grow_to(target)) return false;
  std::string grown;
  grown.reserve(static_cast<std::size_t>(target));
  grown.append(buffer);
  buffer.swap(grown);
  return true;
}

void BudgetLease::release() {
  if (budget_ != nullptr && held_ > 0) budget_->release(held_, kind_);
  held_ = 0;
}

}  // namespace bordergate
