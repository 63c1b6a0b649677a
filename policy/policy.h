// The compiled, immutable policy: what the loader builds from YAML and what evaluate()
// reads. Shared between threads only as std::shared_ptr<const Policy> (see PolicyStore).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/endpoint.h"
#include "policy/matchers.h"
#include "policy/model.h"
#include "policy/server_index.h"

namespace bordergate::policy {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
};

struct Federation {
  std::string name;
  std::vector<std::string> servers;  // patterns as written
  bool allow_ip_literals = false;
  std::string description;
  SourceLocation location;
};

// Whom a rule or a settings entry is about.
struct PeerSelector {
  PeerKind kind = PeerKind::anyone;
  std::uint32_t federation = 0;      // index into Policy::federations (kind == federation)
  std::vector<std::string> servers;  // lower-cased patterns (kind == servers)
  std::string text;                  // as a reviewer reads it: "federation opendesk"
};

struct Rule {
  std::string id;
  std::string description;
  SourceLocation location;
  PeerSelector peer;
  DirectionMask directions = kBothDirections;
  Action action = Action::deny;

  EndpointSet endpoints = kAllEndpoints;
  bool endpoints_given = false;
  std::vector<std::string> endpoints_source;
  std::optional<RoomMatcher> rooms;
  std::optional<UserMatcher> users;
  std::optional<UserMatcher> invite_senders;
  std::optional<UserMatcher> invite_targets;
  std::optional<TypeMatcher> event_types;
  std::optional<TypeMatcher> edu_types;
  // Content rules over PDUs: the event's sender's server, or the server that created its room
  // (the domain of the room id), is in none of these federations (indexes into
  // Policy::federations; `all` lists every one). The policy's own server_name counts as inside.
  std::optional<std::vector<std::uint32_t>> sender_outside;
  std::optional<std::vector<std::uint32_t>> room_creator_outside;
  std::vector<std::string> sender_outside_source, room_creator_outside_source;  // as written
  // Request rules on a room (make_join, send_join ...): the room has a joined member on a server
  // in none of these federations, as far as the gateway has seen the room's membership
  // (RequestFacts::room_servers). A room whose membership is unknown does not match.
  std::optional<std::vector<std::uint32_t>> room_members_outside;
  std::vector<std::string> room_members_outside_source;  // as written

  // Content rules judge the PDUs and EDUs inside a request, one by one.
  bool is_content_rule() const { return event_types.has_value() || edu_types.has_value(); }
};

// Token bucket parameters; per_second == 0 means unlimited.
struct RateLimit {
  double per_second = 0;
  double burst = 0;
  bool operator==(const RateLimit&) const = default;
};

struct MediaPolicy {
  bool allowed = true;
  std::optional<std::uint64_t> max_bytes;
  std::vector<std::string> content_types;  // lower-cased, "image/*" allowed; empty = any
  bool operator==(const MediaPolicy&) const = default;
};

// The required checks (federation-notes §2, §5.6, §10.1); all on unless relaxed.
enum class Check : std::uint8_t { x_matrix = 0, pdu_hashes, pdu_signatures, edu_origin_binding };
inline constexpr int kCheckCount = 4;
std::string_view check_name(Check c);

// A settings entry as written: every field optional; per field the most specific matching
// entry wins, then the policy defaults.
struct SettingsEntry {
  std::string id;
  SourceLocation location;
  PeerSelector peer;
  DirectionMask directions = kBothDirections;
  std::optional<std::uint64_t> max_body_bytes;
  std::optional<std::uint32_t> max_pdus;
  std::optional<std::uint32_t> max_edus;
  std::optional<RateLimit> rate;
  std::optional<MediaPolicy> media;
  std::optional<bool> checks[kCheckCount];
};

// The settings in force for one peer and direction, fully resolved.
struct Settings {
  std::uint64_t max_body_bytes = 13107200;  // 12.5 MiB, like Synapse
  std::uint32_t max_pdus = 50;              // federation-notes §6.1
  std::uint32_t max_edus = 100;
  RateLimit rate;
  const MediaPolicy* media = nullptr;  // points into the Policy (never null after finish())
  bool checks[kCheckCount] = {true, true, true, true};
  // Which settings entry supplied each field (-1 = policy defaults), for explain.
  int source_limits = -1, source_rate = -1, source_media = -1,
      source_checks[kCheckCount] = {-1, -1, -1, -1};
};

class Policy {
 public:
  Policy() = default;
  Policy(const Policy&) = delete;  // Settings point into it
  Policy& operator=(const Policy&) = delete;
  int version = 1;
  std::string source;  // file name it was loaded from
  // Lower-case hex SHA-256 of exactly the bytes compiled (what `sha256sum FILE` prints for the
  // file as it was read); set by the reader of the file, empty for a policy built from memory.
  // The audit chain names the policy that decided by it.
  std::string sha256;
  std::string revision;     // optional `revision:` the authors give it ("2026-12-01 CAB-42")
  std::string server_name;  // the Core's own server name
  Action default_action = Action::deny;
  Settings defaults;
  MediaPolicy default_media;
  std::vector<Federation> federations;
  std::vector<Rule> rules;
  std::vector<SettingsEntry> settings;

  // ---- indexes built by the loader (finish()) ----
  // Tags in `servers`: federation f -> f; rule r -> kRuleTag | r; settings s -> kSettingsTag | s.
  static constexpr std::uint32_t kRuleTag = 0x40000000u;
  static constexpr std::uint32_t kSettingsTag = 0x80000000u;
  ServerIndex servers;
  std::vector<std::vector<std::uint32_t>> rules_by_federation;
  std::vector<std::vector<std::uint32_t>> settings_by_federation;
  std::vector<std::uint32_t> rules_any, rules_unknown, rules_anyone;
  std::vector<std::uint32_t> settings_any, settings_unknown, settings_anyone;
  // Some rule judges a room's members (room_members_outside_federations): the gateway looks the
  // room's membership up for requests naming a room (RequestFacts::room_servers).
  bool reads_room_members = false;

  // Builds the indexes; the loader calls it once, after which the Policy is immutable.
  void finish();
};

}  // namespace bordergate::policy
