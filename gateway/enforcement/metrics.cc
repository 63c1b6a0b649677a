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

// One line per series of the counter `name`; its labels are named by `labels` (two or three:
// a series key's third member is empty for two-label families).
template <typename SeriesMap>
void append_series(std::string& out, std::string_view name, const SeriesMap& series,
                   std::initializer_list<std::string_view> labels) {
  for (const auto& [key, n] : series) {
    const std::string_view values[] = {std::get<0>(key), std::get<1>(key), std::get<2>(key)};
    out += name;
    char sep = '{';
    std::size_t i = 0;
    for (std::string_view label : labels) {
      out += sep;
      out += label;
      out += "=\"";
      append_label(out, values[i++]);
      out += '"';
      sep = ',';
    }
    out += "} " + std::to_string(n) + "\n";
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

void EnforcementMetrics::count_answer_events(policy::Direction direction, std::string_view endpoint,
                                             std::string_view verdict, std::uint64_t n) {
  if (n == 0) return;
  std::lock_guard lock(mutex_);
  // Bounded: two directions, the endpoint catalogue, three verdicts.
  answer_events_[std::make_tuple(std::string(policy::direction_name(direction)),
                                 std::string(endpoint), std::string(verdict))] += n;
}

void EnforcementMetrics::count_mixed(policy::Direction direction, std::uint64_t n) {
  std::lock_guard lock(mutex_);
  mixed_[direction == policy::Direction::inbound ? 0 : 1] += n;
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
  append_series(out, "bordergate_inbound_decisions_total", counts_,
                {"peer", "endpoint", "decision"});
  out +=
      "# HELP bordergate_outbound_decisions_total Outbound requests of the Core by peer "
      "(destination), federation endpoint and decision.\n"
      "# TYPE bordergate_outbound_decisions_total counter\n";
  append_series(out, "bordergate_outbound_decisions_total", outbound_counts_,
                {"peer", "endpoint", "decision"});
  out +=
      "# HELP bordergate_outbound_responses_total External answers to the Core's requests by "
      "federation endpoint and check result.\n"
      "# TYPE bordergate_outbound_responses_total counter\n";
  append_series(out, "bordergate_outbound_responses_total", responses_, {"endpoint", "result"});
  out +=
      "# HELP bordergate_answer_events_total Events carried in answers, judged by the content "
      "rules of the direction they travel, by verdict.\n"
      "# TYPE bordergate_answer_events_total counter\n";
  append_series(out, "bordergate_answer_events_total", answer_events_,
                {"direction", "endpoint", "verdict"});
  out +=
      "# HELP bordergate_quarantine_puts_total Transactions the gateway tried to quarantine.\n"
      "# TYPE bordergate_quarantine_puts_total counter\n"
      "bordergate_quarantine_puts_total{result=\"stored\"} " +
      std::to_string(puts_ok_) + "\nbordergate_quarantine_puts_total{result=\"failed\"} " +
      std::to_string(puts_failed_) + "\n";
  out +=
      "# HELP bordergate_rooms_mixed_total Times a server in no federation of the policy joined a "
      "room, seen in a request or answer of this direction (the room became mixed).\n"
      "# TYPE bordergate_rooms_mixed_total counter\n"
      "bordergate_rooms_mixed_total{direction=\"inbound\"} " +
      std::to_string(mixed_[0]) + "\nbordergate_rooms_mixed_total{direction=\"outbound\"} " +
      std::to_string(mixed_[1]) + "\n";
  return out;
}

}  // namespace bordergate::enforcement
