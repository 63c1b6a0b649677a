// Iterative glob matching with single-star backtracking: O(n*m) worst case, no recursion,
// so a hostile pattern in a policy file cannot blow the stack.
#include "policy/glob.h"

namespace bordergate::policy {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

Glob::Glob(std::string_view pattern, bool case_insensitive)
    : pattern_(case_insensitive ? ascii_lower(pattern) : std::string(pattern)),
      case_insensitive_(case_insensitive) {
  all_stars_ = true;
  for (char c : pattern_) {
    if (c == '*' || c == '?') wildcards_ = true;
    if (c != '*') all_stars_ = false;
  }
}

bool Glob::matches(std::string_view s) const {
  const std::string_view p = pattern_;
  std::size_t pi = 0, si = 0;
  std::size_t star = std::string_view::npos, star_si = 0;
  while (si < s.size()) {
    const char sc = case_insensitive_ ? ascii_lower(s[si]) : s[si];
    if (pi < p.size() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == sc))) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      star_si = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++star_si;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace bordergate::policy
