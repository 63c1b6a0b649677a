// Decision counters of inbound enforcement per peer, endpoint and decision. Peer labels are
// bounded by the policy: a peer the policy names (matched by one of its patterns) is its own
// label value, every other authenticated origin is "other", requests without origin "unknown".
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace bordergate::inbound {

class InboundMetrics {
 public:
  // Thread-safe; one short lock per request (decisions are not the hot path's hot path: the
  // signature checks before them cost microseconds).
  void count(std::string_view peer, std::string_view endpoint, std::string_view decision);
  void quarantine_put(bool ok);
  // Prometheus text exposition of the families bordergate_inbound_decisions_total and
  // bordergate_quarantine_puts_total.
  std::string serialize() const;

 private:
  static constexpr std::size_t kMaxSeries = 20000;  // hard cap against a huge policy
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t, std::less<>> counts_;
  std::uint64_t puts_ok_ = 0, puts_failed_ = 0;
};

}  // namespace bordergate::inbound
