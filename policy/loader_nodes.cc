// Value readers of the policy loader (see loader_nodes.h).
#include "policy/loader_nodes.h"

#include <charconv>
#include <cmath>

#include "gateway/common/yaml_mapping.h"
#include "policy/server_name.h"

namespace bordergate::policy {

SourceLocation NodeReader::loc(const YAML::Mark& m) const {
  if (m.line < 0) return {source, 0, 0};
  return {source, m.line + 1, m.column + 1};
}

void NodeReader::error(const YAML::Mark& m, std::string code, std::string message) {
  ++errors;
  diagnostics.push_back({Diagnostic::Severity::error, std::move(code), std::move(message), loc(m)});
}

bool NodeReader::expect_map(const YAML::Node& n, const std::string& what) {
  if (n.IsMap()) return true;
  error(n.Mark(), "bad_type", what + " must be a mapping");
  return false;
}

bool NodeReader::check_map(const YAML::Node& n, const std::string& what,
                           std::initializer_list<std::string_view> allowed) {
  using Kind = MappingProblem::Kind;
  for (const MappingProblem& p : mapping_problems(n, allowed)) {
    switch (p.kind) {
      case Kind::not_a_mapping:
        return expect_map(n, what);
      case Kind::key_not_a_string:
        error(p.mark, "bad_key", "keys must be plain strings");
        break;
      case Kind::unknown_key:
        error(p.mark, "unknown_key",
              "unknown key `" + p.key + "` (expected one of: " + key_list(allowed) + ")");
        break;
      case Kind::duplicate_key:
        error(p.mark, "duplicate_key", "key `" + p.key + "` appears twice");
        break;
    }
  }
  return true;
}

bool NodeReader::expect_seq(const YAML::Node& n, const std::string& what) {
  if (n.IsSequence()) return true;
  error(n.Mark(), "bad_type", "`" + what + "` must be a list");
  return false;
}

std::optional<std::string> NodeReader::string(const YAML::Node& n, const std::string& what,
                                              bool required) {
  if (!n) {
    if (required) error(current, "missing_key", "`" + what + "` is required");
    return std::nullopt;
  }
  if (!n.IsScalar() || n.Scalar().empty()) {
    error(n.Mark(), "bad_type", "`" + what + "` must be a non-empty string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<long long> NodeReader::integer(const YAML::Node& n, const std::string& what) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
  }
  error(n.Mark(), "bad_type", "`" + what + "` must be an integer");
  return std::nullopt;
}

std::optional<bool> NodeReader::boolean(const YAML::Node& n, const std::string& what) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  error(n.Mark(), "bad_type", "`" + what + "` must be true or false");
  return std::nullopt;
}

std::optional<std::uint64_t> NodeReader::size(const YAML::Node& n, const std::string& what) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    std::string_view unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
    std::uint64_t mult = 0;
    if (unit.empty()) mult = 1;
    if (unit == "KiB") mult = 1024;
    if (unit == "MiB") mult = 1024 * 1024;
    if (unit == "GiB") mult = 1024ull * 1024 * 1024;
    if (ec == std::errc() && mult != 0 && end != s.data() && v <= (UINT64_MAX / mult)) {
      return v * mult;
    }
  }
  error(n.Mark(), "bad_size", "`" + what + "` must be a byte count like 1048576 or 10MiB");
  return std::nullopt;
}

std::optional<double> NodeReader::number(const YAML::Node& n, const std::string& what) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(v) && v >= 0) return v;
  }
  error(n.Mark(), "bad_type", "`" + what + "` must be a non-negative number");
  return std::nullopt;
}

std::vector<std::pair<std::string, YAML::Mark>> NodeReader::string_list(const YAML::Node& n,
                                                                        const std::string& what) {
  std::vector<std::pair<std::string, YAML::Mark>> out;
  if (n.IsScalar() && !n.Scalar().empty()) {
    out.emplace_back(n.Scalar(), n.Mark());
    return out;
  }
  if (!n.IsSequence()) {
    error(n.Mark(), "bad_type", "`" + what + "` must be a string or a list of strings");
    return out;
  }
  for (const YAML::Node& item : n) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      error(item.Mark(), "bad_type", "entries of `" + what + "` must be non-empty strings");
      continue;
    }
    out.emplace_back(item.Scalar(), item.Mark());
  }
  return out;
}

DirectionMask NodeReader::direction(const YAML::Node& n) {
  if (!n) return kBothDirections;
  auto s = string(n, "direction", false);
  if (s == "inbound" || s == "in") return static_cast<DirectionMask>(Direction::inbound);
  if (s == "outbound" || s == "out") return static_cast<DirectionMask>(Direction::outbound);
  if (s == "both") return kBothDirections;
  if (s) error(n.Mark(), "bad_direction", "`direction` is inbound, outbound or both");
  return kBothDirections;
}

EndpointSet NodeReader::endpoints(const YAML::Node& n, std::vector<std::string>& source_out) {
  EndpointSet set = 0;
  for (const auto& [name, mark] : string_list(n, "endpoints")) {
    source_out.push_back(name);
    if (name.starts_with('@')) {
      if (auto g = endpoint_group(std::string_view(name).substr(1))) {
        set |= *g;
      } else {
        error(mark, "unknown_endpoint_group", "no endpoint group `" + name + "`");
      }
    } else if (auto e = endpoint_from_name(name)) {
      set |= endpoint_bit(*e);
    } else {
      error(mark, "unknown_endpoint", "no endpoint `" + name + "` in the federation catalogue");
    }
  }
  return set;
}

RoomMatcher NodeReader::rooms(const YAML::Node& ids, const YAML::Node& creators) {
  RoomMatcher m;
  if (ids) {
    for (const auto& [id, mark] : string_list(ids, "rooms")) {
      // v1-v11: !opaque:server; v12+: ! + 43 chars of URL-safe base64, no domain.
      if (id.size() < 2 || id[0] != '!' || id.size() > 255) {
        error(mark, "bad_room_id", "`" + id + "` is not a room id (it must start with `!`)");
        continue;
      }
      m.ids.insert(id);
      m.source.push_back(id);
    }
  }
  if (creators) {
    for (const auto& [pattern, mark] : string_list(creators, "room_creators")) {
      if (!is_valid_server_pattern(pattern)) {
        error(mark, "bad_server_pattern", "`" + pattern + "` is not a server name or glob");
        continue;
      }
      m.creators.emplace_back(pattern, true);
      m.source.push_back("created on " + pattern);
    }
  }
  return m;
}

UserMatcher NodeReader::users(const YAML::Node& n, const std::string& what) {
  UserMatcher m;
  for (const auto& [pattern, mark] : string_list(n, what)) {
    auto colon = pattern.find(':');
    if (pattern.size() < 3 || pattern[0] != '@' || colon == std::string::npos ||
        colon + 1 == pattern.size() ||
        !is_valid_server_pattern(strip_port(std::string_view(pattern).substr(colon + 1)))) {
      error(mark, "bad_user_pattern",
            "`" + pattern + "` is not a user id pattern like @alice:example.org or @*:*.example");
      continue;
    }
    m.patterns.push_back({Glob(std::string_view(pattern).substr(1, colon - 1), false),
                          Glob(strip_port(std::string_view(pattern).substr(colon + 1)), true),
                          pattern});
  }
  return m;
}

TypeMatcher NodeReader::types(const YAML::Node& n, const std::string& what) {
  TypeMatcher m;
  if (n.IsMap()) {
    check_map(n, what, {"except"});
    if (!n["except"]) {
      error(n.Mark(), "bad_type", "`" + what + "` is a list or `{except: [...]}`");
      return m;
    }
    m.except = true;
  }
  const YAML::Node list = n.IsMap() ? n["except"] : n;
  for (const auto& [type, mark] : string_list(list, what)) {
    if (type.size() > 255) {
      error(mark, "bad_type_name", "type names are at most 255 bytes");
      continue;
    }
    if (type.find_first_of("*?") != std::string::npos) {
      m.globs.emplace_back(type, false);
    } else {
      m.exact.insert(type);
    }
    m.source.push_back(type);
  }
  return m;
}

void NodeReader::limits(const YAML::Node& n, SettingsEntry& e) {
  if (!check_map(
          n, "limits",
          {"max_body_bytes", "max_pdus_per_transaction", "max_edus_per_transaction", "rate"})) {
    return;
  }
  if (const YAML::Node v = n["max_body_bytes"]) e.max_body_bytes = size(v, "max_body_bytes");
  auto count = [&](const char* key, std::optional<std::uint32_t>& out) {
    if (const YAML::Node v = n[key]) {
      auto i = integer(v, key);
      if (i && (*i < 0 || *i > 100000)) {
        error(v.Mark(), "bad_limit", std::string("`") + key + "` must be between 0 and 100000");
      } else if (i) {
        out = static_cast<std::uint32_t>(*i);
      }
    }
  };
  count("max_pdus_per_transaction", e.max_pdus);
  count("max_edus_per_transaction", e.max_edus);
  if (const YAML::Node r = n["rate"]) {
    if (!check_map(r, "rate", {"per_second", "burst"})) return;
    RateLimit rate;
    if (!r["per_second"] || !r["burst"]) {
      error(r.Mark(), "missing_key", "`rate` needs `per_second` and `burst`");
      return;
    }
    rate.per_second = number(r["per_second"], "per_second").value_or(0);
    rate.burst = number(r["burst"], "burst").value_or(0);
    if (rate.per_second > 0 && rate.burst < 1) {
      error(r["burst"].Mark(), "bad_limit", "`burst` must be at least 1 when a rate is set");
    }
    e.rate = rate;
  }
}

MediaPolicy NodeReader::media(const YAML::Node& n) {
  MediaPolicy m;
  if (!check_map(n, "media", {"allowed", "max_bytes", "content_types"})) return m;
  if (const YAML::Node v = n["allowed"]) m.allowed = boolean(v, "allowed").value_or(false);
  if (const YAML::Node v = n["max_bytes"]) m.max_bytes = size(v, "max_bytes");
  if (const YAML::Node v = n["content_types"]) {
    for (const auto& [type, mark] : string_list(v, "content_types")) {
      auto slash = type.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == type.size()) {
        error(mark, "bad_content_type",
              "`" + type + "` is not a media type like image/png or image/*");
        continue;
      }
      m.content_types.push_back(ascii_lower(type));
    }
  }
  return m;
}

void NodeReader::checks(const YAML::Node& n, SettingsEntry& e) {
  if (!check_map(n, "checks", {"x_matrix", "pdu_hashes", "pdu_signatures", "edu_origin_binding"})) {
    return;
  }
  for (int k = 0; k < kCheckCount; ++k) {
    std::string key(check_name(static_cast<Check>(k)));
    if (const YAML::Node v = n[key]) e.checks[k] = boolean(v, key);
  }
}

}  // namespace bordergate::policy
