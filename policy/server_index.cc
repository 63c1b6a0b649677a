// Pattern classification for ServerIndex.
#include "policy/server_index.h"

namespace bordergate::policy {

void ServerIndex::add(std::string_view pattern, std::uint32_t tag, bool allow_ip_literals) {
  std::string p = ascii_lower(pattern);
  ++count_;
  const bool wild = p.find_first_of("*?") != std::string::npos;
  if (!wild) {
    exact_[p].push_back(Entry{tag, true, allow_ip_literals});
    return;
  }
  // "*.rest" with no other wildcard: the star may swallow dots, so a host matches exactly
  // when one of its dot-suffixes equals ".rest".
  if (p.size() >= 2 && p[0] == '*' && p[1] == '.' &&
      p.find_first_of("*?", 1) == std::string::npos) {
    suffix_[p.substr(1)].push_back(Entry{tag, false, allow_ip_literals});
    return;
  }
  const std::string tail = p.substr(p.find_last_of("*?") + 1);
  if (auto dot = tail.find('.'); dot != std::string::npos) {
    by_tail_[tail.substr(dot)].emplace_back(Glob(p, true), Entry{tag, false, allow_ip_literals});
    return;
  }
  other_.emplace_back(Glob(p, true), Entry{tag, false, allow_ip_literals});
}

}  // namespace bordergate::policy
