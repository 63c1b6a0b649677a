#include "policy/replay.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "policy/evaluate.h"
#include "policy/html.h"

namespace bordergate::policy {
namespace {

constexpr std::string_view kUnknownPeer = "(unknown origin)";

std::string peer_of(const RequestFacts& f) {
  auto p = f.peer();
  return p ? *p : std::string(kUnknownPeer);
}

std::string rule_label(const std::string& action, const std::string& rule) {
  return action + (rule.empty() ? "" : " (" + rule + ")");
}

}  // namespace

std::string_view outcome_class(std::string_view action) {
  if (action == "allow" || action == "report" || action == "forward") return "allow";
  if (action == "quarantine") return "quarantine";
  return "deny";
}

Replayer::Replayer(const Policy& proposed, std::string proposed_file, std::size_t max_changes)
    : proposed_(proposed), max_changes_(max_changes) {
  report_.proposed_file = std::move(proposed_file);
  report_.proposed_sha256 = proposed.sha256;
}

void Replayer::add(const ReplayRecord& r) {
  ++report_.decisions;
  if (!r.facts) {
    ++report_.not_replayable[r.not_replayable.empty() ? "no facts recorded" : r.not_replayable];
    return;
  }
  ++report_.replayed;
  if (!r.caveat.empty()) ++report_.caveats[r.caveat];
  ++report_.recorded_policies[r.recorded_policy.empty() ? "(none)" : r.recorded_policy];
  const Decision d = evaluate(proposed_, *r.facts);
  const std::string to_action(action_name(d.action));
  ++report_.by_rule[r.rule].before;
  ++report_.by_rule[d.rule_id].after;
  const std::string peer = peer_of(*r.facts);
  ReplayReport::PeerCount& pc = report_.by_peer[peer];
  ++pc.replayed;
  const std::string_view from_class = outcome_class(r.action), to_class = outcome_class(to_action);
  if (from_class == to_class) {
    if (r.action == to_action && r.rule == d.rule_id) {
      ++report_.unchanged;
    } else {
      ++report_.rule_changed;
    }
    return;
  }
  ++report_.changed;
  ++pc.changed;
  const std::string kind = std::string(from_class) + " -> " + std::string(to_class);
  ++report_.kinds[kind];
  ++pc.kinds[kind];
  if (report_.changes.size() >= max_changes_) {
    ++report_.changes_not_listed;
    return;
  }
  ReplayChange c;
  c.seq = r.seq;
  c.time = r.time;
  c.direction = std::string(direction_name(r.facts->direction));
  c.peer = peer;
  c.endpoint = std::string(endpoint_name(r.facts->endpoint));
  c.from_action = r.action;
  c.from_rule = r.rule;
  c.to_action = to_action;
  c.to_rule = d.rule_id;
  c.to_reason = std::string(d.reason);
  c.kind = kind;
  report_.changes.push_back(std::move(c));
}

std::string replay_text(const ReplayReport& r, const std::vector<std::string>& context) {
  std::ostringstream o;
  for (const std::string& line : context) o << line << "\n";
  o << "proposed policy: " << r.proposed_file << " (sha256 " << r.proposed_sha256 << ")\n";
  o << r.decisions << " decision(s): " << r.replayed << " replayed, " << (r.decisions - r.replayed)
    << " not replayable\n";
  o << "  unchanged: " << r.unchanged << "\n  same outcome, other rule: " << r.rule_changed
    << "\n  outcome changes: " << r.changed << "\n";
  for (const auto& [kind, n] : r.kinds) o << "    " << kind << ": " << n << "\n";
  if (!r.not_replayable.empty()) {
    o << "not replayable:\n";
    for (const auto& [why, n] : r.not_replayable) o << "  " << n << " x " << why << "\n";
  }
  if (!r.caveats.empty()) {
    o << "replayed with a caveat:\n";
    for (const auto& [why, n] : r.caveats) o << "  " << n << " x " << why << "\n";
  }
  if (!r.recorded_policies.empty()) {
    o << "recorded under:\n";
    for (const auto& [digest, n] : r.recorded_policies) o << "  " << digest << ": " << n << "\n";
  }
  o << "by rule (decisions as recorded -> under the proposed policy):\n";
  for (const auto& [rule, n] : r.by_rule) {
    o << "  " << (rule.empty() ? "(none)" : rule) << ": " << n.before << " -> " << n.after;
    if (n.before != n.after)
      o << "  (" << (n.after > n.before ? "+" : "-")
        << (n.after > n.before ? n.after - n.before : n.before - n.after) << ")";
    o << "\n";
  }
  o << "by peer:\n";
  for (const auto& [peer, n] : r.by_peer) {
    o << "  " << peer << ": " << n.replayed << " replayed, " << n.changed << " change(s)";
    for (const auto& [kind, k] : n.kinds) o << "; " << kind << ": " << k;
    o << "\n";
  }
  if (!r.changes.empty()) {
    o << "changes:\n";
    for (const ReplayChange& c : r.changes) {
      o << "  seq " << c.seq << " " << c.time << " " << c.direction << " " << c.peer << " "
        << c.endpoint << ": " << c.kind << ": " << rule_label(c.from_action, c.from_rule) << " -> "
        << rule_label(c.to_action, c.to_rule) << ", " << c.to_reason << "\n";
    }
    if (r.changes_not_listed > 0) {
      o << "  ... and " << r.changes_not_listed << " more change(s) not listed\n";
    }
  }
  return o.str();
}

std::string replay_json(const ReplayReport& r, const std::vector<std::string>& context) {
  using nlohmann::json;
  json j;
  j["context"] = context;
  j["proposed"] = {{"file", r.proposed_file}, {"sha256", r.proposed_sha256}};
  j["decisions"] = r.decisions;
  j["replayed"] = r.replayed;
  j["unchanged"] = r.unchanged;
  j["rule_changed"] = r.rule_changed;
  j["changed"] = r.changed;
  j["kinds"] = r.kinds;
  j["not_replayable"] = r.not_replayable;
  j["caveats"] = r.caveats;
  j["recorded_policies"] = r.recorded_policies;
  json rules = json::object();
  for (const auto& [rule, n] : r.by_rule) rules[rule] = {{"before", n.before}, {"after", n.after}};
  j["by_rule"] = rules;
  json peers = json::object();
  for (const auto& [peer, n] : r.by_peer) {
    peers[peer] = {{"replayed", n.replayed}, {"changed", n.changed}, {"kinds", n.kinds}};
  }
  j["by_peer"] = peers;
  json changes = json::array();
  for (const ReplayChange& c : r.changes) {
    changes.push_back(
        {{"seq", c.seq},
         {"time", c.time},
         {"direction", c.direction},
         {"peer", c.peer},
         {"endpoint", c.endpoint},
         {"kind", c.kind},
         {"from", {{"action", c.from_action}, {"rule", c.from_rule}}},
         {"to", {{"action", c.to_action}, {"rule", c.to_rule}, {"reason", c.to_reason}}}});
  }
  j["changes"] = changes;
  j["changes_not_listed"] = r.changes_not_listed;
  // Ids from the outside may be anything: never throw on invalid UTF-8, mark it.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string replay_html(const ReplayReport& r, const std::vector<std::string>& context) {
  std::ostringstream o;
  const std::string title = "bordergate policy replay: " + r.proposed_file;
  o << html_page_start(title);
  o << "<h1>" << html_escape(title) << "</h1>\n";
  for (const std::string& line : context) o << "<p>" << html_escape(line) << "</p>\n";
  o << "<p>Proposed policy SHA-256: <code>" << html_escape(r.proposed_sha256) << "</code></p>\n";
  // Action cells are coloured by the outcome they stand for (report forwards, like allow).
  const HtmlCellClass action_class = [](const std::string& cell) {
    const bool action =
        cell == "allow" || cell == "deny" || cell == "quarantine" || cell == "report";
    return action ? std::string(outcome_class(cell)) : std::string();
  };
  const auto table = [&](const std::string& heading, const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
    o << html_table(heading, {}, header, rows, action_class);
  };
  table("Summary", {"decisions", "replayed", "unchanged", "same outcome, other rule", "changed"},
        {{std::to_string(r.decisions), std::to_string(r.replayed), std::to_string(r.unchanged),
          std::to_string(r.rule_changed), std::to_string(r.changed)}});
  std::vector<std::vector<std::string>> rows;
  for (const auto& [kind, n] : r.kinds) rows.push_back({kind, std::to_string(n)});
  table("Outcome changes", {"change", "decisions"}, rows);
  rows.clear();
  for (const auto& [why, n] : r.not_replayable) rows.push_back({why, std::to_string(n)});
  table("Not replayable", {"why", "decisions"}, rows);
  rows.clear();
  for (const auto& [why, n] : r.caveats) rows.push_back({why, std::to_string(n)});
  table("Replayed with a caveat", {"caveat", "decisions"}, rows);
  rows.clear();
  for (const auto& [rule, n] : r.by_rule) {
    rows.push_back(
        {rule.empty() ? "(none)" : rule, std::to_string(n.before), std::to_string(n.after)});
  }
  table("By rule", {"rule", "as recorded", "proposed"}, rows);
  rows.clear();
  for (const auto& [peer, n] : r.by_peer) {
    std::string kinds;
    for (const auto& [kind, k] : n.kinds)
      kinds += (kinds.empty() ? "" : "; ") + kind + ": " + std::to_string(k);
    rows.push_back({peer, std::to_string(n.replayed), std::to_string(n.changed), kinds});
  }
  table("By peer", {"peer", "replayed", "changed", "changes"}, rows);
  rows.clear();
  for (const ReplayChange& c : r.changes) {
    rows.push_back({std::to_string(c.seq), c.time, c.direction, c.peer, c.endpoint, c.from_action,
                    c.from_rule, c.to_action, c.to_rule, c.to_reason});
  }
  table("Every change",
        {"seq", "time", "direction", "peer", "endpoint", "recorded", "rule", "proposed", "rule",
         "reason"},
        rows);
  if (r.changes_not_listed > 0) {
    o << "<p>" << r.changes_not_listed << " more change(s) not listed.</p>\n";
  }
  o << kHtmlPageEnd;
  return o.str();
}

}  // namespace bordergate::policy
