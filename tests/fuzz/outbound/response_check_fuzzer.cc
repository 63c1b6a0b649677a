// The response checker on hostile answers of external servers: never a crash, and its verdicts
// hold together: a refusal is a 502 (a media policy refusal 403/413) with an errcode; a filtered
// body parses and passes the same check again unchanged (removing events never makes an answer
// fail); once keys were awaited it never asks for keys again. With bit 3 the content rules of a
// policy judge the events. Events redacted (by the policy, or arriving with a content hash that
// does not match) pass a second check without the policy as arrived redacted, byte for byte.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/matrix/ed25519.h"
#include "gateway/outbound/response_check.h"
#include "policy/loader.h"

using namespace bordergate;
using outbound::ResponseAction;

namespace {

constexpr policy::FederationEndpoint kEndpoints[] = {
    policy::FederationEndpoint::backfill,       policy::FederationEndpoint::get_missing_events,
    policy::FederationEndpoint::event,          policy::FederationEndpoint::state,
    policy::FederationEndpoint::state_ids,      policy::FederationEndpoint::event_auth,
    policy::FederationEndpoint::send_join,      policy::FederationEndpoint::make_join,
    policy::FederationEndpoint::make_knock,     policy::FederationEndpoint::invite,
    policy::FederationEndpoint::media_download, policy::FederationEndpoint::send,
    policy::FederationEndpoint::key_server,     policy::FederationEndpoint::key_query,
};

const matrix::SigningKey& key() {
  static const matrix::SigningKey k = [] {
    const std::uint8_t seed[32] = {7};
    return *matrix::SigningKey::from_seed("f1", seed);
  }();
  return k;
}

Result<matrix::VerifyKey> lookup(std::string_view server, std::string_view key_id, std::int64_t) {
  if (server == "remote.example" && key_id == "ed25519:f1") return key().verify_key();
  return make_error("unknown_key", "not cached");
}

// A refusal is a 502 (the remote answered what it must not), except the media policy's own
// refusals, which are 4xx so that the Core does not back the server off.
int refusal_status(std::string_view reason) {
  if (reason == "media_too_large") return 413;
  if (reason == "media_not_allowed" || reason == "media_content_type_not_allowed") return 403;
  return 502;
}

void check_consistent(const outbound::ResponseCheck& c, bool keys_awaited) {
  if (c.action == ResponseAction::refuse &&
      (c.status != refusal_status(c.reason) || std::string_view(c.errcode).empty()))
    std::abort();
  if (c.action == ResponseAction::need_keys && (keys_awaited || c.missing_keys.empty()))
    std::abort();
  if (c.action == ResponseAction::filtered &&
      ((c.removed.empty() && c.redacted == 0 && c.arrived_redacted == 0) || c.body.empty()))
    std::abort();
  std::uint32_t redacted = 0, arrived = 0;
  for (const enforcement::AnswerEvent& j : c.judged) {
    redacted += j.outcome == enforcement::EventOutcome::redacted ? 1 : 0;
    arrived += j.outcome == enforcement::EventOutcome::arrived_redacted ? 1 : 0;
  }
  if (redacted != c.redacted || arrived != c.arrived_redacted) std::abort();
}

// Denies every message type and quarantines org.* from remote.example (the inbound rules).
const policy::Policy* content_policy() {
  static const std::shared_ptr<const policy::Policy> p = [] {
    policy::LoadOutput out = policy::load_policy_text(R"(version: 1
server_name: core.example
default: deny
federations:
  remote: {servers: [remote.example]}
rules:
  - {id: all, federation: remote, direction: both, endpoints: ["@all"], action: allow}
  - {id: no-messages, federation: remote, direction: inbound, event_types: [m.room.message], action: deny}
  - {id: hold-org, federation: remote, direction: inbound, event_types: ["org.*"], action: quarantine}
)",
                                                      "fuzz.yaml");
    if (!out.policy) std::abort();
    return out.policy;
  }();
  return p.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto endpoint = kEndpoints[data[0] % std::size(kEndpoints)];
  const int api_version = (data[1] & 1) ? 2 : 1;
  const bool keys_awaited = (data[1] & 2) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  // Media: the Content-Type comes first, up to a newline.
  std::string_view content_type = "application/json";
  if (endpoint == policy::FederationEndpoint::media_download) {
    const std::size_t nl = rest.find('\n');
    content_type = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  policy::MediaPolicy media;
  media.max_bytes = 64;
  media.content_types = {"image/*"};
  static const matrix::JsonObject sent = [] {
    return *matrix::parse_json(R"({"type":"m.room.member","state_key":"@b:remote.example"})")
                ->object_if();
  }();
  const std::string offered[] = {"10", "11"};

  outbound::ResponseCheckInput in;
  in.asked = {endpoint,          api_version, "!r:remote.example",
              "@u:core.example", "$e",        "remote.example",
              "core.example",    &sent,       offered};
  // Media: bit 2 reads the answer as a legacy /_matrix/media one (the plain bytes).
  in.asked.legacy_media = (data[1] & 4) != 0;
  in.answer = {200, content_type, rest};
  in.room_versions = [](std::string_view room) {
    return room == "!r:remote.example" ? matrix::find_room_version("10") : nullptr;
  };
  in.media = &media;
  in.keys_awaited = keys_awaited;
  const bool judged = (data[1] & 8) != 0;
  if (judged) in.policy = content_policy();
  const matrix::KeyLookup keys = lookup;
  const outbound::ResponseCheck c = outbound::check_response(in, keys);
  check_consistent(c, keys_awaited);
  if (c.action == ResponseAction::filtered) {
    in.answer.body = c.body;
    in.policy = nullptr;
    const outbound::ResponseCheck again = outbound::check_response(in, keys);
    // Without redactions nothing changes. A redacted event no longer matches its content hash:
    // checked again it arrives redacted (passed in the same form), never removed or refused.
    const std::uint32_t before = c.redacted + c.arrived_redacted;
    if (before == 0 && again.action != ResponseAction::pass) std::abort();
    if (before > 0 && (again.action == ResponseAction::refuse || !again.removed.empty() ||
                       again.arrived_redacted != before || again.body != c.body))
      std::abort();
  }
  return 0;
}
