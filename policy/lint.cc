// Lint warnings for a compiled policy: the mistakes that load fine but surprise the
// operator later. Each warning has a stable code so CI can allow or forbid it.
#include <algorithm>

#include "policy/loader.h"

namespace bordergate::policy {
namespace {

using FE = FederationEndpoint;

constexpr EndpointSet kUnauthenticated = kOriginUnknownEndpoints;

// The EDUs every conversation produces; denying them holds back whole transactions.
constexpr std::string_view kCommonEdus[] = {
    "m.typing",          "m.receipt", "m.presence", "m.device_list_update", "m.signing_key_update",
    "m.direct_to_device"};
// State events a room cannot work without.
constexpr std::string_view kRoomStateTypes[] = {"m.room.create", "m.room.member",
                                                "m.room.power_levels", "m.room.join_rules"};

EndpointSet pdu_endpoints() {
  EndpointSet s = 0;
  for (const auto& info : endpoint_catalogue()) {
    if (info.request_carries_pdus) s |= endpoint_bit(info.endpoint);
  }
  return s;
}

Diagnostic warn(const SourceLocation& loc, std::string code, std::string message) {
  return {Diagnostic::Severity::warning, std::move(code), std::move(message), loc};
}

bool same_type_matcher(const std::optional<TypeMatcher>& a, const std::optional<TypeMatcher>& b) {
  if (!a) return true;  // absent in the earlier rule: it matches every type
  return b && a->except == b->except && a->source == b->source;
}

template <class M>
bool covers(const std::optional<M>& earlier, const std::optional<M>& later) {
  if (!earlier) return true;
  if (!later) return false;
  std::vector<std::string> a, b;
  for (const auto& p : earlier->patterns) a.push_back(p.source);
  for (const auto& p : later->patterns) b.push_back(p.source);
  return a == b;
}

bool covers_rooms(const std::optional<RoomMatcher>& a, const std::optional<RoomMatcher>& b) {
  if (!a) return true;
  return b && a->source == b->source;
}

// `earlier` matches everything `later` matches and wins every tie against it.
bool shadows(const Rule& earlier, const Rule& later) {
  return earlier.peer.text == later.peer.text &&
         (earlier.directions & later.directions) == later.directions &&
         (earlier.endpoints & later.endpoints) == later.endpoints &&
         earlier.is_content_rule() == later.is_content_rule() && earlier.action >= later.action &&
         same_type_matcher(earlier.event_types, later.event_types) &&
         same_type_matcher(earlier.edu_types, later.edu_types) &&
         (earlier.event_types.has_value() == later.event_types.has_value()) &&
         (earlier.edu_types.has_value() == later.edu_types.has_value()) &&
         covers_rooms(earlier.rooms, later.rooms) && covers(earlier.users, later.users) &&
         covers(earlier.invite_senders, later.invite_senders) &&
         covers(earlier.invite_targets, later.invite_targets) &&
         (!earlier.sender_outside || earlier.sender_outside == later.sender_outside) &&
         (!earlier.room_creator_outside ||
          earlier.room_creator_outside == later.room_creator_outside) &&
         (!earlier.room_members_outside ||
          earlier.room_members_outside == later.room_members_outside);
}

void lint_rule(const Policy& p, const Rule& r, std::vector<Diagnostic>& out) {
  const std::string who = "rule `" + r.id + "`";
  const bool inbound_only = r.directions == static_cast<DirectionMask>(Direction::inbound);
  const bool outbound = r.directions & static_cast<DirectionMask>(Direction::outbound);
  const bool named_peer = r.peer.kind == PeerKind::federation || r.peer.kind == PeerKind::servers ||
                          r.peer.kind == PeerKind::any;

  // ---- rules that can never match ----
  if (r.peer.kind == PeerKind::unknown && !(r.directions & 1)) {
    out.push_back(warn(r.location, "rule_never_matches",
                       who + ": outbound requests always have a destination, so `peer: unknown` "
                             "never matches them"));
  } else if (r.peer.kind == PeerKind::unknown && !(r.endpoints & kUnauthenticated)) {
    out.push_back(warn(r.location, "rule_never_matches",
                       who + ": requests to these endpoints always carry X-Matrix, so their "
                             "origin is never unknown"));
  } else if (named_peer && inbound_only && (r.endpoints & ~kUnauthenticated) == 0) {
    out.push_back(warn(r.location, "rule_never_matches",
                       who + ": inbound requests to these endpoints carry no X-Matrix, so the "
                             "origin is unknown; use `peer: unknown` or `peer: anyone`"));
  }
  if (!(r.directions & 1) && r.endpoints != 0 && (r.endpoints & ~kExplicitOnlyEndpoints) == 0) {
    out.push_back(warn(r.location, "rule_never_matches",
                       who + ": the legacy media endpoints are inbound only; the Core's own legacy "
                             "media requests are judged as media.download / media.thumbnail"));
  }
  if (r.event_types && r.endpoints_given && !(r.endpoints & pdu_endpoints())) {
    out.push_back(warn(r.location, "rule_never_matches",
                       who + ": `event_types` only match PDUs, and none of its endpoints carries "
                             "PDUs"));
  }
  if (r.edu_types && !r.event_types && r.endpoints_given &&
      !(r.endpoints & endpoint_bit(FE::send))) {
    out.push_back(warn(r.location, "rule_never_matches",
                       who + ": `edu_types` only match EDUs, which travel in `send` only"));
  }
  if ((r.invite_senders || r.invite_targets) && !(r.endpoints & endpoint_bit(FE::invite))) {
    out.push_back(warn(r.location, "rule_never_matches",
                       who + ": invite conditions need the `invite` endpoint"));
  }
  // Room and user conditions of request rules read path parameters; an endpoint without
  // them never supplies the fact (content rules read the PDUs/EDUs instead).
  if (!r.is_content_rule() && r.endpoints_given) {
    EndpointSet with_room = 0, with_user = endpoint_bit(FE::query_profile) |
                                           endpoint_bit(FE::user_keys_query) |
                                           endpoint_bit(FE::user_keys_claim);
    for (const auto& info : endpoint_catalogue()) {
      if (info.room_in_path) with_room |= endpoint_bit(info.endpoint);
      if (info.user_in_path) with_user |= endpoint_bit(info.endpoint);
    }
    if (r.rooms && !(r.endpoints & with_room)) {
      out.push_back(warn(r.location, "rule_never_matches",
                         who + ": `rooms` needs an endpoint with a room in its path"));
    }
    if (r.users && !(r.endpoints & with_user)) {
      out.push_back(warn(r.location, "rule_never_matches",
                         who + ": `users` needs an endpoint that names a user"));
    }
  }
  if (r.endpoints == 0) {
    out.push_back(warn(r.location, "rule_never_matches", who + ": its endpoint list is empty"));
  }

  // ---- allow-all ----
  const bool unconditional = !r.endpoints_given && !r.rooms && !r.users && !r.invite_senders &&
                             !r.invite_targets && !r.is_content_rule();
  if (r.action == Action::allow && unconditional &&
      (r.peer.kind == PeerKind::any || r.peer.kind == PeerKind::anyone)) {
    out.push_back(warn(r.location, "allow_all_rule", who + " allows every endpoint to every peer"));
  }
  for (const std::string& s : r.peer.servers) {
    if (Glob(s, true).matches_everything()) {
      out.push_back(warn(r.location, "allow_all_pattern",
                         who + ": server pattern `" + s + "` matches every server"));
    }
  }

  // ---- rules that hold back ordinary traffic ----
  if (r.action == Action::deny || r.action == Action::quarantine) {
    const char* verb = r.action == Action::deny ? "denies" : "quarantines";
    if (r.edu_types) {
      for (std::string_view edu : kCommonEdus) {
        if (r.edu_types->matches(edu)) {
          out.push_back(warn(r.location, "holds_back_common_edu",
                             who + " " + verb + " every transaction carrying `" + std::string(edu) +
                                 "`: transactions are judged whole, so ordinary messages in "
                                 "them are held back too"));
          break;
        }
      }
    }
    // A rule on the servers events name refuses room state of outside servers only: keeping
    // such rooms out of sync is its purpose.
    if (r.event_types && !r.rooms && !r.users && !r.sender_outside && !r.room_creator_outside) {
      for (std::string_view type : kRoomStateTypes) {
        if (r.event_types->matches(type)) {
          out.push_back(warn(r.location, "holds_back_room_state",
                             who + " " + verb + " `" + std::string(type) +
                                 "` events, without which rooms cannot be joined or kept in sync"));
          break;
        }
      }
    }
    if (!r.is_content_rule() && !r.rooms && !r.users && !r.invite_senders && !r.invite_targets) {
      const bool denies_own_keys =
          (r.endpoints & endpoint_bit(FE::key_server)) && (r.directions & 1) &&
          (r.peer.kind == PeerKind::unknown || r.peer.kind == PeerKind::anyone);
      const bool denies_their_keys =
          (r.endpoints & (endpoint_bit(FE::key_server) | endpoint_bit(FE::key_query))) &&
          outbound && r.peer.kind != PeerKind::unknown;
      if (denies_own_keys || denies_their_keys) {
        out.push_back(warn(r.location, "denies_key_endpoints",
                           who + " denies server key endpoints: signatures "
                                 "from or to these peers can then no longer be verified"));
      }
    }
  }
  (void)p;
}

void lint_federations(const Policy& p, std::vector<Diagnostic>& out) {
  for (std::size_t i = 0; i < p.federations.size(); ++i) {
    const Federation& a = p.federations[i];
    for (const std::string& s : a.servers) {
      if (Glob(s, true).matches_everything()) {
        out.push_back(
            warn(a.location, "allow_all_pattern",
                 "federation `" + a.name + "`: pattern `" + s + "` matches every server"));
      }
    }
    for (std::size_t j = i + 1; j < p.federations.size(); ++j) {
      const Federation& b = p.federations[j];
      // A glob that matches another pattern's text covers (at least part of) it.
      auto overlap = [](const Federation& x, const Federation& y) -> std::string {
        for (const std::string& px : x.servers) {
          Glob g(px, true);
          for (const std::string& py : y.servers) {
            if (g.matches(py)) return py + "` (matched by `" + px;
          }
        }
        return {};
      };
      std::string hit = overlap(a, b);
      if (hit.empty()) hit = overlap(b, a);
      if (!hit.empty()) {
        out.push_back(warn(b.location, "overlapping_federations",
                           "federations `" + a.name + "` and `" + b.name + "` overlap on `" + hit +
                               "`); a server in both gets the rules of both"));
      }
    }
  }
}

}  // namespace

std::vector<Diagnostic> lint_policy(const Policy& p) {
  std::vector<Diagnostic> out;
  if (p.default_action == Action::allow) {
    out.push_back(warn({p.source, 0, 0}, "default_allow",
                       "`default: allow` forwards everything no rule mentions"));
  }
  lint_federations(p, out);
  for (std::size_t i = 0; i < p.rules.size(); ++i) {
    lint_rule(p, p.rules[i], out);
    for (std::size_t j = 0; j < i; ++j) {
      if (shadows(p.rules[j], p.rules[i])) {
        out.push_back(warn(p.rules[i].location, "shadowed_rule",
                           "rule `" + p.rules[i].id + "` never decides: the earlier rule `" +
                               p.rules[j].id + "` matches everything it matches and wins"));
        break;
      }
    }
  }
  return out;
}

}  // namespace bordergate::policy
