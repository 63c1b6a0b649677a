// An index over many server-name patterns, built once per policy. Exact names and
// `*.suffix` globs (the common shapes) are hash lookups; any other glob is tried in turn.
// This is what keeps evaluation fast with a thousand peer patterns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/glob.h"

namespace bordergate::policy {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class ServerIndex {
 public:
  struct Entry {
    std::uint32_t tag;       // what the pattern belongs to (the caller's numbering)
    bool exact;              // an exact name rather than a glob
    bool allow_ip_literals;  // may match an IP-literal host
  };

  // `pattern` must be valid (is_valid_server_pattern) and carry no port.
  void add(std::string_view pattern, std::uint32_t tag, bool allow_ip_literals);

  // Calls `visit(const Entry&)` for every pattern matching `host`, which must already be
  // lower-cased and stripped of its port.
  template <class Visit>
  void for_each_match(std::string_view host, bool host_is_ip, Visit&& visit) const {
    auto offer = [&](const Entry& e) {
      if (!host_is_ip || e.allow_ip_literals) visit(e);
    };
    if (auto it = exact_.find(host); it != exact_.end()) {
      for (const Entry& e : it->second) offer(e);
    }
    if (!suffix_.empty() || !by_tail_.empty()) {
      for (std::size_t i = 0; i < host.size(); ++i) {
        if (host[i] != '.') continue;
        if (auto it = suffix_.find(host.substr(i)); it != suffix_.end()) {
          for (const Entry& e : it->second) offer(e);
        }
        if (auto it = by_tail_.find(host.substr(i)); it != by_tail_.end()) {
          for (const auto& [glob, e] : it->second) {
            if (glob.matches(host)) offer(e);
          }
        }
      }
    }
    for (const auto& [glob, e] : other_) {
      if (glob.matches(host)) offer(e);
    }
  }

  std::size_t size() const { return count_; }

 private:
  using Map = std::unordered_map<std::string, std::vector<Entry>, StringHash, std::equal_to<>>;
  Map exact_;   // "matrix.example"
  Map suffix_;  // "*.example" stored as ".example"
  // Other globs whose literal tail holds a dot, keyed by the dot-suffix every matching host
  // ends with ("srv?.example.org" under ".example.org"); the rest are tried in turn.
  std::unordered_map<std::string, std::vector<std::pair<Glob, Entry>>, StringHash, std::equal_to<>>
      by_tail_;
  std::vector<std::pair<Glob, Entry>> other_;
  std::size_t count_ = 0;
};

}  // namespace bordergate::policy
