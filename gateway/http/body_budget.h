// The process-wide budget of body bytes held in memory (every connection of every worker): the
// bodies of requests being read, and the answers held whole to be judged before anyone sees them
// (the Core's media answers under media settings, every answer of an external server to the
// Core). Bodies grow as their bytes arrive and are charged then, never reserved from a declared
// Content-Length; a body that declares more than fits is refused before anything is buffered
// (503), while small bodies are always taken (they are bounded by the connection limits), so the
// gateway keeps serving ordinary federation traffic when large transfers crowd it. Memory is
// handed back to the system after a spike. Thread-safe, lock-free.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace bordergate {

// What a charge holds: a request body being read, or an answer held to be judged (metric label
// `kind`).
enum class BufferKind : unsigned char { request_body = 0, answer = 1 };
inline constexpr std::size_t kBufferKinds = 2;
std::string_view buffer_kind_name(BufferKind kind);

class BodyBudget {
 public:
  // Bodies up to this size are always taken (charged even past the limit).
  static constexpr std::uint64_t kSmallBody = 64 * 1024;

  explicit BodyBudget(std::uint64_t limit) : limit_(limit) {}
  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  // A reload may change the limit; bytes charged under the old one stay charged.
  void set_limit(std::uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }

  // Whether a body that declares `declared` bytes may start now. Small ones always may. A refusal
  // is counted (refused()).
  bool admit(std::uint64_t declared, BufferKind kind = BufferKind::request_body);
  // Charges `n` more bytes of a body that holds `held` already. False (nothing charged, counted
  // as a refusal) when a body past kSmallBody would exceed the limit.
  bool charge(std::uint64_t n, std::uint64_t held, BufferKind kind = BufferKind::request_body);
  // Gives bytes back; after a spike (64 MiB in use since the last time, or half the limit when
  // that is less, but at least 8 MiB), once use has fallen below an eighth of the limit, the
  // allocator returns free memory to the system.
  void release(std::uint64_t n, BufferKind kind = BufferKind::request_body);

  std::uint64_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::uint64_t in_use(BufferKind kind) const {
    return by_kind_[static_cast<std::size_t>(kind)].in_use.load(std::memory_order_relaxed);
  }
  std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::uint64_t refused() const;
  std::uint64_t refused(BufferKind kind) const {
    return by_kind_[static_cast<std::size_t>(kind)].refused.load(std::memory_order_relaxed);
  }
  std::uint64_t trims() const { return trims_.load(std::memory_order_relaxed); }

 private:
  struct PerKind {
    std::atomic<std::uint64_t> in_use{0};
    std::atomic<std::uint64_t> refused{0};
  };
  void count_refusal(BufferKind kind);

  std::atomic<std::uint64_t> limit_;
  std::atomic<std::uint64_t> in_use_{0};
  std::atomic<std::uint64_t> peak_{0};  // highest use since the last trim
  std::atomic<std::uint64_t> trims_{0};
  std::array<PerKind, kBufferKinds> by_kind_{};
};

// One body's charge against a budget, given back when the lease ends (move-only). Without a
// budget every call succeeds and nothing is counted.
class BudgetLease {
 public:
  BudgetLease() = default;
  BudgetLease(BodyBudget* budget, BufferKind kind) : budget_(budget), kind_(kind) {}
  BudgetLease(BudgetLease&& other) noexcept { *this = std::move(other); }
  BudgetLease& operator=(BudgetLease&& other) noexcept;
  BudgetLease(const BudgetLease&) = delete;
  BudgetLease& operator=(const BudgetLease&) = delete;
  ~BudgetLease() { release(); }

  // Whether a body declaring `declared` bytes may start (BodyBudget::admit).
  bool admit(std::uint64_t declared) const;
  // Raises the charge to `bytes` in all (never lowers it). False: refused, nothing charged.
  bool grow_to(std::uint64_t bytes);
  // Makes room in `buffer` for `more` bytes, the one way a charged body grows: its capacity
  // doubles, never past `ceiling` (nor below what is needed), each step charged before it is
  // allocated, into a fresh buffer of exactly that size (reserve() on the old one may round up
  // to twice its capacity, past what was charged). False: refused, nothing charged or moved.
  bool make_room(std::string& buffer, std::size_t more, std::uint64_t ceiling);
  // Gives everything back.
  void release();

  BodyBudget* budget() const { return budget_; }
  std::uint64_t held() const { return held_; }

 private:
  BodyBudget* budget_ = nullptr;
  BufferKind kind_ = BufferKind::request_body;
  std::uint64_t held_ = 0;
};

}  // namespace bordergate
