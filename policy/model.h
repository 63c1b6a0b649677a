// Vocabulary of the compiled policy: actions, directions, peer selectors and their
// specificity. Shared by the loader, the evaluator and the auditor's tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace bordergate::policy {

// Ordered by severity: when two rules of the same peer specificity match, the more
// severe action wins (deny > quarantine > report > allow).
enum class Action : std::uint8_t { allow = 0, report = 1, quarantine = 2, deny = 3 };

// inbound: external server -> Core (the peer is the origin);
// outbound: Core -> external server (the peer is the destination).
enum class Direction : std::uint8_t { inbound = 1, outbound = 2 };
using DirectionMask = std::uint8_t;  // bit per Direction; 3 = both
inline constexpr DirectionMask kBothDirections = 3;

// How specifically a rule names its peer; the most specific matching level decides.
enum class PeerLevel : std::uint8_t {
  anyone = 0,        // `peer: anyone`: every request, known origin or not
  any = 1,           // `peer: any` (any authenticated peer) or `peer: unknown` (no origin)
  federation = 2,    // `federation: NAME`
  server_glob = 3,   // `servers: ["*.example"]`
  server_exact = 4,  // `servers: ["matrix.example"]`
};

enum class PeerKind : std::uint8_t { anyone, any, unknown, federation, servers };

std::string_view action_name(Action a);
std::optional<Action> action_from_name(std::string_view s);
std::string_view direction_name(Direction d);
std::string_view direction_mask_name(DirectionMask m);
std::string_view peer_level_name(PeerLevel l);

}  // namespace bordergate::policy
