// The process-wide budget of request body bytes held in memory (every connection of every
// worker). Bodies grow as their bytes arrive and are charged then, never reserved from a declared
// Content-Length; a request that declares more than fits is refused at its headers (503) before
// anything is buffered, while small bodies are always taken (they are bounded by the connection
// limits), so the gateway keeps serving ordinary federation traffic when large uploads crowd it.
// Memory is handed back to the system after a spike. Thread-safe, lock-free.
#pragma once

#include <atomic>
#include <cstdint>

namespace bordergate {

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
  bool admit(std::uint64_t declared);
  // Charges `n` more bytes of a body that holds `held` already. False (nothing charged, counted
  // as a refusal) when a body past kSmallBody would exceed the limit.
  bool charge(std::uint64_t n, std::uint64_t held);
  // Gives bytes back; after a spike (more than 64 MiB in use since the last time), once use has
  // fallen below an eighth of the limit, the allocator returns free memory to the system.
  void release(std::uint64_t n);

  std::uint64_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  std::uint64_t trims() const { return trims_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> limit_;
  std::atomic<std::uint64_t> in_use_{0};
  std::atomic<std::uint64_t> peak_{0};  // highest use since the last trim
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> trims_{0};
};

}  // namespace bordergate
