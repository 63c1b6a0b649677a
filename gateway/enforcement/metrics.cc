#include "gateway/enforcement/metrics.h"

namespace bordergate::enforcement {
namespace {

void append_label(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
}

// One line per (peer, endpoint, decision) series of the counter `name`.
template <typename SeriesMap>
void append_decisions(std::string& out, std::string_view name, const SeriesMap& series) {
  for (const auto& [key, n] : series) {
    out += name;
    out += "{peer=\"";
    append_label(out, std::get<0>(key));
    out += "\",endpoint=\"";
    append_label(out, std::get<1>(key));
    out += "\",decision=\"";
    append_label(out, std::get<2>(key));
    out += "\"} " + std::to_string(n) + "\n";
  }
}

}  // namespace

void EnforcementMetrics::count(policy::Direction direction, std::string_view peer,
                               std::string_view endpoint, std::string_view decision) {
  std::lock_guard lock(mutex_);
  Series& series = direction == policy::Direction::inbound ? counts_ : outbound_counts_;
  auto key = std::make_tuple(std::string(peer), std::string(endpoint), std::string(decision));
  auto it = series.find(key);
  if (it == series.end()) {
    if (series.size() >= kMaxSeries) std::get<0>(key) = "other";
    it = series.emplace(std::move(key), 0).first;
  }
  ++it->second;
}

void EnforcementMetrics::count_response(std::string_view endpoint, std::string_view result) {
  std::lock_guard lock(mutex_);
  // Bounded by the endpoint catalogue times three results.
  ++responses_[std::make_tuple(std::string(endpoint), std::string(result), std::string())];
}

void EnforcementMetrics::count_answer_events(policy::Direction direction,
                                             std::string_view endpoint, std::string_view verdict,
                                             std::uint64_t n) {
  if (n == 0) return;
  std::lock_guard lock(mutex_);
  // Bounded: two directions, the endpoint catalogue, three verdicts.
  answer_events_[std::make_tuple(std::string(policy::direction_name(direction)),
                                 std::string(endpoint), std::string(verdict))] += n;
}

void EnforcementMetrics::quarantine_put(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? puts_ok_ : puts_failed_);
}

std::string EnforcementMetrics::serialize() const {
  std::lock_guard lock(mutex_);
  std::string out =
      "# HELP bordergate_inbound_decisions_total Inbound requests by peer, federation endpoint "
      "and decision.\n# TYPE bordergate_inbound_decisions_total counter\n";
  append_decisions(out, "bordergate_inbound_decisions_total", counts_);
  out +=
      "# HELP bordergate_outbound_decisions_total Outbound requests of the Core by peer "
      "(destination), federation endpoint and decision.\n"
      "# TYPE bordergate_outbound_decisions_total counter\n";
  append_decisions(out, "bordergate_outbound_decisions_total", outbound_counts_);
  out +=
      "# HELP bordergate_outbound_responses_total External answers to the Core's requests by "
      "federation endpoint and check result.\n"
      "# TYPE bordergate_outbound_responses_total counter\n";
  for (const auto& [key, n] : responses_) {
    out += "bordergate_outbound_responses_total{endpoint=\"";
    append_label(out, std::get<0>(key));
    out += "\",result=\"";
    append_label(out, std::get<1>(key));
    out += "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP bordergate_answer_events_total Events carried in answers, judged by the content "
      "rules of the direction they travel, by verdict.\n"
      "# TYPE bordergate_answer_events_total counter\n";
  for (const auto& [key, n] : answer_events_) {
    out += "bordergate_answer_events_total{direction=\"";
    append_label(out, std::get<0>(key));
    out += "\",endpoint=\"";
    append_label(out, std::get<1>(key));
    out += "\",verdict=\"";
    append_label(out, std::get<2>(key));
    out += "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP bordergate_quarantine_puts_total Transactions the gateway tried to quarantine.\n"
      "# TYPE bordergate_quarantine_puts_total counter\n"
      "bordergate_quarantine_puts_total{result=\"stored\"} " +
      std::to_string(puts_ok_) + "\nbordergate_quarantine_puts_total{result=\"failed\"} " +
      std::to_string(puts_failed_) + "\n";
  return out;
}

}  // namespace bordergate::enforcement
