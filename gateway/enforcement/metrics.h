// Decision counters of enforcement per direction, peer, endpoint and decision (one family per
// direction: bordergate_inbound_decisions_total, bordergate_outbound_decisions_total). Peer
// labels are bounded by the policy: a peer the policy names (matched by one of its patterns) is
// its own label value, every other peer is "other", inbound requests without origin "unknown".
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "policy/model.h"

namespace bordergate::enforcement {

class EnforcementMetrics {
 public:
  // Thread-safe; one short lock per request (decisions are not the hot path's hot path: the
  // signature checks before them cost microseconds).
  void count(std::string_view peer, std::string_view endpoint, std::string_view decision) {
    count(policy::Direction::inbound, peer, endpoint, decision);
  }
  void count(policy::Direction direction, std::string_view peer, std::string_view endpoint,
             std::string_view decision);
  // Outbound response checks (outbound::check_response): result pass | filtered | refuse.
  void count_response(std::string_view endpoint, std::string_view result);
  // Events carried in answers, judged by the content rules of the direction they travel:
  // verdict forward | report | redacted (bordergate_answer_events_total).
  void count_answer_events(policy::Direction direction, std::string_view endpoint,
                           std::string_view verdict, std::uint64_t n);
  void quarantine_put(bool ok);
  // A server in no federation got its first joined member in a room, as seen in a request or
  // answer of this direction (bordergate_rooms_mixed_total).
  void count_mixed(policy::Direction direction, std::uint64_t n);
  // Prometheus text exposition of the families bordergate_inbound_decisions_total,
  // bordergate_outbound_decisions_total, bordergate_outbound_responses_total,
  // bordergate_answer_events_total and bordergate_quarantine_puts_total.
  std::string serialize() const;

 private:
  static constexpr std::size_t kMaxSeries = 20000;  // hard cap against a huge policy
  mutable std::mutex mutex_;
  using Series =
      std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t, std::less<>>;
  Series counts_, outbound_counts_, responses_, answer_events_;
  std::uint64_t puts_ok_ = 0, puts_failed_ = 0;
  std::uint64_t mixed_[2] = {0, 0};  // inbound, outbound
};

}  // namespace bordergate::enforcement
