// Probing a policy with representative requests (see capabilities.h).
#include "policy/capabilities.h"

#include <algorithm>
#include <map>
#include <set>

#include "policy/evaluate.h"

namespace bordergate::policy {
namespace {

constexpr const char* kUnlisted = "unlisted-server.invalid";

RequestFacts base_facts(const Policy& p, const PeerProbe& peer, Direction d, FederationEndpoint e) {
  RequestFacts f;
  f.direction = d;
  f.endpoint = e;
  if (d == Direction::inbound) {
    if (peer.server) f.origin = *peer.server;
    f.destination = p.server_name;
    if (peer.server && endpoint_info(e).auth == EndpointAuth::x_matrix) {
      f.x_matrix = CheckResult::passed;
    }
  } else {
    f.origin = p.server_name;
    f.destination = peer.server.value_or("");
  }
  return f;
}

std::string instantiate_user(const std::string& pattern) {
  return instantiate_pattern(pattern);  // `@loc*:*.example` -> `@locx:x.example`
}

void collect_conditional(const Policy& p, std::map<std::string, ConditionalProbe>& out) {
  for (const Rule& r : p.rules) {
    if (r.is_content_rule()) continue;
    for (const EndpointInfo& info : endpoint_catalogue()) {
      if (!(r.endpoints & endpoint_bit(info.endpoint))) continue;
      const std::string name(info.name);
      if (r.rooms && info.room_in_path) {
        std::vector<std::string> rooms(r.rooms->ids.begin(), r.rooms->ids.end());
        for (const Glob& g : r.rooms->creators) {
          rooms.push_back("!probe:" + instantiate_pattern(g.pattern()));
        }
        for (const std::string& room : rooms) {
          ConditionalProbe c{name + " in room " + room, info.endpoint, room, {}, {}, {}};
          out.emplace(c.label, c);
        }
      }
      const bool user_param = info.user_in_path ||
                              info.endpoint == FederationEndpoint::query_profile ||
                              info.endpoint == FederationEndpoint::user_keys_query ||
                              info.endpoint == FederationEndpoint::user_keys_claim;
      if (r.users && user_param) {
        for (const UserPattern& u : r.users->patterns) {
          const std::string user = instantiate_user(u.source);
          out.emplace(name + " about " + user,
                      ConditionalProbe{name + " about " + user, info.endpoint, {}, user, {}, {}});
        }
      }
      if (r.room_members_outside && info.room_in_path) {
        // A room the Core and a server in no federation have members in.
        ConditionalProbe c{name + " into a room with a member on a server in no federation",
                           info.endpoint,
                           "!probe:" + p.server_name,
                           {},
                           {},
                           {}};
        c.room_servers =
            std::vector<std::string>{p.server_name, "member." + std::string(kUnlisted)};
        out.emplace(c.label, c);
      }
      if (info.endpoint == FederationEndpoint::invite) {
        if (r.invite_senders) {
          for (const UserPattern& u : r.invite_senders->patterns) {
            const std::string user = instantiate_user(u.source);
            out.emplace("invite from " + user,
                        ConditionalProbe{"invite from " + user, info.endpoint, {}, {}, user, {}});
          }
        }
        if (r.invite_targets) {
          for (const UserPattern& u : r.invite_targets->patterns) {
            const std::string user = instantiate_user(u.source);
            out.emplace("invite to " + user,
                        ConditionalProbe{"invite to " + user, info.endpoint, {}, {}, {}, user});
          }
        }
      }
    }
  }
}

void collect_types(const Policy& p, bool edu, std::set<std::string>& out) {
  for (const Rule& r : p.rules) {
    const auto& m = edu ? r.edu_types : r.event_types;
    if (m) out.insert(m->exact.begin(), m->exact.end());
  }
}

// The verdict on a /send of `peer` carrying one event of `type` sent by a user of `server` in a
// room that server created.
Decision probe_pdu(const Policy& p, const PeerProbe& peer, Direction d, const std::string& type,
                   const std::string& server) {
  RequestFacts f = base_facts(p, peer, d, FederationEndpoint::send);
  f.pdus.push_back({type, "!probe:" + server, "@probe:" + server, {}, {}});
  return evaluate(p, f);
}

}  // namespace

std::string instantiate_pattern(const std::string& pattern) {
  std::string s;
  for (char c : pattern) s += (c == '*' || c == '?') ? std::string("x") : std::string(1, c);
  return s;
}

std::vector<PeerProbe> peer_probes(const Policy& p, bool per_pattern) {
  std::vector<PeerProbe> out;
  for (const Federation& f : p.federations) {
    for (const std::string& s : f.servers) {
      out.push_back(
          {"federation " + f.name + (per_pattern ? " (" + s + ")" : ""), instantiate_pattern(s)});
      if (!per_pattern) break;
    }
  }
  for (const Rule& r : p.rules) {
    for (const std::string& s : r.peer.servers)
      out.push_back({"server " + s, instantiate_pattern(s)});
  }
  for (const SettingsEntry& e : p.settings) {
    for (const std::string& s : e.peer.servers)
      out.push_back({"server " + s, instantiate_pattern(s)});
  }
  out.push_back({"any other server", std::string(kUnlisted)});
  out.push_back({"unknown origin", std::nullopt});
  return merge_probes(std::move(out), {});
}

std::vector<PeerProbe> merge_probes(std::vector<PeerProbe> a, const std::vector<PeerProbe>& b) {
  std::vector<PeerProbe> out;
  auto add = [&](const PeerProbe& probe) {
    for (const PeerProbe& have : out) {
      if (have.server == probe.server) return;
    }
    out.push_back(probe);
  };
  for (const PeerProbe& probe : a) add(probe);
  for (const PeerProbe& probe : b) add(probe);
  // Keep "any other server" and "unknown origin" last, where readers look for them.
  std::stable_partition(out.begin(), out.end(),
                        [](const PeerProbe& x) { return x.server && *x.server != kUnlisted; });
  return out;
}

bool probe_applies(const PeerProbe& peer, Direction d, FederationEndpoint e) {
  const bool unauthenticated = endpoint_info(e).auth != EndpointAuth::x_matrix;
  if (!peer.server) return d == Direction::inbound && unauthenticated;
  if (d == Direction::inbound && unauthenticated) return false;  // arrives as unknown origin
  return true;
}

Decision probe_endpoint(const Policy& p, const PeerProbe& peer, Direction d, FederationEndpoint e) {
  return evaluate(p, base_facts(p, peer, d, e));
}

Decision probe_event_type(const Policy& p, const PeerProbe& peer, Direction d,
                          const std::string& type) {
  // The peer's own event (inbound), or the Core's (outbound).
  const bool own = d == Direction::inbound && peer.server;
  return probe_pdu(p, peer, d, type, own ? *peer.server : p.server_name);
}

Decision probe_relayed_event(const Policy& p, const PeerProbe& peer, Direction d) {
  return probe_pdu(p, peer, d, "m.room.message", "relayed." + std::string(kUnlisted));
}

Decision probe_edu_type(const Policy& p, const PeerProbe& peer, Direction d,
                        const std::string& type) {
  RequestFacts f = base_facts(p, peer, d, FederationEndpoint::send);
  f.edus.push_back({type, {}, {}, {}});
  return evaluate(p, f);
}

Settings probe_settings(const Policy& p, const PeerProbe& peer, Direction d) {
  return resolve_settings(p, peer.server, d);
}

std::vector<ConditionalProbe> conditional_probes(const Policy& a, const Policy* b) {
  std::map<std::string, ConditionalProbe> probes;
  collect_conditional(a, probes);
  if (b) collect_conditional(*b, probes);
  std::vector<ConditionalProbe> out;
  for (auto& [label, probe] : probes) out.push_back(std::move(probe));
  return out;
}

Decision probe_conditional(const Policy& p, const PeerProbe& peer, Direction d,
                           const ConditionalProbe& c) {
  RequestFacts f = base_facts(p, peer, d, c.endpoint);
  f.room_id = c.room;
  f.user_id = c.user;
  f.invite_sender = c.invite_sender;
  f.invite_target = c.invite_target;
  f.room_servers = c.room_servers;
  return evaluate(p, f);
}

std::vector<std::string> event_types_of_interest(const Policy& a, const Policy* b) {
  std::set<std::string> s = {"m.room.message",   "m.room.encrypted",    "m.room.member",
                             "m.room.create",    "m.room.power_levels", "m.reaction",
                             "m.room.redaction", "m.room.server_acl"};
  collect_types(a, false, s);
  if (b) collect_types(*b, false, s);
  return {s.begin(), s.end()};
}

std::vector<std::string> edu_types_of_interest(const Policy& a, const Policy* b) {
  std::set<std::string> s = {"m.typing",
                             "m.receipt",
                             "m.presence",
                             "m.device_list_update",
                             "m.signing_key_update",
                             "m.direct_to_device"};
  collect_types(a, true, s);
  if (b) collect_types(*b, true, s);
  return {s.begin(), s.end()};
}

}  // namespace bordergate::policy
