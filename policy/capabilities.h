// Capabilities of a policy, found by asking it: for a set of probe peers (one server per
// pattern the policy names, an unlisted server and the unknown origin) evaluate typical
// requests per endpoint, event type and EDU type. `policy report` prints these as a
// matrix; `policy diff` compares them between two policies.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/decision.h"
#include "policy/policy.h"

namespace bordergate::policy {

struct PeerProbe {
  std::string label;                  // what a reviewer reads: "federation opendesk"
  std::optional<std::string> server;  // the server name asked about; nullopt = unknown origin
};

// One probe per federation (its first pattern, globs instantiated), per server pattern
// in rules, an unlisted server, and the unknown origin. With `per_pattern`, one probe per
// federation pattern instead of one per federation (diff wants every pattern).
std::vector<PeerProbe> peer_probes(const Policy& policy, bool per_pattern);
// The union of two probe lists, by server (labels from the first list that has it).
std::vector<PeerProbe> merge_probes(std::vector<PeerProbe> a, const std::vector<PeerProbe>& b);

// A glob made concrete: `*` -> "x", `?` -> "x" ("*.example.org" -> "x.example.org").
std::string instantiate_pattern(const std::string& pattern);

Decision probe_endpoint(const Policy& p, const PeerProbe& peer, Direction d, FederationEndpoint e);
Decision probe_event_type(const Policy& p, const PeerProbe& peer, Direction d,
                          const std::string& type);
Decision probe_edu_type(const Policy& p, const PeerProbe& peer, Direction d,
                        const std::string& type);
Settings probe_settings(const Policy& p, const PeerProbe& peer, Direction d);

// Common types plus every exact type any rule of the given policies names.
std::vector<std::string> event_types_of_interest(const Policy& a, const Policy* b);

// An m.room.message whose sender and room are on a server in no federation, carried by the
// peer (a relayed event: what sender_outside_federations / room_creator_outside_federations
// judge). The event-type probes use events of the peer itself (inbound) or of the Core
// (outbound).
inline constexpr std::string_view kRelayedProbeLabel =
    "m.room.message relayed from a server in no federation";
Decision probe_relayed_event(const Policy& p, const PeerProbe& peer, Direction d);
std::vector<std::string> edu_types_of_interest(const Policy& a, const Policy* b);

// A request shaped after a rule's room, user or invite condition ("make_join in room
// !a:b", "invite to @boss-x:core"), so that diffs also show what conditional rules change.
struct ConditionalProbe {
  std::string label;
  FederationEndpoint endpoint;
  std::string room, user, invite_sender, invite_target;
  // For rules on a room's members: the servers joined to the probe's room (the Core and a
  // server in no federation: a mixed room).
  std::optional<std::vector<std::string>> room_servers = std::nullopt;
};
std::vector<ConditionalProbe> conditional_probes(const Policy& a, const Policy* b);
Decision probe_conditional(const Policy& p, const PeerProbe& peer, Direction d,
                           const ConditionalProbe& c);

// A request to this endpoint can come from this probe in this direction at all
// (unknown origins only call unauthenticated endpoints, and only inbound).
bool probe_applies(const PeerProbe& peer, Direction d, FederationEndpoint e);

}  // namespace bordergate::policy
