#include "gateway/keystore/fetch_backoff.h"

#include <algorithm>

namespace bordergate::keystore {

std::int64_t FetchBackoff::blocked_until(std::string_view server, std::int64_t now_ms) const {
  auto it = entries_.find(server);
  if (it == entries_.end() || it->second.retry_at_ms <= now_ms) return 0;
  return it->second.retry_at_ms;
}

int FetchBackoff::failures(std::string_view server) const {
  auto it = entries_.find(server);
  return it == entries_.end() ? 0 : it->second.failures;
}

void FetchBackoff::record_failure(std::string_view server, std::int64_t now_ms) {
  auto it = entries_.find(server);
  if (it == entries_.end()) {
    if (entries_.size() >= policy_.max_servers) {
      // Drop the entry whose backoff ends first (expired ones first): forgetting it costs at most
      // one extra fetch.
      auto victim = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.retry_at_ms < b.second.retry_at_ms;
      });
      if (victim != entries_.end()) entries_.erase(victim);
    }
    it = entries_.emplace(std::string(server), Entry{}).first;
  }
  Entry& entry = it->second;
  entry.failures = std::min(entry.failures + 1, 62);
  std::int64_t delay = policy_.initial_ms;
  for (int i = 1; i < entry.failures && delay < policy_.max_ms; ++i) delay *= 2;
  entry.retry_at_ms = now_ms + std::min(delay, policy_.max_ms);
}

}  // namespace bordergate::keystore
