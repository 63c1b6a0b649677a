// Compiled matchers for the non-peer conditions of a rule: event/EDU types, user ids and
// room ids. Plain structs, built once by the loader; matching never allocates.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "policy/glob.h"
#include "policy/server_index.h"

namespace bordergate::policy {

using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// Event types / EDU types: a list of exact names and globs (`m.room.*`), case-sensitive as
// Matrix types are; `except` inverts the list ("every type but these").
struct TypeMatcher {
  StringSet exact;
  std::vector<Glob> globs;
  bool except = false;
  std::vector<std::string> source;  // as written, for reports

  bool matches(std::string_view type) const;
  bool listed(std::string_view type) const;  // in the list, ignoring `except`
};

// User ids: `@localpart:server` where the localpart glob is case-sensitive (user ids are)
// and the server glob is case-insensitive (DNS names are).
struct UserPattern {
  Glob localpart;
  Glob server;
  std::string source;
};
struct UserMatcher {
  std::vector<UserPattern> patterns;
  bool matches(std::string_view user_id) const;
};

// Room ids: exact ids (any room version, including v12 ids without a domain) and, for ids
// that carry one, globs on the creating server's name.
struct RoomMatcher {
  StringSet ids;
  std::vector<Glob> creators;
  std::vector<std::string> source;
  bool matches(std::string_view room_id) const;
};

}  // namespace bordergate::policy
