// Negative caching per server: after a failed key fetch the server is not asked again until its
// backoff expires (doubling per consecutive failure, capped), so a dead or hostile key server
// cannot make the gateway hammer it. Bounded; not thread-safe (the store locks around it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace bordergate::keystore {

struct BackoffPolicy {
  std::int64_t initial_ms = 30 * 1000;
  std::int64_t max_ms = 30 * 60 * 1000;
  std::size_t max_servers = 100000;
};

class FetchBackoff {
 public:
  explicit FetchBackoff(BackoffPolicy policy = {}) : policy_(policy) {}

  // 0 when the server may be fetched now, else the time it may be fetched again.
  std::int64_t blocked_until(std::string_view server, std::int64_t now_ms) const;
  void record_failure(std::string_view server, std::int64_t now_ms);
  void record_success(std::string_view server) { entries_.erase(std::string(server)); }
  int failures(std::string_view server) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int failures = 0;
    std::int64_t retry_at_ms = 0;
  };
  BackoffPolicy policy_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace bordergate::keystore
