#include "gateway/enforcement/pdu_inspection.h"

#include <set>

namespace bordergate::enforcement {
namespace {

using matrix::JsonObject;
using matrix::RoomVersionRules;
using policy::CheckResult;

const std::string* str(const JsonObject& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->second.string_if();
}

std::string_view server_of(std::string_view id) {
  const std::size_t colon = id.find(':');
  return colon == std::string_view::npos ? std::string_view{} : id.substr(colon + 1);
}

void fill_facts(const JsonObject& pdu, policy::PduFacts& f) {
  if (const std::string* s = str(pdu, "type")) f.event_type = *s;
  if (const std::string* s = str(pdu, "room_id")) f.room_id = *s;
  if (const std::string* s = str(pdu, "sender")) f.sender = *s;
}

std::string first_error(const matrix::PduCheck& c) {
  if (!c.format.ok()) return c.format.error().code;
  if (!c.signers.ok()) return c.signers.error().code;
  if (!c.content_hash.ok()) return c.content_hash.error().code;
  for (const matrix::SignatureCheck& s : c.signatures) {
    if (!s.status.ok()) return s.status.error().code;
  }
  if (!c.signatures_ok()) return "missing_signature";
  return {};
}

void apply(const matrix::PduCheck& c, const RoomVersionRules& rules, PduVerdict& v) {
  v.verified_as = std::string(rules.id);
  v.facts.hashes = c.format.ok() && c.content_hash.ok() ? CheckResult::passed : CheckResult::failed;
  v.facts.signatures = c.format.ok() && c.signers.ok() && c.signatures_ok() ? CheckResult::passed
                                                                            : CheckResult::failed;
  if (c.event_id) v.event_id = *c.event_id;
  v.error = first_error(c);
  v.facts.too_large = v.error == "pdu_too_large";
}

// One representative version per family of rules that change what a check sees: event id
// format, redaction algorithm, room id shape, reference shape. Newest first. Each candidate
// enforces key validity (a key counts only if valid at origin_server_ts), whatever its version
// says: where the room's version is unknown the gateway cannot know that the lax v1-v4 rule
// applies, and a signature by a key that had expired must never pass for want of knowledge.
const std::vector<RoomVersionRules>& candidate_families() {
  static const std::vector<RoomVersionRules> families = [] {
    std::vector<RoomVersionRules> out;
    std::set<std::tuple<int, int, bool, bool>> seen;
    auto all = matrix::known_room_versions();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      auto key =
          std::make_tuple(static_cast<int>(it->event_id_format), static_cast<int>(it->redaction),
                          it->room_id_without_domain, it->prev_events_with_hashes);
      if (!seen.insert(key).second) continue;
      RoomVersionRules strict = *it;
      strict.enforce_key_validity = true;
      out.push_back(strict);
    }
    return out;
  }();
  return families;
}

}  // namespace

void collect_key_needs(const JsonObject& pdu, std::vector<KeyNeed>& out) {
  auto sigs_it = pdu.find("signatures");
  if (sigs_it == pdu.end() || !sigs_it->second.is_object()) return;
  std::int64_t ts = 0;
  if (auto t = pdu.find("origin_server_ts"); t != pdu.end()) ts = t->second.int_if().value_or(0);
  std::set<std::string, std::less<>> servers;
  if (const std::string* s = str(pdu, "sender")) servers.emplace(server_of(*s));
  if (const std::string* s = str(pdu, "event_id")) servers.emplace(server_of(*s));
  if (auto c = pdu.find("content"); c != pdu.end()) {
    if (const matrix::Json* via = c->second.find("join_authorised_via_users_server")) {
      if (const std::string* u = via->string_if()) servers.emplace(server_of(*u));
    }
  }
  for (const auto& [server, keys] : *sigs_it->second.object_if()) {
    if (!servers.contains(server) || !keys.is_object()) continue;
    for (const auto& [key_id, sig] : *keys.object_if()) {
      if (key_id.rfind("ed25519:", 0) == 0) out.push_back({server, key_id, ts});
    }
  }
}

PduVerdict inspect_pdu(const JsonObject& pdu, const RoomVersionRules* known,
                       const matrix::KeyLookup& keys) {
  PduVerdict v;
  fill_facts(pdu, v.facts);
  // A create event names its room's version itself.
  if (known == nullptr && v.facts.event_type == "m.room.create") {
    if (auto c = pdu.find("content"); c != pdu.end()) {
      if (const matrix::Json* rv = c->second.find("room_version")) {
        if (const std::string* id = rv->string_if()) known = matrix::find_room_version(*id);
      } else {
        known = matrix::find_room_version("1");  // spec: absent means version 1
      }
    }
  }
  if (known != nullptr) {
    v.version_known = true;
    apply(matrix::check_pdu(pdu, *known, keys), *known, v);
    return v;
  }
  // Unknown version: the PDU passes when one candidate family verifies it completely (format,
  // content hash and every required signature). Otherwise the verdict of the candidate that got
  // furthest is reported (format, then signatures, then hash), so a tampered event is reported
  // as a hash failure under the family whose signatures do verify.
  std::optional<PduVerdict> fallback;
  int fallback_score = -1;
  for (const RoomVersionRules& rules : candidate_families()) {
    matrix::PduCheck c = matrix::check_pdu(pdu, rules, keys);
    PduVerdict attempt = v;
    apply(c, rules, attempt);
    if (c.ok()) return attempt;
    const int score =
        (c.format.ok() ? 4 : 0) + (c.signatures_ok() ? 2 : 0) + (c.content_hash.ok() ? 1 : 0);
    if (score > fallback_score) {
      fallback_score = score;
      fallback = std::move(attempt);
    }
  }
  return *fallback;
}

}  // namespace bordergate::enforcement
