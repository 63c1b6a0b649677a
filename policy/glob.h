// Glob patterns as in m.room.server_acl (federation-notes §8): `*` is zero or more
// characters, `?` exactly one, everything else literal, anchored at both ends.
// Compiled once at load time; matching never allocates.
#pragma once

#include <string>
#include <string_view>

namespace bordergate::policy {

class Glob {
 public:
  Glob() = default;
  // With case_insensitive the pattern is lower-cased here and the subject is folded
  // (ASCII only) while matching: server names are DNS names, user localparts are not.
  Glob(std::string_view pattern, bool case_insensitive);

  bool matches(std::string_view subject) const;
  bool has_wildcards() const { return wildcards_; }
  bool matches_everything() const { return all_stars_ && !pattern_.empty(); }
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  bool case_insensitive_ = false;
  bool wildcards_ = false;
  bool all_stars_ = false;
};

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string ascii_lower(std::string_view s);

}  // namespace bordergate::policy
