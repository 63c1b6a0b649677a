// Server key responses (S2S §Retrieving server keys), notary answers and StaticKeyRing.
#include "gateway/matrix/server_keys.h"

#include <limits>

namespace bordergate::matrix {
namespace {

constexpr auto kForever = std::numeric_limits<std::int64_t>::max();

Error bad(std::string what) { return make_error("bad_server_keys", std::move(what)); }

// {"ed25519:x": {"key": "<b64>", ...}} -> (key id, key, the object) for each ed25519 key.
template <class F>
Status for_each_key(const Json& keys, std::string_view field, F&& f) {
  const auto* object = keys.object_if();
  if (!object) return bad("\"" + std::string(field) + "\" is not an object");
  for (const auto& [key_id, entry] : *object) {
    if (!key_id.starts_with("ed25519:"))
      continue;  // other algorithms may appear; we cannot use them
    if (!is_ed25519_key_id(key_id)) return bad("invalid key id \"" + key_id + "\"");
    const auto* b64 = entry.find("key") ? entry.find("key")->string_if() : nullptr;
    if (!b64) return bad(std::string(field) + "[" + key_id + "].key is missing or not a string");
    auto key = verify_key_from_base64(*b64);
    if (!key) return bad(std::string(field) + "[" + key_id + "].key: " + key.error().message);
    if (Status s = f(key_id, *key, entry); !s) return s;
  }
  return {};
}

}  // namespace

Result<ServerKeys> parse_server_keys_unverified(const Json& response) {
  const auto* object = response.object_if();
  if (!object) return bad("server keys response is not an object");
  ServerKeys out;
  const Json* name = response.find("server_name");
  if (!name || !name->string_if() || name->string_if()->empty()) {
    return bad("\"server_name\" is missing or not a string");
  }
  out.server_name = *name->string_if();
  const Json* valid_until = response.find("valid_until_ts");
  if (!valid_until || !valid_until->int_if())
    return bad("\"valid_until_ts\" is missing or not an integer");
  out.valid_until_ts = *valid_until->int_if();
  const Json* verify_keys = response.find("verify_keys");
  if (!verify_keys) return bad("\"verify_keys\" is missing");
  Status s = for_each_key(*verify_keys, "verify_keys",
                          [&](const std::string& id, const VerifyKey& key, const Json&) -> Status {
                            out.verify_keys.emplace(id, key);
                            return {};
                          });
  if (!s) return s.error();
  if (const Json* old = response.find("old_verify_keys")) {
    s = for_each_key(
        *old, "old_verify_keys",
        [&](const std::string& id, const VerifyKey& key, const Json& entry) -> Status {
          const Json* expired = entry.find("expired_ts");
          if (!expired || !expired->int_if())
            return bad("old_verify_keys[" + id + "].expired_ts is missing or not an integer");
          out.old_verify_keys.emplace(id, OldVerifyKey{key, *expired->int_if()});
          return {};
        });
    if (!s) return s.error();
  }
  out.raw = *object;
  return out;
}

std::vector<SelfSignature> check_self_signatures(const ServerKeys& keys) {
  std::vector<SelfSignature> out;
  for (const auto& [key_id, key] : keys.verify_keys) {
    out.push_back({key_id, verify_json_signature(keys.raw, keys.server_name, key_id, key)});
  }
  return out;
}

Result<ServerKeys> parse_server_keys(const Json& response) {
  auto keys = parse_server_keys_unverified(response);
  if (!keys) return keys.error();
  if (keys->verify_keys.empty()) {
    return make_error("missing_signature",
                      "no ed25519 verify key to check the self-signature with");
  }
  for (auto& check : check_self_signatures(*keys)) {
    if (!check.status) {
      return make_error(check.status.error().code, keys->server_name + ": self-signature " +
                                                       check.key_id + ": " +
                                                       check.status.error().message);
    }
  }
  return keys;
}

Result<std::vector<ServerKeys>> parse_notary_response(const Json& response,
                                                      std::string_view notary_name,
                                                      const KeyLookup& notary_keys,
                                                      std::int64_t now_ms) {
  const Json* list = response.find("server_keys");
  if (!list || !list->array_if()) return bad("\"server_keys\" is missing or not an array");
  std::vector<ServerKeys> out;
  for (const Json& entry : *list->array_if()) {
    auto keys = parse_server_keys(entry);
    if (!keys) return keys.error();
    if (Status s = verify_server_signature(keys->raw, notary_name, notary_keys, now_ms); !s) {
      return make_error(s.error().code, keys->server_name + ": notary " + std::string(notary_name) +
                                            ": " + s.error().message);
    }
    out.push_back(std::move(keys).value());
  }
  return out;
}

Status StaticKeyRing::add(std::string_view server_name, std::string_view key_id,
                          const VerifyKey& key) {
  if (!is_ed25519_key_id(key_id)) {
    return make_error("bad_key_file", "invalid key id \"" + std::string(key_id) + "\"");
  }
  auto& server = keys_[std::string(server_name)];
  server.insert_or_assign(std::string(key_id), Entry{key, kForever, kForever});
  return {};
}

void StaticKeyRing::add(const ServerKeys& keys) {
  auto& server = keys_[keys.server_name];
  for (const auto& [id, key] : keys.verify_keys) {
    server.insert_or_assign(id, Entry{key, keys.valid_until_ts, kForever});
  }
  for (const auto& [id, old] : keys.old_verify_keys) {
    // A key listed as current wins over the same id listed as old.
    if (!keys.verify_keys.contains(id))
      server.insert_or_assign(id, Entry{old.key, kForever, old.expired_ts});
  }
}

Status StaticKeyRing::add_json(const Json& document) {
  const auto* object = document.object_if();
  if (!object) return make_error("bad_key_file", "key file is not a JSON object");
  if (object->contains("verify_keys")) {
    auto keys = parse_server_keys(document);
    if (!keys) return make_error("bad_key_file", keys.error().message);
    add(*keys);
    return {};
  }
  if (const Json* list = document.find("server_keys")) {
    if (!list->array_if()) return make_error("bad_key_file", "\"server_keys\" is not an array");
    for (const Json& entry : *list->array_if()) {
      auto keys = parse_server_keys(entry);
      if (!keys) return make_error("bad_key_file", keys.error().message);
      add(*keys);
    }
    return {};
  }
  for (const auto& [server, keys] : *object) {
    const auto* key_map = keys.object_if();
    if (!key_map) return make_error("bad_key_file", "keys of \"" + server + "\" are not an object");
    for (const auto& [key_id, b64] : *key_map) {
      if (!b64.string_if())
        return make_error("bad_key_file", server + " " + key_id + ": key is not a string");
      auto key = verify_key_from_base64(*b64.string_if());
      if (!key)
        return make_error("bad_key_file", server + " " + key_id + ": " + key.error().message);
      if (Status s = add(server, key_id, *key); !s) return s;
    }
  }
  return {};
}

Result<VerifyKey> StaticKeyRing::find(std::string_view server_name, std::string_view key_id,
                                      std::int64_t valid_at_ms) const {
  auto server = keys_.find(server_name);
  if (server != keys_.end()) {
    auto it = server->second.find(key_id);
    if (it != server->second.end()) {
      const Entry& e = it->second;
      if (valid_at_ms != kAnyTime &&
          (valid_at_ms > e.valid_until_ts || valid_at_ms >= e.expired_ts)) {
        return make_error("key_expired", std::string(server_name) + " " + std::string(key_id) +
                                             " is not valid at " + std::to_string(valid_at_ms));
      }
      return e.key;
    }
  }
  return make_error("unknown_key",
                    "no key " + std::string(key_id) + " for " + std::string(server_name));
}

KeyLookup StaticKeyRing::lookup() const {
  return [this](std::string_view server, std::string_view key_id, std::int64_t at) {
    return find(server, key_id, at);
  };
}

}  // namespace bordergate::matrix
