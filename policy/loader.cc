// The loader walks the YAML tree once, checks every key against the language, compiles
// patterns, and collects all errors (not just the first) so that `policy check` shows an
// auditor everything at once.
#include "policy/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "policy/decision.h"
#include "policy/loader_nodes.h"
#include "policy/server_name.h"

namespace bordergate::policy {

std::string Diagnostic::to_string() const {
  std::ostringstream out;
  out << location.file;
  if (location.line > 0) out << ':' << location.line << ':' << location.column;
  out << ": " << (severity == Severity::error ? "error" : "warning") << ": " << message << " ["
      << code << ']';
  return out.str();
}

std::size_t LoadOutput::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(diagnostics.begin(), diagnostics.end(),
                    [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; }));
}

std::size_t LoadOutput::warning_count() const { return diagnostics.size() - error_count(); }

namespace {

constexpr std::string_view kReservedIds[] = {kDefaultRuleId, kLimitsRuleId, kChecksRuleId,
                                             kMediaRuleId};

constexpr std::size_t kMaxRevisionBytes = 200;

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

class Loader {
 public:
  explicit Loader(std::string source) : n_(std::move(source)) {}

  LoadOutput run(std::string_view text, std::string sha256) {
    LoadOutput out;
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      n_.error(e.mark, "yaml_syntax", e.msg);
      out.diagnostics = std::move(n_.diagnostics);
      return out;
    }
    auto policy = std::make_shared<Policy>();
    policy->source = n_.source;
    policy->sha256 = std::move(sha256);
    try {
      load_root(root, *policy);
    } catch (const YAML::Exception& e) {
      n_.error(e.mark, "yaml_structure", e.msg);
    }
    if (n_.errors == 0) {
      policy->finish();
      for (Diagnostic& w : lint_policy(*policy)) n_.diagnostics.push_back(std::move(w));
      out.policy = std::move(policy);
    }
    std::stable_sort(
        n_.diagnostics.begin(), n_.diagnostics.end(),
        [](const Diagnostic& a, const Diagnostic& b) { return a.location.line < b.location.line; });
    out.diagnostics = std::move(n_.diagnostics);
    return out;
  }

 private:
  // An empty section (`rules:` with nothing under it) is the same as an absent one.
  void load_root(const YAML::Node& root, Policy& p) {
    if (!n_.check_map(root, "the policy file",
                      {"version", "revision", "server_name", "default", "defaults", "federations",
                       "rules", "settings"})) {
      return;
    }
    n_.current = root.Mark();
    if (!root["version"]) {
      n_.error(root.Mark(), "missing_key", "`version` is required (write `version: 1`)");
    } else if (auto v = n_.integer(root["version"], "version"); v && *v != 1) {
      n_.error(root["version"].Mark(), "unsupported_version",
               "unsupported policy version " + std::to_string(*v) + " (this build reads 1)");
    }
    if (auto r = n_.string(root["revision"], "revision", false)) {
      // Printed in reports and recorded in the audit chain: one short line of plain text.
      const bool plain = std::all_of(r->begin(), r->end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
      });
      if (r->empty() || r->size() > kMaxRevisionBytes || !plain) {
        n_.error(root["revision"].Mark(), "bad_revision",
                 "`revision` must be one line of text of 1 to " +
                     std::to_string(kMaxRevisionBytes) + " bytes without control characters");
      } else {
        p.revision = *r;
      }
    }
    if (auto s = n_.string(root["server_name"], "server_name", true)) {
      if (!is_valid_server_name(*s)) {
        n_.error(root["server_name"].Mark(), "bad_server_name",
                 "`" + *s + "` is not a server name");
      }
      p.server_name = ascii_lower(*s);
    }
    if (const YAML::Node d = root["default"]) {
      auto a = n_.string(d, "default", false);
      if (a && (*a == "allow" || *a == "deny")) {
        p.default_action = *a == "allow" ? Action::allow : Action::deny;
      } else if (a) {
        n_.error(d.Mark(), "bad_action", "`default` must be allow or deny");
      }
    }
    // Built-in default first: `defaults: media:` below may override it.
    p.default_media.allowed = true;
    if (const YAML::Node d = root["defaults"]; d && !d.IsNull()) load_defaults(d, p);
    if (const YAML::Node f = root["federations"]; f && !f.IsNull()) load_federations(f, p);
    if (const YAML::Node r = root["rules"]; r && !r.IsNull()) {
      if (n_.expect_seq(r, "rules")) {
        for (const YAML::Node& item : r) load_rule(item, p);
      }
    }
    if (const YAML::Node s = root["settings"]; s && !s.IsNull()) {
      if (n_.expect_seq(s, "settings")) {
        for (const YAML::Node& item : s) load_settings(item, p);
      }
    }
  }

  void load_defaults(const YAML::Node& d, Policy& p) {
    if (!n_.check_map(d, "defaults", {"limits", "media"})) return;
    SettingsEntry e;
    if (const YAML::Node l = d["limits"]) n_.limits(l, e);
    if (const YAML::Node m = d["media"]) e.media = n_.media(m);
    if (e.max_body_bytes) p.defaults.max_body_bytes = *e.max_body_bytes;
    if (e.max_pdus) p.defaults.max_pdus = *e.max_pdus;
    if (e.max_edus) p.defaults.max_edus = *e.max_edus;
    if (e.rate) p.defaults.rate = *e.rate;
    if (e.media) p.default_media = *e.media;
  }

  void load_federations(const YAML::Node& f, Policy& p) {
    if (!n_.expect_map(f, "federations")) return;
    for (const auto& kv : f) {
      Federation fed;
      fed.name = kv.first.Scalar();
      fed.location = n_.loc(kv.first.Mark());
      if (!valid_id(fed.name)) {
        n_.error(kv.first.Mark(), "bad_federation_name",
                 "federation names use a-z 0-9 - _ . (got `" + fed.name + "`)");
      }
      for (const Federation& other : p.federations) {
        if (other.name == fed.name) {
          n_.error(kv.first.Mark(), "duplicate_federation",
                   "federation `" + fed.name + "` is declared twice");
        }
      }
      const YAML::Node body = kv.second;
      if (!n_.check_map(body, "federation " + fed.name,
                        {"description", "servers", "allow_ip_literals"})) {
        continue;
      }
      fed.description = n_.string(body["description"], "description", false).value_or("");
      if (const YAML::Node ip = body["allow_ip_literals"]) {
        fed.allow_ip_literals = n_.boolean(ip, "allow_ip_literals").value_or(false);
      }
      if (!body["servers"]) {
        n_.error(body.Mark(), "missing_key", "federation `" + fed.name + "` needs `servers`");
      } else {
        auto patterns = n_.string_list(body["servers"], "servers");
        if (patterns.empty()) {
          n_.error(body["servers"].Mark(), "empty_federation",
                   "federation `" + fed.name + "` lists no servers");
        }
        for (const auto& [pattern, mark] : patterns) {
          if (!is_valid_server_pattern(pattern)) {
            n_.error(mark, "bad_server_pattern",
                     "`" + pattern + "` is not a server name or glob (no ports, no URLs)");
          } else if (is_ip_literal(pattern) && !fed.allow_ip_literals) {
            n_.error(mark, "ip_literal_not_allowed",
                     "IP literal `" + pattern +
                         "` needs `allow_ip_literals: true` on federation `" + fed.name + "`");
          } else {
            fed.servers.push_back(ascii_lower(pattern));
          }
        }
      }
      p.federations.push_back(std::move(fed));
    }
  }

  // federation / servers / peer: exactly one of them.
  bool load_peer(const YAML::Node& node, const Policy& p, PeerSelector& out,
                 const std::string& what) {
    int given = (node["federation"] ? 1 : 0) + (node["servers"] ? 1 : 0) + (node["peer"] ? 1 : 0);
    if (given != 1) {
      n_.error(node.Mark(), "bad_peer",
               what + " needs exactly one of `federation`, `servers` or `peer`");
      return false;
    }
    if (const YAML::Node f = node["federation"]) {
      auto name = n_.string(f, "federation", true);
      if (!name) return false;
      std::optional<std::uint32_t> index = federation_index(f, p, *name);
      if (!index) return false;
      out.kind = PeerKind::federation;
      out.federation = *index;
      out.text = "federation " + *name;
      return true;
    }
    if (const YAML::Node s = node["servers"]) {
      out.kind = PeerKind::servers;
      for (const auto& [pattern, mark] : n_.string_list(s, "servers")) {
        if (!is_valid_server_pattern(pattern)) {
          n_.error(mark, "bad_server_pattern", "`" + pattern + "` is not a server name or glob");
        } else if (is_ip_literal(pattern)) {
          n_.error(mark, "ip_literal_not_allowed",
                   "IP literal `" + pattern +
                       "`: declare it in a federation with `allow_ip_literals: true`");
        } else {
          out.servers.push_back(ascii_lower(pattern));
        }
      }
      if (out.servers.empty()) {
        n_.error(s.Mark(), "bad_peer", what + " has an empty `servers` list");
        return false;
      }
      out.text = "servers " + join(out.servers);
      return true;
    }
    auto word = n_.string(node["peer"], "peer", true);
    if (!word) return false;
    if (*word == "any") {
      out.kind = PeerKind::any;
      out.text = "any authenticated peer";
    } else if (*word == "unknown") {
      out.kind = PeerKind::unknown;
      out.text = "unknown origin (no X-Matrix)";
    } else if (*word == "anyone") {
      out.kind = PeerKind::anyone;
      out.text = "anyone (known or unknown origin)";
    } else {
      n_.error(node["peer"].Mark(), "bad_peer",
               "`peer` is any, unknown or anyone (use `federation:` or `servers:` for names)");
      return false;
    }
    return true;
  }

  bool load_id(const YAML::Node& node, std::set<std::string>& seen, std::string& id,
               SourceLocation& location, const char* what) {
    location = n_.loc(node.Mark());
    auto s = n_.string(node["id"], "id", true);
    if (!s) return false;
    id = *s;
    if (!valid_id(id)) {
      n_.error(node["id"].Mark(), "bad_id",
               std::string(what) + " ids use a-z 0-9 - _ . (got `" + id + "`)");
    }
    for (std::string_view r : kReservedIds) {
      if (id == r) n_.error(node["id"].Mark(), "reserved_id", "`" + id + "` is reserved");
    }
    if (!seen.insert(id).second) {
      n_.error(node["id"].Mark(), "duplicate_id", "id `" + id + "` is used twice");
    }
    return true;
  }

  // `all`, or a list of declared federation names: their indexes (every federation for `all`).
  std::vector<std::uint32_t> federation_list(const YAML::Node& n, const Policy& p,
                                             const std::string& key,
                                             std::vector<std::string>& source) {
    std::vector<std::uint32_t> out;
    if (n.IsScalar() && n.Scalar() == "all") {
      source = {"all"};
      for (std::uint32_t i = 0; i < p.federations.size(); ++i) out.push_back(i);
      return out;
    }
    if (!n.IsSequence() || n.size() == 0) {
      n_.error(n.Mark(), "bad_federation_list",
               "`" + key + "` is `all` or a non-empty list of federation names");
      return out;
    }
    for (const YAML::Node& item : n) {
      auto name = n_.string(item, key, true);
      if (!name) continue;
      if (std::optional<std::uint32_t> index = federation_index(item, p, *name)) {
        out.push_back(*index);
        source.push_back(*name);
      }
    }
    return out;
  }

  // The index of the federation declared as `name`; an error at `at` when there is none.
  std::optional<std::uint32_t> federation_index(const YAML::Node& at, const Policy& p,
                                                const std::string& name) {
    for (std::uint32_t i = 0; i < p.federations.size(); ++i) {
      if (p.federations[i].name == name) return i;
    }
    n_.error(at.Mark(), "unknown_federation", "no federation named `" + name + "`");
    return std::nullopt;
  }

  // room_members_outside_federations judges requests into one room (a join, a knock, a backfill
  // of it): a request rule whose endpoints all name a room in their path.
  void load_room_members_scope(const YAML::Node& node, const Rule& r) {
    const YAML::Mark at = node["room_members_outside_federations"].Mark();
    if (r.is_content_rule()) {
      n_.error(at, "room_members_on_content_rule",
               "rule `" + r.id +
                   "`: `room_members_outside_federations` judges requests into a room, not "
                   "events: remove `event_types` / `edu_types` (sender_outside_federations "
                   "judges events)");
      return;
    }
    if (!r.endpoints_given) {
      n_.error(at, "room_members_needs_endpoints",
               "rule `" + r.id +
                   "`: `room_members_outside_federations` needs `endpoints` naming a room, for "
                   "example [make_join, send_join]");
      return;
    }
    for (const EndpointInfo& info : endpoint_catalogue()) {
      if ((r.endpoints & endpoint_bit(info.endpoint)) && !info.room_in_path) {
        n_.error(at, "room_members_endpoint_without_room",
                 "rule `" + r.id + "`: endpoint `" + std::string(info.name) +
                     "` names no room; `room_members_outside_federations` can never hold there");
      }
    }
  }

  void load_rule(const YAML::Node& node, Policy& p) {
    if (!n_.check_map(node, "a rule",
                      {"id", "description", "federation", "servers", "peer", "direction", "action",
                       "endpoints", "rooms", "room_creators", "users", "invite_senders",
                       "invite_targets", "event_types", "edu_types", "sender_outside_federations",
                       "room_creator_outside_federations", "room_members_outside_federations"})) {
      return;
    }
    n_.current = node.Mark();
    Rule r;
    if (!load_id(node, ids_, r.id, r.location, "rule")) return;
    r.description = n_.string(node["description"], "description", false).value_or("");
    load_peer(node, p, r.peer, "rule `" + r.id + "`");
    r.directions = n_.direction(node["direction"]);
    if (auto a = n_.string(node["action"], "action", true)) {
      if (auto act = action_from_name(*a)) {
        r.action = *act;
      } else {
        n_.error(node["action"].Mark(), "bad_action",
                 "`action` is allow, deny, quarantine or report (got `" + *a + "`)");
      }
    }
    if (const YAML::Node e = node["endpoints"]) {
      r.endpoints = n_.endpoints(e, r.endpoints_source);
      r.endpoints_given = true;
    }
    if (node["rooms"] || node["room_creators"]) {
      r.rooms = n_.rooms(node["rooms"], node["room_creators"]);
    }
    if (const YAML::Node u = node["users"]) r.users = n_.users(u, "users");
    if (const YAML::Node u = node["invite_senders"]) {
      r.invite_senders = n_.users(u, "invite_senders");
    }
    if (const YAML::Node u = node["invite_targets"]) {
      r.invite_targets = n_.users(u, "invite_targets");
    }
    if (const YAML::Node t = node["event_types"]) r.event_types = n_.types(t, "event_types");
    if (const YAML::Node t = node["edu_types"]) r.edu_types = n_.types(t, "edu_types");
    for (auto [key, out, source] :
         {std::tuple{"sender_outside_federations", &r.sender_outside, &r.sender_outside_source},
          std::tuple{"room_creator_outside_federations", &r.room_creator_outside,
                     &r.room_creator_outside_source}}) {
      const YAML::Node n = node[key];
      if (!n) continue;
      *out = federation_list(n, p, key, *source);
      if (!r.event_types) {
        n_.error(n.Mark(), "outside_needs_event_types",
                 "rule `" + r.id + "`: `" + key +
                     "` judges events: add `event_types` (for example [\"*\"])");
      }
    }
    if (const YAML::Node n = node["room_members_outside_federations"]) {
      r.room_members_outside =
          federation_list(n, p, "room_members_outside_federations", r.room_members_outside_source);
      load_room_members_scope(node, r);
    }
    if (r.action == Action::quarantine) {
      // Quarantine holds a signed /send transaction aside; nothing else can be held.
      if (!r.is_content_rule()) {
        n_.error(node["action"].Mark(), "quarantine_outside_transaction",
                 "rule `" + r.id +
                     "`: quarantine applies to PDUs/EDUs in a /send transaction; add "
                     "`event_types` or `edu_types`, or use deny");
      } else if (r.endpoints_given && r.endpoints != endpoint_bit(FederationEndpoint::send)) {
        n_.error(node["endpoints"].Mark(), "quarantine_outside_transaction",
                 "rule `" + r.id + "`: quarantine is only possible on the `send` endpoint");
      }
      r.endpoints = endpoint_bit(FederationEndpoint::send);
    }
    p.rules.push_back(std::move(r));
  }

  void load_settings(const YAML::Node& node, Policy& p) {
    if (!n_.check_map(node, "a settings entry",
                      {"id", "description", "federation", "servers", "peer", "direction", "limits",
                       "media", "checks"})) {
      return;
    }
    n_.current = node.Mark();
    SettingsEntry e;
    if (!load_id(node, ids_, e.id, e.location, "settings")) return;
    load_peer(node, p, e.peer, "settings `" + e.id + "`");
    e.directions = n_.direction(node["direction"]);
    if (const YAML::Node l = node["limits"]) n_.limits(l, e);
    if (const YAML::Node m = node["media"]) e.media = n_.media(m);
    if (const YAML::Node c = node["checks"]) {
      n_.checks(c, e);
      const bool relaxes = std::any_of(std::begin(e.checks), std::end(e.checks),
                                       [](const std::optional<bool>& b) { return b && !*b; });
      if (relaxes && e.peer.kind != PeerKind::federation && e.peer.kind != PeerKind::servers) {
        n_.error(c.Mark(), "checks_relaxed_for_everyone",
                 "settings `" + e.id +
                     "`: required checks can only be relaxed for a named federation or servers");
      }
    }
    p.settings.push_back(std::move(e));
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  }

  NodeReader n_;
  std::set<std::string> ids_;
};

}  // namespace

LoadOutput load_policy_text(std::string_view yaml, std::string source_name, std::string sha256) {
  return Loader(std::move(source_name)).run(yaml, std::move(sha256));
}

std::string error_summary(const LoadOutput& out) {
  std::string message;
  std::size_t shown = 0;
  for (const Diagnostic& d : out.diagnostics) {
    if (d.severity != Diagnostic::Severity::error) continue;
    if (shown++ < 3) message += (message.empty() ? "" : "; ") + d.to_string();
  }
  if (shown > 3) message += " (and " + std::to_string(shown - 3) + " more)";
  return message;
}

}  // namespace bordergate::policy
