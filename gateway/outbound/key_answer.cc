#include "gateway/outbound/key_answer.h"

#include <set>
#include <utility>

#include "gateway/matrix/json.h"
#include "gateway/matrix/server_keys.h"
#include "gateway/outbound/refusal.h"

namespace bordergate::outbound {
namespace {

using E = policy::FederationEndpoint;

ResponseCheck invalid(std::string_view destination, const Error& e) {
  return refuse_answer("response_keys_invalid", "The keys " + std::string(destination) +
                                                    " answered do not verify (" + e.code +
                                                    "): " + e.message);
}

}  // namespace

ResponseCheck check_key_answer(const ResponseCheckInput& in, const matrix::KeyLookup& keys) {
  const std::string_view destination = in.asked.destination;
  // The answer's size is already bounded by outbound.max_response_bytes; a notary answering a
  // batch query may be far larger than one server's keys.
  auto parsed =
      matrix::parse_json(in.answer.body, {.max_depth = 16, .max_bytes = in.answer.body.size() + 1});
  if (!parsed) {
    return refuse_malformed("not strict JSON (" + parsed.error().code + ")");
  }
  ResponseCheck pass;
  pass.reason = "response_ok";

  if (in.asked.endpoint == E::key_server) {
    auto own = matrix::parse_server_keys(*parsed);
    if (!own) return invalid(destination, own.error());
    if (own->server_name != destination) {
      return invalid(destination, make_error("wrong_server",
                                             "the answer holds the keys of " + own->server_name));
    }
    return pass;
  }

  // A notary answer: the destination's signature on every entry. Keys of the destination not at
  // hand are recorded on the first run and fetched by the caller, then the check runs again.
  std::set<std::string, std::less<>> missing;
  matrix::KeyLookup recording = [&](std::string_view server, std::string_view key_id,
                                    std::int64_t) -> Result<matrix::VerifyKey> {
    auto key = keys(server, key_id, matrix::kAnyTime);
    if (!key && key.error().code == "key_unavailable") missing.emplace(key_id);
    return key;
  };
  auto vouched = matrix::parse_notary_response(*parsed, destination, recording, matrix::kAnyTime);
  if (vouched) {
    // Asked about one server (GET /query/{serverName}[/{keyId}]): a notary that slips in keys of
    // another server would have the Core store them (Synapse keeps every entry it is given).
    for (const matrix::ServerKeys& entry : *vouched) {
      if (!in.asked.queried_server.empty() && entry.server_name != in.asked.queried_server) {
        return invalid(
            destination,
            make_error("wrong_server", "asked about " + std::string(in.asked.queried_server) +
                                           ", the answer holds keys of " + entry.server_name));
      }
    }
    return pass;
  }
  if (!missing.empty() && !in.keys_awaited) {
    ResponseCheck need;
    need.action = ResponseAction::need_keys;
    need.reason = "response_keys_missing";
    for (const std::string& key_id : missing)
      need.missing_keys.push_back({std::string(destination), key_id, matrix::kAnyTime});
    return need;
  }
  return invalid(destination, vouched.error());
}

}  // namespace bordergate::outbound
