// Index construction for a freshly loaded Policy.
#include "policy/policy.h"

#include <algorithm>

namespace bordergate::policy {

void Policy::finish() {
  defaults.media = &default_media;
  servers = ServerIndex{};
  rules_by_federation.assign(federations.size(), {});
  settings_by_federation.assign(federations.size(), {});
  rules_any.clear();
  rules_unknown.clear();
  rules_anyone.clear();
  settings_any.clear();
  settings_unknown.clear();
  settings_anyone.clear();
  reads_room_members = std::any_of(
      rules.begin(), rules.end(), [](const Rule& r) { return r.room_members_outside.has_value(); });
  for (std::uint32_t f = 0; f < federations.size(); ++f) {
    for (const std::string& pattern : federations[f].servers) {
      servers.add(pattern, f, federations[f].allow_ip_literals);
    }
  }
  auto place = [&](const PeerSelector& peer, std::uint32_t index, std::uint32_t tag,
                   std::vector<std::vector<std::uint32_t>>& by_federation,
                   std::vector<std::uint32_t>& any, std::vector<std::uint32_t>& unknown,
                   std::vector<std::uint32_t>& anyone) {
    switch (peer.kind) {
      case PeerKind::federation:
        by_federation[peer.federation].push_back(index);
        break;
      case PeerKind::servers:
        for (const std::string& pattern : peer.servers) servers.add(pattern, tag | index, false);
        break;
      case PeerKind::any:
        any.push_back(index);
        break;
      case PeerKind::unknown:
        unknown.push_back(index);
        break;
      case PeerKind::anyone:
        anyone.push_back(index);
        break;
    }
  };
  for (std::uint32_t r = 0; r < rules.size(); ++r) {
    place(rules[r].peer, r, kRuleTag, rules_by_federation, rules_any, rules_unknown, rules_anyone);
  }
  for (std::uint32_t s = 0; s < settings.size(); ++s) {
    place(settings[s].peer, s, kSettingsTag, settings_by_federation, settings_any, settings_unknown,
          settings_anyone);
  }
}

}  // namespace bordergate::policy
