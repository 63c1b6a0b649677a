// Semantic diff by probing (see diff.h).
#include "policy/diff.h"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "policy/capabilities.h"

namespace bordergate::policy {
namespace {

std::string federations_of(const Policy& p, const Decision& d) {
  if (!d.peer_known) return "unknown origin";
  if (d.federations.empty()) return "no federation";
  std::string s = "federation ";
  for (std::size_t i = 0; i < d.federations.size(); ++i) {
    s += (i ? "+" : "") + p.federations[d.federations[i]].name;
  }
  return s;
}

std::string settings_line(const Settings& s) {
  std::ostringstream o;
  o << "max_body_bytes " << s.max_body_bytes << ", max_pdus " << s.max_pdus << ", max_edus "
    << s.max_edus << ", rate ";
  if (s.rate.per_second > 0) {
    o << s.rate.per_second << "/s burst " << s.rate.burst;
  } else {
    o << "unlimited";
  }
  return o.str();
}

std::string media_line(const MediaPolicy& m) {
  if (!m.allowed) return "not allowed";
  std::string s = "allowed";
  if (m.max_bytes) s += ", max " + std::to_string(*m.max_bytes) + " bytes";
  if (!m.content_types.empty()) {
    s += ", types";
    for (const auto& t : m.content_types) s += " " + t;
  }
  return s;
}

std::string checks_line(const Settings& s) {
  std::string out;
  for (int k = 0; k < kCheckCount; ++k) {
    if (!s.checks[k])
      out += (out.empty() ? "relaxed: " : ", ") + std::string(check_name(static_cast<Check>(k)));
  }
  return out.empty() ? "all required" : out;
}

}  // namespace

std::string rule_fingerprint(const Policy& p, const Rule& r) {
  (void)p;
  std::ostringstream o;
  o << r.peer.text << " | " << direction_mask_name(r.directions) << " | " << action_name(r.action)
    << " | endpoints";
  for (const auto& e : r.endpoints_source) o << ' ' << e;
  if (r.endpoints_source.empty()) o << (r.action == Action::quarantine ? " send" : " all");
  if (r.rooms)
    for (const auto& s : r.rooms->source) o << " | room " << s;
  auto users = [&](const char* what, const std::optional<UserMatcher>& m) {
    if (m)
      for (const auto& u : m->patterns) o << " | " << what << ' ' << u.source;
  };
  users("user", r.users);
  users("invite_sender", r.invite_senders);
  users("invite_target", r.invite_targets);
  auto types = [&](const char* what, const std::optional<TypeMatcher>& m) {
    if (!m) return;
    o << " | " << what << (m->except ? " except" : "");
    for (const auto& t : m->source) o << ' ' << t;
  };
  types("event_types", r.event_types);
  types("edu_types", r.edu_types);
  auto outside = [&](const char* what, const std::vector<std::string>& feds, bool given) {
    if (!given) return;
    o << " | " << what;
    for (const auto& f : feds) o << ' ' << f;
  };
  outside("sender_outside", r.sender_outside_source, r.sender_outside.has_value());
  outside("room_creator_outside", r.room_creator_outside_source,
          r.room_creator_outside.has_value());
  outside("room_members_outside", r.room_members_outside_source,
          r.room_members_outside.has_value());
  return o.str();
}

namespace {

std::string_view change_mark(DiffChange::Kind k) {
  switch (k) {
    case DiffChange::Kind::gained:
      return "+ gained";
    case DiffChange::Kind::lost:
      return "- lost  ";
    case DiffChange::Kind::changed:
      return "~ changed";
  }
  return "~ changed";
}

std::string_view change_name(DiffChange::Kind k) {
  switch (k) {
    case DiffChange::Kind::gained:
      return "gained";
    case DiffChange::Kind::lost:
      return "lost";
    case DiffChange::Kind::changed:
      return "changed";
  }
  return "changed";
}

std::string_view rule_change_name(RuleDiff::Kind k) {
  switch (k) {
    case RuleDiff::Kind::added:
      return "added";
    case RuleDiff::Kind::removed:
      return "removed";
    case RuleDiff::Kind::changed:
      return "changed";
  }
  return "changed";
}

std::string diff_text(const PolicyDiff& d) {
  std::ostringstream o;
  for (const PeerDiff& peer : d.peers) {
    o << peer.peer << " [" << peer.server << "]\n";
    for (const DiffChange& c : peer.changes) {
      o << "  " << change_mark(c.kind) << "  " << c.what << ": " << c.before << " -> " << c.after
        << "\n";
    }
  }
  if (d.default_action) {
    o << "default action: " << action_name(d.default_action->first) << " -> "
      << action_name(d.default_action->second) << "\n";
  }
  if (!d.rules.empty()) o << "rules:\n";
  for (const RuleDiff& r : d.rules) {
    switch (r.kind) {
      case RuleDiff::Kind::removed:
        o << "  - removed  " << r.id << ": " << r.before << "\n";
        break;
      case RuleDiff::Kind::changed:
        o << "  ~ changed  " << r.id << ": " << r.before << "\n             now: " << r.after
          << "\n";
        break;
      case RuleDiff::Kind::added:
        o << "  + added    " << r.id << ": " << r.after << "\n";
        break;
    }
  }
  if (d.empty()) o << "no semantic differences\n";
  o << "summary: " << d.gained << " gained, " << d.lost << " lost, " << d.changed
    << " other changes\n";
  return o.str();
}

}  // namespace

PolicyDiff diff_policies(const Policy& a, const Policy& b) {
  PolicyDiff out;
  const auto probes = merge_probes(peer_probes(a, true), peer_probes(b, true));
  const auto events = event_types_of_interest(a, &b);
  const auto edus = edu_types_of_interest(a, &b);
  const auto conditional = conditional_probes(a, &b);

  auto verdict = [&](std::vector<DiffChange>& changes, const std::string& what, const Decision& x,
                     const Decision& y) {
    if (x.action == y.action) return;
    DiffChange::Kind kind;
    if (!x.forwards() && y.forwards()) {
      kind = DiffChange::Kind::gained;
      ++out.gained;
    } else if (x.forwards() && !y.forwards()) {
      kind = DiffChange::Kind::lost;
      ++out.lost;
    } else {
      kind = DiffChange::Kind::changed;
      ++out.changed;
    }
    changes.push_back(
        {kind, what, std::string(action_name(x.action)) + " (" + x.rule_id + ")",
         std::string(action_name(y.action)) + " (" + y.rule_id + ")",
         std::pair{ProbeVerdict{x.action, x.rule_id}, ProbeVerdict{y.action, y.rule_id}}});
  };
  auto setting = [&](std::vector<DiffChange>& changes, const std::string& what,
                     const std::string& x, const std::string& y) {
    if (x == y) return;
    ++out.changed;
    changes.push_back({DiffChange::Kind::changed, what, x, y, std::nullopt});
  };

  for (const PeerProbe& peer : probes) {
    std::vector<DiffChange> changes;
    std::string membership_a, membership_b;
    for (Direction d : {Direction::inbound, Direction::outbound}) {
      const std::string dir(direction_name(d));
      for (const EndpointInfo& info : endpoint_catalogue()) {
        if (!probe_applies(peer, d, info.endpoint)) continue;
        Decision x = probe_endpoint(a, peer, d, info.endpoint);
        Decision y = probe_endpoint(b, peer, d, info.endpoint);
        membership_a = federations_of(a, x);
        membership_b = federations_of(b, y);
        verdict(changes, dir + " " + std::string(info.name), x, y);
      }
      for (const ConditionalProbe& c : conditional) {
        if (!probe_applies(peer, d, c.endpoint)) continue;
        verdict(changes, dir + " " + c.label, probe_conditional(a, peer, d, c),
                probe_conditional(b, peer, d, c));
      }
      if (!probe_applies(peer, d, FederationEndpoint::send)) continue;
      for (const std::string& t : events) {
        verdict(changes, dir + " event type " + t, probe_event_type(a, peer, d, t),
                probe_event_type(b, peer, d, t));
      }
      verdict(changes, dir + " " + std::string(kRelayedProbeLabel), probe_relayed_event(a, peer, d),
              probe_relayed_event(b, peer, d));
      for (const std::string& t : edus) {
        verdict(changes, dir + " EDU type " + t, probe_edu_type(a, peer, d, t),
                probe_edu_type(b, peer, d, t));
      }
      Settings x = probe_settings(a, peer, d), y = probe_settings(b, peer, d);
      setting(changes, dir + " limits", settings_line(x), settings_line(y));
      setting(changes, dir + " media", media_line(*x.media), media_line(*y.media));
      setting(changes, dir + " checks", checks_line(x), checks_line(y));
    }
    setting(changes, "membership", membership_a, membership_b);
    if (changes.empty()) continue;
    out.peers.push_back({peer.label, peer.server.value_or("no X-Matrix"), std::move(changes)});
  }

  if (a.default_action != b.default_action) {
    ++out.changed;
    out.default_action = std::pair{a.default_action, b.default_action};
  }
  std::map<std::string, std::string> ra, rb;
  for (const Rule& r : a.rules) ra[r.id] = rule_fingerprint(a, r);
  for (const Rule& r : b.rules) rb[r.id] = rule_fingerprint(b, r);
  for (const auto& [id, fp] : ra) {
    auto it = rb.find(id);
    if (it == rb.end()) {
      out.rules.push_back({RuleDiff::Kind::removed, id, fp, {}});
    } else if (it->second != fp) {
      out.rules.push_back({RuleDiff::Kind::changed, id, fp, it->second});
    }
  }
  for (const auto& [id, fp] : rb) {
    if (!ra.count(id)) out.rules.push_back({RuleDiff::Kind::added, id, {}, fp});
  }
  if (!out.rules.empty()) ++out.changed;  // the rules section counts once
  out.text = diff_text(out);
  return out;
}

std::string diff_json(const PolicyDiff& d) {
  using json = nlohmann::ordered_json;  // keys in the order written
  json peers = json::array();
  for (const PeerDiff& peer : d.peers) {
    json changes = json::array();
    for (const DiffChange& c : peer.changes) {
      json change = {
          {"change", change_name(c.kind)}, {"what", c.what}, {"old", c.before}, {"new", c.after}};
      if (c.verdicts) {
        change["old_action"] = action_name(c.verdicts->first.action);
        change["old_rule"] = c.verdicts->first.rule_id;
        change["new_action"] = action_name(c.verdicts->second.action);
        change["new_rule"] = c.verdicts->second.rule_id;
      }
      changes.push_back(change);
    }
    peers.push_back({{"peer", peer.peer}, {"server", peer.server}, {"changes", changes}});
  }
  json rules = json::array();
  for (const RuleDiff& r : d.rules) {
    rules.push_back({{"change", rule_change_name(r.kind)},
                     {"rule", r.id},
                     {"old", r.before.empty() ? json(nullptr) : json(r.before)},
                     {"new", r.after.empty() ? json(nullptr) : json(r.after)}});
  }
  json j = {{"identical", d.empty()},
            {"summary", {{"gained", d.gained}, {"lost", d.lost}, {"changed", d.changed}}},
            {"peers", peers},
            {"default_action", nullptr},
            {"rules", rules}};
  if (d.default_action) {
    j["default_action"] = {{"old", action_name(d.default_action->first)},
                           {"new", action_name(d.default_action->second)}};
  }
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace bordergate::policy
