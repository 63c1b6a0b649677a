// Semantic diff by probing (see diff.h).
#include "policy/diff.h"

#include <map>
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

PolicyDiff diff_policies(const Policy& a, const Policy& b) {
  PolicyDiff out;
  std::ostringstream o;
  const auto probes = merge_probes(peer_probes(a, true), peer_probes(b, true));
  const auto events = event_types_of_interest(a, &b);
  const auto edus = edu_types_of_interest(a, &b);
  const auto conditional = conditional_probes(a, &b);

  auto verdict = [&](std::ostringstream& lines, const std::string& what, const Decision& x,
                     const Decision& y) {
    if (x.action == y.action) return;
    const char* kind;
    if (!x.forwards() && y.forwards()) {
      kind = "+ gained";
      ++out.gained;
    } else if (x.forwards() && !y.forwards()) {
      kind = "- lost  ";
      ++out.lost;
    } else {
      kind = "~ changed";
      ++out.changed;
    }
    lines << "  " << kind << "  " << what << ": " << action_name(x.action) << " (" << x.rule_id
          << ") -> " << action_name(y.action) << " (" << y.rule_id << ")\n";
  };
  auto setting = [&](std::ostringstream& lines, const std::string& what, const std::string& x,
                     const std::string& y) {
    if (x == y) return;
    ++out.changed;
    lines << "  ~ changed  " << what << ": " << x << " -> " << y << "\n";
  };

  for (const PeerProbe& peer : probes) {
    std::ostringstream lines;
    std::string membership_a, membership_b;
    for (Direction d : {Direction::inbound, Direction::outbound}) {
      const std::string dir(direction_name(d));
      for (const EndpointInfo& info : endpoint_catalogue()) {
        if (!probe_applies(peer, d, info.endpoint)) continue;
        Decision x = probe_endpoint(a, peer, d, info.endpoint);
        Decision y = probe_endpoint(b, peer, d, info.endpoint);
        membership_a = federations_of(a, x);
        membership_b = federations_of(b, y);
        verdict(lines, dir + " " + std::string(info.name), x, y);
      }
      for (const ConditionalProbe& c : conditional) {
        if (!probe_applies(peer, d, c.endpoint)) continue;
        verdict(lines, dir + " " + c.label, probe_conditional(a, peer, d, c),
                probe_conditional(b, peer, d, c));
      }
      if (!probe_applies(peer, d, FederationEndpoint::send)) continue;
      for (const std::string& t : events) {
        verdict(lines, dir + " event type " + t, probe_event_type(a, peer, d, t),
                probe_event_type(b, peer, d, t));
      }
      verdict(lines, dir + " " + std::string(kRelayedProbeLabel), probe_relayed_event(a, peer, d),
              probe_relayed_event(b, peer, d));
      for (const std::string& t : edus) {
        verdict(lines, dir + " EDU type " + t, probe_edu_type(a, peer, d, t),
                probe_edu_type(b, peer, d, t));
      }
      Settings x = probe_settings(a, peer, d), y = probe_settings(b, peer, d);
      setting(lines, dir + " limits", settings_line(x), settings_line(y));
      setting(lines, dir + " media", media_line(*x.media), media_line(*y.media));
      setting(lines, dir + " checks", checks_line(x), checks_line(y));
    }
    if (membership_a != membership_b) {
      ++out.changed;
      lines << "  ~ changed  membership: " << membership_a << " -> " << membership_b << "\n";
    }
    const std::string body = lines.str();
    if (body.empty()) continue;
    o << peer.label << " [" << peer.server.value_or("no X-Matrix") << "]\n" << body;
  }

  if (a.default_action != b.default_action) {
    ++out.changed;
    o << "default action: " << action_name(a.default_action) << " -> "
      << action_name(b.default_action) << "\n";
  }
  std::map<std::string, std::string> ra, rb;
  for (const Rule& r : a.rules) ra[r.id] = rule_fingerprint(a, r);
  for (const Rule& r : b.rules) rb[r.id] = rule_fingerprint(b, r);
  std::ostringstream rules;
  for (const auto& [id, fp] : ra) {
    auto it = rb.find(id);
    if (it == rb.end()) {
      rules << "  - removed  " << id << ": " << fp << "\n";
    } else if (it->second != fp) {
      rules << "  ~ changed  " << id << ": " << fp << "\n             now: " << it->second << "\n";
    }
  }
  for (const auto& [id, fp] : rb) {
    if (!ra.count(id)) rules << "  + added    " << id << ": " << fp << "\n";
  }
  if (!rules.str().empty()) {
    ++out.changed;
    o << "rules:\n" << rules.str();
  }
  if (out.empty()) o << "no semantic differences\n";
  o << "summary: " << out.gained << " gained, " << out.lost << " lost, " << out.changed
    << " other changes\n";
  out.text = o.str();
  return out;
}

}  // namespace bordergate::policy
