// Names of the vocabulary, as they appear in policy files, decisions and reports.
#include "policy/model.h"

namespace bordergate::policy {

std::string_view action_name(Action a) {
  switch (a) {
    case Action::allow:
      return "allow";
    case Action::report:
      return "report";
    case Action::quarantine:
      return "quarantine";
    case Action::deny:
      return "deny";
  }
  return "deny";
}

std::optional<Action> action_from_name(std::string_view s) {
  if (s == "allow") return Action::allow;
  if (s == "report") return Action::report;
  if (s == "quarantine") return Action::quarantine;
  if (s == "deny") return Action::deny;
  return std::nullopt;
}

std::string_view direction_name(Direction d) {
  return d == Direction::inbound ? "inbound" : "outbound";
}

std::string_view direction_mask_name(DirectionMask m) {
  switch (m) {
    case 1:
      return "inbound";
    case 2:
      return "outbound";
    default:
      return "both";
  }
}

std::string_view peer_level_name(PeerLevel l) {
  switch (l) {
    case PeerLevel::anyone:
      return "anyone";
    case PeerLevel::any:
      return "any peer";
    case PeerLevel::federation:
      return "federation";
    case PeerLevel::server_glob:
      return "server glob";
    case PeerLevel::server_exact:
      return "exact server";
  }
  return "anyone";
}

}  // namespace bordergate::policy
