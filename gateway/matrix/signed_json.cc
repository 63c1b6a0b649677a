// Signing and verifying JSON objects (App §Signing JSON, §Checking for a signature).
#include "gateway/matrix/signed_json.h"

namespace bordergate::matrix {

Result<std::string> signing_bytes(const JsonObject& object) {
  // Copying the map would cost more than the signature check; write the canonical form of the
  // object while skipping the two excluded members instead.
  for (const auto& [k, v] : object) {
    if (k == "signatures" || k == "unsigned") continue;
    if (auto r = check_canonical_json(v); !r) return r.error();
    if (!is_valid_utf8(k)) return make_error("invalid_utf8", "key is not valid UTF-8");
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : object) {
    if (k == "signatures" || k == "unsigned") continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, k);
    out.push_back(':');
    append_canonical_json(out, v);
  }
  out.push_back('}');
  return out;
}

Status sign_json(JsonObject& object, std::string_view server_name, const SigningKey& key) {
  auto bytes = signing_bytes(object);
  if (!bytes) return bytes.error();
  auto it = object.find("signatures");
  if (it == object.end()) {
    it = object.emplace("signatures", JsonObject{}).first;
  } else if (!it->second.is_object()) {
    return make_error("bad_signatures", "\"signatures\" is not an object");
  }
  auto& servers = *it->second.object_if();
  auto server = servers.find(server_name);
  if (server == servers.end()) {
    server = servers.emplace(std::string(server_name), JsonObject{}).first;
  } else if (!server->second.is_object()) {
    return make_error("bad_signatures",
                      "signatures of \"" + std::string(server_name) + "\" is not an object");
  }
  (*server->second.object_if())[key.key_id()] = Json(to_base64(key.sign(*bytes)));
  return {};
}

namespace {

// signatures[server_name] as an object, or an error saying why there is none.
Result<const JsonObject*> server_signatures(const JsonObject& object,
                                            std::string_view server_name) {
  auto it = object.find("signatures");
  if (it == object.end()) return make_error("missing_signature", "object has no \"signatures\"");
  const auto* servers = it->second.object_if();
  if (!servers) return make_error("bad_signatures", "\"signatures\" is not an object");
  auto server = servers->find(server_name);
  if (server == servers->end()) {
    return make_error("missing_signature", "no signature by " + std::string(server_name));
  }
  const auto* keys = server->second.object_if();
  if (!keys)
    return make_error("bad_signatures",
                      "signatures of " + std::string(server_name) + " is not an object");
  return keys;
}

Status verify_bytes(std::string_view bytes, const Json& sig_value, std::string_view key_id,
                    const VerifyKey& key) {
  const auto* sig_b64 = sig_value.string_if();
  if (!sig_b64)
    return make_error("bad_signatures", "signature " + std::string(key_id) + " is not a string");
  auto sig = signature_from_base64(*sig_b64);
  if (!sig) return sig.error();
  if (!ed25519_verify(key, bytes, *sig)) {
    return make_error("bad_signature", "signature by " + std::string(key_id) + " does not verify");
  }
  return {};
}

}  // namespace

Status verify_json_signature(const JsonObject& object, std::string_view server_name,
                             std::string_view key_id, const VerifyKey& key) {
  auto keys = server_signatures(object, server_name);
  if (!keys) return keys.error();
  auto sig = (*keys)->find(key_id);
  if (sig == (*keys)->end()) {
    return make_error("missing_signature", "no signature by " + std::string(server_name) +
                                               " with " + std::string(key_id));
  }
  auto bytes = signing_bytes(object);
  if (!bytes) return bytes.error();
  return verify_bytes(*bytes, sig->second, key_id, key);
}

Status verify_server_signature(const JsonObject& object, std::string_view server_name,
                               const KeyLookup& keys, std::int64_t valid_at_ms) {
  auto sigs = server_signatures(object, server_name);
  if (!sigs) return sigs.error();
  std::optional<std::string> bytes;
  int verified = 0;
  std::string skipped;
  for (const auto& [key_id, sig] : **sigs) {
    if (!key_id.starts_with("ed25519:")) continue;  // unknown algorithms are ignored (App §4.3)
    auto key = keys(server_name, key_id, valid_at_ms);
    if (!key) {
      if (key.error().code == "unknown_key" || key.error().code == "key_expired") {
        skipped = key.error().message;
        continue;
      }
      return key.error();  // "key_unavailable": the verdict is not ours to make yet
    }
    if (!bytes) {
      auto b = signing_bytes(object);
      if (!b) return b.error();
      bytes = std::move(b).value();
    }
    if (auto s = verify_bytes(*bytes, sig, key_id, *key); !s) return s;
    ++verified;
  }
  if (verified == 0) {
    return make_error("missing_signature", "no verifiable signature by " +
                                               std::string(server_name) +
                                               (skipped.empty() ? "" : " (" + skipped + ")"));
  }
  return {};
}

}  // namespace bordergate::matrix
