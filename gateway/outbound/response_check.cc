#include "gateway/outbound/response_check.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "gateway/enforcement/edu_binding.h"
#include "gateway/matrix/event.h"
#include "gateway/matrix/redaction.h"
#include "gateway/outbound/key_answer.h"
#include "gateway/outbound/media_answer.h"
#include "gateway/outbound/refusal.h"
#include "policy/evaluate.h"

namespace bordergate::outbound {
namespace {

using matrix::Json;
using matrix::JsonArray;
using matrix::JsonObject;
using E = policy::FederationEndpoint;
using enforcement::EventOutcome;

const std::string* str(const JsonObject& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->second.string_if();
}

const JsonObject* obj(const JsonObject& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->second.object_if();
}

// What EventChecker::check found about one event: the verdict, and what judge() needs besides.
struct CheckedEvent : enforcement::PduVerdict {
  // Signed, but the content does not match the hash: what a redacted event looks like. Not a
  // failure (error is empty); judge() delivers its redacted form, as the receiver keeps it.
  bool arrived_redacted = false;
  // Core answers: no room version could be established (unknown, and no candidate verifies),
  // so the event cannot be redacted.
  bool version_uncertain = false;
};

// Checks events against their signatures, remembering the keys that were not in the cache for
// the events that failed (an event that verified with another key needs no fetch).
class EventChecker {
 public:
  EventChecker(const ResponseCheckInput& in, const matrix::KeyLookup& keys) : in_(in), keys_(keys) {
    recording_ = [this](std::string_view server, std::string_view key_id, std::int64_t at) {
      auto k = keys_(server, key_id, at);
      if (!k && (k.error().code == "unknown_key" || k.error().code == "key_unavailable")) {
        pending_.emplace(std::string(server), std::string(key_id), at == matrix::kAnyTime ? 0 : at);
      }
      return k;
    };
  }

  // The room a version was established for by a verified create event of this answer.
  void set_hint(std::string room, const matrix::RoomVersionRules* rules) {
    hint_room_ = std::move(room);
    hint_ = rules;
  }

  // Verdict for one event that must belong to `room` (empty: any room). error empty = passed.
  CheckedEvent check(const JsonObject& event, std::string_view room) {
    ++checked_;
    pending_.clear();
    const std::string* room_id = str(event, "room_id");
    const matrix::RoomVersionRules* version = nullptr;
    if (room_id != nullptr) {
      if (in_.room_versions) version = in_.room_versions(*room_id);
      if (version == nullptr && hint_ != nullptr && *room_id == hint_room_) version = hint_;
    } else if (!room.empty() && hint_ != nullptr && room == hint_room_) {
      version = hint_;  // v12 create events carry no room_id
    }
    CheckedEvent v{enforcement::inspect_pdu(event, version, recording_)};
    if (!v.version_known) version_unknown_ = true;
    const bool hash_only =
        v.error == "content_hash_mismatch" && v.facts.signatures == policy::CheckResult::passed;
    if (core()) {
      // The Core's events pass as served (its redacted copies included); what matters is only
      // whether their room version is certain enough to redact one the rules refuse.
      v.version_uncertain = !v.version_known && !(v.error.empty() || hash_only);
      v.error.clear();
      pending_.clear();
      return v;
    }
    if (hash_only) {
      v.arrived_redacted = true;
      v.error.clear();
    }
    if (v.error.empty() && !room.empty() && event_room(event, v) != room) v.error = "wrong_room";
    if (!v.error.empty()) {
      for (auto& need : pending_) missing_.insert(need);
    }
    return v;
  }

  // The room an event is in: its room_id, or for a v12 create event the room id it founds.
  static std::string event_room(const JsonObject& event, const enforcement::PduVerdict& v) {
    if (const std::string* r = str(event, "room_id")) return *r;
    const matrix::RoomVersionRules* rules = matrix::find_room_version(v.verified_as);
    if (rules == nullptr) return {};
    auto computed = matrix::compute_room_id(event, *rules);
    return computed ? *computed : std::string();
  }

  bool core() const { return in_.source == AnswerSource::core; }

  enum class Judged : std::uint8_t { unchanged, redacted, unredactable };

  // Judges a checked event by the content rules of the direction it travels. A refused event,
  // and one that arrived redacted, is replaced in place by its redacted form: the redaction
  // algorithm of its room version keeps the event id, the signatures and the keys the
  // authorization rules need, so the receiver keeps a whole DAG and treats it as redacted.
  Judged judge(Json& event, const CheckedEvent& v, ResponseCheck& out) {
    if (!v.error.empty() || !event.is_object()) return Judged::unchanged;
    // Who is in the room, whatever the rules decide about the event (its redacted form keeps
    // the membership).
    if (auto m = enforcement::membership_of(*event.object_if())) {
      out.memberships.push_back(std::move(*m));
    }
    if (in_.policy == nullptr && !v.arrived_redacted) return Judged::unchanged;
    if (in_.policy == nullptr) return redact(event, v, {}, EventOutcome::arrived_redacted, out);
    policy::AnswerEventFacts facts;
    facts.direction = core() ? policy::Direction::outbound : policy::Direction::inbound;
    facts.peer = std::string(in_.asked.destination);
    facts.endpoint = in_.asked.endpoint;
    facts.pdu = v.facts;
    const policy::AnswerEventVerdict verdict = policy::judge_answer_event(*in_.policy, facts);
    std::string rule_id;
    if (verdict.rule >= 0) rule_id = in_.policy->rules[static_cast<std::size_t>(verdict.rule)].id;
    if (verdict.refused()) {
      if (v.version_uncertain) return Judged::unredactable;  // no version to redact it under
      return redact(event, v, rule_id, EventOutcome::redacted, out);
    }
    if (v.arrived_redacted) return redact(event, v, {}, EventOutcome::arrived_redacted, out);
    const EventOutcome o =
        verdict.action == policy::Action::report ? EventOutcome::report : EventOutcome::forward;
    out.judged.push_back({v.event_id, v.facts.event_type, o, std::move(rule_id)});
    return Judged::unchanged;
  }

  // Replaces `event` by its redacted form under the room version it verified as.
  static Judged redact(Json& event, const enforcement::PduVerdict& v, std::string rule_id,
                       EventOutcome outcome, ResponseCheck& out) {
    const matrix::RoomVersionRules* rules = matrix::find_room_version(v.verified_as);
    if (rules == nullptr) return Judged::unredactable;
    Result<JsonObject> redacted = matrix::redact_event(*event.object_if(), *rules);
    if (!redacted) return Judged::unredactable;
    if (outcome == EventOutcome::redacted) {
      // A content rule refused it: the original is evidence (the caller keeps it).
      out.originals.push_back(
          {v.event_id, v.facts.event_type, rule_id, matrix::compact_json(event)});
    }
    event = Json(std::move(*redacted));
    ++(outcome == EventOutcome::redacted ? out.redacted : out.arrived_redacted);
    out.judged.push_back({v.event_id, v.facts.event_type, outcome, std::move(rule_id)});
    return Judged::redacted;
  }

  const matrix::KeyLookup& lookup() const { return recording_; }
  void keep_pending_as_missing() {
    for (auto& need : pending_) missing_.insert(need);
  }
  void clear_pending() { pending_.clear(); }

  // Fills the common fields; need_keys replaces the verdict on a first run with cache misses.
  ResponseCheck finish(ResponseCheck c) const {
    c.events_checked = checked_;
    c.room_version_unknown = version_unknown_;
    if (!missing_.empty() && !in_.keys_awaited && c.action != ResponseAction::pass) {
      ResponseCheck need;
      need.action = ResponseAction::need_keys;
      need.reason = "response_keys_missing";
      need.events_checked = checked_;
      // One fetch per key: the latest time it must be valid at covers the others (candidate
      // room versions ask for the same key with and without a time).
      std::map<std::pair<std::string, std::string>, std::int64_t> latest;
      for (const auto& [server, key_id, at] : missing_) {
        auto [it, fresh] = latest.try_emplace({server, key_id}, at);
        if (!fresh) it->second = std::max(it->second, at);
      }
      for (const auto& [key, at] : latest) need.missing_keys.push_back({key.first, key.second, at});
      return need;
    }
    return c;
  }

 private:
  const ResponseCheckInput& in_;
  const matrix::KeyLookup& keys_;
  matrix::KeyLookup recording_;
  std::set<std::tuple<std::string, std::string, std::int64_t>> pending_, missing_;
  std::string hint_room_;
  const matrix::RoomVersionRules* hint_ = nullptr;
  std::uint32_t checked_ = 0;
  bool version_unknown_ = false;
};

std::string describe(const enforcement::PduVerdict& v) {
  return (v.event_id.empty() ? std::string("an event") : "event " + v.event_id) + " (" + v.error +
         ")";
}

// A verified m.room.create event among `events` for `room` establishes the room's version for
// the other events of the answer (and for the gateway, through learnt_room_version). Only when
// it binds to the room: v12 by its computed room id; before, by its sender being on the room
// id's server (the auth rules' first check) and that server's signature verifying.
void learn_from_create(EventChecker& checker, const JsonArray& events, std::string_view room,
                       ResponseCheck& out) {
  if (room.empty()) return;
  for (const Json& e : events) {
    const JsonObject* ev = e.object_if();
    if (ev == nullptr) continue;
    const std::string* type = str(*ev, "type");
    const std::string* state_key = str(*ev, "state_key");
    if (type == nullptr || *type != "m.room.create" || state_key == nullptr || !state_key->empty())
      continue;
    enforcement::PduVerdict v = enforcement::inspect_pdu(*ev, nullptr, checker.lookup());
    checker.clear_pending();  // the create event is checked again with the others
    if (!v.error.empty() || !v.version_known) continue;
    const matrix::RoomVersionRules* rules = matrix::find_room_version(v.verified_as);
    if (rules == nullptr || EventChecker::event_room(*ev, v) != room) continue;
    if (!rules->room_id_without_domain) {
      const std::string* sender = str(*ev, "sender");
      if (sender == nullptr || !enforcement::same_server(enforcement::user_server(*sender),
                                                         matrix::id_server_name(room)))
        continue;
    }
    checker.set_hint(std::string(room), rules);
    out.learnt_room_version = std::string(rules->id);
    return;
  }
}

// An answer whose events were removed or redacted: the receiver gets `body` re-serialised.
void mark_filtered(ResponseCheck& c, const Json& body) {
  if (c.removed.empty() && c.redacted == 0 && c.arrived_redacted == 0) return;
  c.action = ResponseAction::filtered;
  c.reason = !c.removed.empty() ? "response_events_filtered" : "response_events_redacted";
  c.body = matrix::compact_json(body);
}

ResponseCheck refuse_unredactable(const enforcement::PduVerdict& v) {
  return refuse_answer("response_event_unredactable",
                       "An event the policy refuses cannot be redacted: " + v.event_id);
}

// Every event of `arr` must pass; the first failure refuses the answer. Passing events are
// judged by the content rules (refused ones redacted in place: `out.redacted` counts them).
std::optional<ResponseCheck> all_must_pass(EventChecker& checker, JsonArray& arr,
                                           std::string_view room, std::string_view section,
                                           ResponseCheck& out) {
  std::optional<ResponseCheck> failed;
  for (Json& e : arr) {
    if (!e.is_object()) return refuse_malformed(std::string(section) + " holds a non-object");
    CheckedEvent v = checker.check(*e.object_if(), room);
    // Keep going after a failure only to collect every missing key for one fetch round.
    if (!v.error.empty() && !failed) {
      failed =
          refuse_answer("response_event_failed",
                        "The remote server's answer carries an event that fails verification in " +
                            std::string(section) + ": " + describe(v));
    }
    if (checker.judge(e, v, out) == EventChecker::Judged::unredactable && !failed) {
      failed = refuse_unredactable(v);
    }
  }
  return failed;
}

const JsonArray* array_member(const JsonObject& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->second.array_if();
}

// backfill (pdus), get_missing_events (events): failing events are removed.
ResponseCheck check_removable(const ResponseCheckInput& in, EventChecker& checker, Json& body,
                              std::string_view key) {
  JsonObject* o = body.object_if();
  JsonArray* arr = nullptr;
  if (o != nullptr) {
    if (auto it = o->find(key); it != o->end()) arr = it->second.array_if();
  }
  if (arr == nullptr) return refuse_malformed("no " + std::string(key) + " array");
  ResponseCheck c;
  c.reason = "response_ok";
  JsonArray kept;
  kept.reserve(arr->size());
  for (Json& e : *arr) {
    if (!e.is_object()) return refuse_malformed(std::string(key) + " holds a non-object");
    CheckedEvent v = checker.check(*e.object_if(), in.asked.room_id);
    if (!v.error.empty()) {
      c.removed.push_back({v.event_id, v.error});
      continue;
    }
    if (checker.judge(e, v, c) == EventChecker::Judged::unredactable) {
      return checker.finish(refuse_unredactable(v));
    }
    kept.push_back(std::move(e));
  }
  *arr = std::move(kept);  // the events were moved into `kept`
  mark_filtered(c, body);
  return checker.finish(std::move(c));
}

ResponseCheck check_event(const ResponseCheckInput& in, EventChecker& checker, Json& body) {
  JsonObject* o = body.object_if();
  JsonArray* pdus = nullptr;
  if (o != nullptr) {
    if (auto it = o->find("pdus"); it != o->end()) pdus = it->second.array_if();
  }
  if (pdus == nullptr || pdus->size() != 1 || !pdus->front().is_object())
    return refuse_malformed("an event answer must hold exactly one PDU");
  CheckedEvent v = checker.check(*pdus->front().object_if(), {});
  if (!v.error.empty())
    return checker.finish(refuse_answer(
        "response_event_failed", "The remote server's event fails verification: " + describe(v)));
  if (v.event_id != in.asked.event_id && !checker.core())
    return checker.finish(refuse_answer("response_event_id_mismatch",
                                        "The remote server answered with another event (" +
                                            v.event_id + ") than the one asked for"));
  ResponseCheck c;
  c.reason = "response_ok";
  if (checker.judge(pdus->front(), v, c) == EventChecker::Judged::unredactable) {
    return checker.finish(refuse_unredactable(v));
  }
  mark_filtered(c, body);
  return checker.finish(std::move(c));
}

// state (pdus + auth_chain), event_auth (auth_chain), send_join (state + auth_chain + event).
// `root` is the whole answer (re-serialised when an event was redacted), `o` the object in it
// that holds the sets.
ResponseCheck check_complete_sets(const ResponseCheckInput& in, EventChecker& checker,
                                  const Json& root, JsonObject& o,
                                  std::initializer_list<std::string_view> keys, bool event_member) {
  ResponseCheck c;
  c.reason = "response_ok";
  std::vector<JsonArray*> sets;
  for (std::string_view key : keys) {
    auto it = o.find(key);
    JsonArray* arr = it == o.end() ? nullptr : it->second.array_if();
    if (arr == nullptr) return refuse_malformed("no " + std::string(key) + " array");
    sets.push_back(arr);
  }
  for (const JsonArray* arr : sets) {
    if (!c.learnt_room_version.empty() || checker.core()) break;
    learn_from_create(checker, *arr, in.asked.room_id, c);
  }
  std::optional<ResponseCheck> failed;
  std::size_t i = 0;
  for (std::string_view key : keys) {
    auto f = all_must_pass(checker, *sets[i++], in.asked.room_id, key, c);
    if (f && f->reason == "response_malformed") return *f;
    if (f && !failed) failed = std::move(f);
  }
  if (event_member && !checker.core()) {
    if (auto it = o.find("event"); it != o.end()) {
      // The join as the resident server completed it (restricted joins add its signature).
      if (!it->second.is_object()) return refuse_malformed("event is not an object");
      enforcement::PduVerdict v = checker.check(*it->second.object_if(), in.asked.room_id);
      if (!v.error.empty() && !failed) {
        failed = refuse_answer(
            "response_event_failed",
            "The join event in the remote server's answer fails verification: " + describe(v));
      } else if (v.error.empty() && v.event_id != in.asked.event_id && !failed) {
        failed = refuse_answer(
            "response_event_id_mismatch",
            "The remote server's answer carries another join event (" + v.event_id + ")");
      }
    }
  }
  if (failed) {
    failed->learnt_room_version.clear();  // nothing is learnt from a refused answer
    return checker.finish(std::move(*failed));
  }
  mark_filtered(c, root);
  return checker.finish(std::move(c));
}

ResponseCheck check_state_ids(const Json& body) {
  const JsonObject* o = body.object_if();
  if (o == nullptr) return refuse_malformed("not an object");
  for (std::string_view key : {"pdu_ids", "auth_chain_ids"}) {
    const JsonArray* arr = array_member(*o, key);
    if (arr == nullptr) return refuse_malformed("no " + std::string(key) + " array");
    for (const Json& id : *arr) {
      const std::string* s = id.string_if();
      if (s == nullptr || s->size() < 2 || s->front() != '$' || s->size() > 255)
        return refuse_malformed(std::string(key) + " holds something that is not an event id");
    }
  }
  ResponseCheck c;
  c.reason = "response_ok";
  return c;
}

ResponseCheck check_template(const ResponseCheckInput& in, const Json& body) {
  const JsonObject* o = body.object_if();
  if (o == nullptr) return refuse_malformed("not an object");
  const std::string* version = str(*o, "room_version");
  const JsonObject* event = obj(*o, "event");
  if (version == nullptr || event == nullptr)
    return refuse_malformed("room_version or event missing");
  if (matrix::find_room_version(*version) == nullptr)
    return refuse_answer("unknown_room_version", "The remote server's room version " + *version +
                                                     " is not known to the gateway");
  if (!in.asked.offered_versions.empty()) {
    bool offered = false;
    for (const std::string& v : in.asked.offered_versions) offered = offered || v == *version;
    if (!offered)
      return refuse_answer("room_version_not_offered", "The remote server chose room version " +
                                                           *version + ", which was not offered");
  }
  const E e = in.asked.endpoint;
  const char* membership = e == E::make_join ? "join" : e == E::make_leave ? "leave" : "knock";
  auto mismatch = [](std::string field) {
    return refuse_answer("template_mismatch",
                         "The remote server's event template does not match the request: " + field);
  };
  const std::string* type = str(*event, "type");
  if (type == nullptr || *type != "m.room.member") return mismatch("type");
  const std::string* room = str(*event, "room_id");
  if (room == nullptr || *room != in.asked.room_id) return mismatch("room_id");
  const std::string* sender = str(*event, "sender");
  if (sender == nullptr || *sender != in.asked.user_id) return mismatch("sender");
  const std::string* state_key = str(*event, "state_key");
  if (state_key == nullptr || *state_key != in.asked.user_id) return mismatch("state_key");
  const JsonObject* content = obj(*event, "content");
  const std::string* ms = content != nullptr ? str(*content, "membership") : nullptr;
  if (ms == nullptr || *ms != membership) return mismatch("content.membership");
  ResponseCheck c;
  c.reason = "response_ok";
  // Not learnt: the template is the remote server's word, unsigned (see docs/outbound.md).
  return c;
}

JsonObject without_signatures(const JsonObject& event) {
  JsonObject copy = event;
  copy.erase("signatures");
  copy.erase("unsigned");
  return copy;
}

ResponseCheck check_invite(const ResponseCheckInput& in, EventChecker& checker, const Json& body) {
  const JsonObject* o = body.object_if();
  if (in.asked.api_version == 1) {
    const JsonArray* a = body.array_if();
    if (a == nullptr || a->size() != 2 || a->front().int_if() != 200 || !(*a)[1].is_object())
      return refuse_malformed("a v1 invite answer must be [200, {\"event\": ...}]");
    o = (*a)[1].object_if();
  }
  if (o == nullptr) return refuse_malformed("not an object");
  const JsonObject* event = obj(*o, "event");
  if (event == nullptr) return refuse_malformed("no event");
  if (in.asked.sent_event == nullptr)
    return refuse_answer("invite_not_comparable", "The invite the Core sent is not known");
  if (without_signatures(*event) != without_signatures(*in.asked.sent_event))
    return refuse_answer("invite_event_altered",
                         "The remote server returned an invite event other than the one sent");
  // The Core's signature (the sender's server) still verifies: check_pdu requires it.
  enforcement::PduVerdict v = checker.check(*event, in.asked.room_id);
  if (!v.error.empty())
    return checker.finish(refuse_answer("response_event_failed",
                                        "The returned invite fails verification: " + describe(v)));
  // And the invitee's server signed it (the reason the Core sends the invite at all).
  const std::string* invitee = str(*event, "state_key");
  std::string_view invitee_server =
      invitee ? enforcement::user_server(*invitee) : std::string_view{};
  const matrix::RoomVersionRules* rules = matrix::find_room_version(v.verified_as);
  if (invitee_server.empty() || rules == nullptr) return refuse_malformed("no invitee");
  auto redacted = matrix::redact_event(*event, *rules);
  if (!redacted) return refuse_malformed("the invite cannot be redacted");
  std::int64_t at = matrix::kAnyTime;
  if (rules->enforce_key_validity) {
    if (auto ts = event->find("origin_server_ts"); ts != event->end())
      at = ts->second.int_if().value_or(0);
  }
  checker.clear_pending();
  Status s = matrix::verify_server_signature(*redacted, invitee_server, checker.lookup(), at);
  if (!s.ok()) {
    checker.keep_pending_as_missing();
    return checker.finish(
        refuse_answer("invite_not_signed_by_invitee", "The returned invite is not signed by " +
                                                          std::string(invitee_server) + " (" +
                                                          s.error().code + ")"));
  }
  ResponseCheck c;
  c.reason = "response_ok";
  return checker.finish(std::move(c));
}

}  // namespace

std::string audit_note(const ResponseCheck& c) {
  switch (c.action) {
    case ResponseAction::pass:
    case ResponseAction::need_keys:
      return {};
    case ResponseAction::refuse:
      return "response refused: " + c.reason;
    case ResponseAction::filtered:
      break;
  }
  std::string out;
  if (!c.removed.empty()) {
    out = "response_events_filtered: removed ";
    std::size_t listed = 0;
    for (const RemovedEvent& r : c.removed) {
      if (out.size() > 600) break;
      if (listed++ > 0) out += ", ";
      out += (r.event_id.empty() ? std::string("(no id)") : r.event_id) + " (" + r.error + ")";
    }
    if (listed < c.removed.size())
      out += " and " + std::to_string(c.removed.size() - listed) + " more";
  }
  if (c.arrived_redacted > 0) {
    if (!out.empty()) out += "; ";
    out += std::to_string(c.arrived_redacted) +
           " events arrived redacted (content hash mismatch, signatures valid), passed redacted";
  }
  if (c.redacted > 0) {
    if (!out.empty()) out += "; ";
    out += "redacted by policy: ";
    std::size_t listed = 0;
    for (const enforcement::AnswerEvent& j : c.judged) {
      if (j.outcome != EventOutcome::redacted) continue;
      if (out.size() > 1000) break;
      if (listed++ > 0) out += ", ";
      out += j.event_id + " (rule " + j.rule_id + ")";
    }
    if (listed < c.redacted) out += " and " + std::to_string(c.redacted - listed) + " more";
  }
  return out;
}

bool answer_carries_events(policy::FederationEndpoint e) {
  switch (e) {
    case E::backfill:
    case E::get_missing_events:
    case E::event:
    case E::state:
    case E::event_auth:
    case E::send_join:
      return true;
    default:
      return false;
  }
}

bool response_needs_check(policy::FederationEndpoint e) {
  if (answer_carries_events(e)) return true;
  switch (e) {
    case E::state_ids:
    case E::make_join:
    case E::make_leave:
    case E::make_knock:
    case E::invite:
    case E::media_download:
    case E::media_thumbnail:
    case E::key_server:
    case E::key_query:
      return true;
    default:
      return false;
  }
}

ResponseCheck check_response(const ResponseCheckInput& in, const matrix::KeyLookup& keys) {
  const E e = in.asked.endpoint;
  ResponseCheck pass;
  pass.reason = "response_ok";
  if (!response_needs_check(e) || in.answer.status < 200 || in.answer.status > 299) return pass;
  // The Core's answers are judged for their events only (nothing else of them is held).
  if (in.source == AnswerSource::core && !answer_carries_events(e)) return pass;
  if (e == E::media_download || e == E::media_thumbnail) {
    if (in.asked.legacy_media) {
      return check_plain_media_answer(in.answer.content_type, in.answer.body, in.media);
    }
    return check_media_answer(in.answer.content_type, in.answer.body, in.media);
  }
  if (e == E::key_server || e == E::key_query) return check_key_answer(in, keys);
  auto parsed = matrix::parse_json(
      in.answer.body,
      {.max_depth = 64, .max_bytes = in.answer.body.size() + 1, .allow_floats = true});
  if (!parsed) return refuse_malformed("not JSON (" + parsed.error().code + ")");
  Json& body = *parsed;
  EventChecker checker(in, keys);
  switch (e) {
    case E::backfill:
      return check_removable(in, checker, body, "pdus");
    case E::get_missing_events:
      return check_removable(in, checker, body, "events");
    case E::event:
      return check_event(in, checker, body);
    case E::state: {
      JsonObject* o = body.object_if();
      if (o == nullptr) return refuse_malformed("not an object");
      return check_complete_sets(in, checker, body, *o, {"auth_chain", "pdus"}, false);
    }
    case E::event_auth: {
      JsonObject* o = body.object_if();
      if (o == nullptr) return refuse_malformed("not an object");
      return check_complete_sets(in, checker, body, *o, {"auth_chain"}, false);
    }
    case E::send_join: {
      JsonObject* o = body.object_if();
      if (in.asked.api_version == 1) {
        JsonArray* a = body.array_if();
        if (a == nullptr || a->size() != 2 || a->front().int_if() != 200 || !(*a)[1].is_object())
          return refuse_malformed("a v1 send_join answer must be [200, {...}]");
        o = (*a)[1].object_if();
      }
      if (o == nullptr) return refuse_malformed("not an object");
      return check_complete_sets(in, checker, body, *o, {"auth_chain", "state"}, true);
    }
    case E::state_ids:
      return check_state_ids(body);
    case E::make_join:
    case E::make_leave:
    case E::make_knock:
      return check_template(in, body);
    case E::invite:
      return check_invite(in, checker, body);
    default:
      return pass;
  }
}

}  // namespace bordergate::outbound
