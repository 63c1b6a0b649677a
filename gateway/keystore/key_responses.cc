#include "gateway/keystore/key_responses.h"

#include "gateway/keystore/key_fetcher.h"
#include "gateway/matrix/json.h"

namespace bordergate::keystore {
namespace {

Result<matrix::Json> parse_body(std::string_view body, const ResponseLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return make_error("response_too_large",
                      "key response exceeds " + std::to_string(limits.max_body_bytes) + " bytes");
  }
  matrix::JsonLimits json_limits;
  json_limits.max_depth = 16;
  json_limits.max_bytes = limits.max_body_bytes;
  auto json = matrix::parse_json(body, json_limits);
  if (!json) return make_error("invalid_json", "key response is not strict JSON: " + json.error().code);
  return json;
}

Status check_keys(const matrix::ServerKeys& keys, std::string_view expected_server,
                  const ResponseLimits& limits) {
  if (keys.server_name != expected_server) {
    return make_error("wrong_server", "asked for keys of " + std::string(expected_server) +
                                          ", got keys of " + keys.server_name);
  }
  if (keys.verify_keys.size() + keys.old_verify_keys.size() > limits.max_keys) {
    return make_error("too_many_keys", keys.server_name + " published more than " +
                                           std::to_string(limits.max_keys) + " keys");
  }
  return {};
}

}  // namespace

std::string notary_request_body(const NotaryQuery& query) {
  matrix::JsonObject wanted;
  for (const auto& key_id : query.key_ids) {
    wanted.emplace(key_id, matrix::JsonObject{{"minimum_valid_until_ts",
                                               matrix::Json(query.minimum_valid_until_ts)}});
  }
  matrix::JsonObject body{
      {"server_keys", matrix::JsonObject{{query.server_name, matrix::Json(std::move(wanted))}}}};
  return matrix::compact_json(matrix::Json(std::move(body)));
}

Result<matrix::ServerKeys> verify_server_response(std::string_view body,
                                                  std::string_view expected_server,
                                                  const ResponseLimits& limits) {
  auto json = parse_body(body, limits);
  if (!json) return json.error();
  auto keys = matrix::parse_server_keys(*json);
  if (!keys) return keys.error();
  if (auto ok = check_keys(*keys, expected_server, limits); !ok) return ok.error();
  return keys;
}

Result<std::vector<matrix::ServerKeys>> verify_notary_response(
    std::string_view body, std::string_view notary_name, const matrix::KeyLookup& notary_keys,
    std::string_view expected_server, std::int64_t now_ms, const ResponseLimits& limits) {
  auto json = parse_body(body, limits);
  if (!json) return json.error();
  auto all = matrix::parse_notary_response(*json, notary_name, notary_keys, now_ms);
  if (!all) return all.error();
  std::vector<matrix::ServerKeys> mine;
  std::optional<Error> last_error;
  for (auto& keys : *all) {
    if (keys.server_name != expected_server) continue;
    if (auto ok = check_keys(keys, expected_server, limits); !ok) {
      last_error = ok.error();
      continue;
    }
    mine.push_back(std::move(keys));
  }
  if (mine.empty()) {
    if (last_error) return *last_error;
    return make_error("no_keys", std::string(notary_name) + " returned no keys for " +
                                     std::string(expected_server));
  }
  return mine;
}

}  // namespace bordergate::keystore
