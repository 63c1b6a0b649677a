// Matching for the condition matchers.
#include "policy/matchers.h"

#include "policy/server_name.h"

namespace bordergate::policy {

bool TypeMatcher::listed(std::string_view type) const {
  if (exact.find(type) != exact.end()) return true;
  for (const Glob& g : globs) {
    if (g.matches(type)) return true;
  }
  return false;
}

bool TypeMatcher::matches(std::string_view type) const { return listed(type) != except; }

bool UserMatcher::matches(std::string_view user_id) const {
  if (user_id.size() < 2 || user_id[0] != '@') return false;
  auto colon = user_id.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view local = user_id.substr(1, colon - 1);
  std::string_view server = strip_port(user_id.substr(colon + 1));
  for (const UserPattern& p : patterns) {
    if (p.localpart.matches(local) && p.server.matches(server)) return true;
  }
  return false;
}

bool RoomMatcher::matches(std::string_view room_id) const {
  if (ids.find(room_id) != ids.end()) return true;
  if (creators.empty()) return false;
  std::string_view domain = id_domain(room_id);
  if (domain.empty()) return false;  // rooms v12+: no creator server in the id
  domain = strip_port(domain);
  for (const Glob& g : creators) {
    if (g.matches(domain)) return true;
  }
  return false;
}

}  // namespace bordergate::policy
