#include "gateway/enforcement/pinned_keys_file.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/json.h"
#include "policy/server_name.h"

namespace bordergate::enforcement {

Status parse_pinned_keys(std::string_view text, PinnedKeys& into) {
  auto parsed = matrix::parse_json(text, {.max_depth = 4, .max_bytes = 1 << 20});
  if (!parsed) return parsed.error();
  const matrix::JsonObject* servers = parsed->object_if();
  if (!servers) return make_error("bad_pinned_keys", "expected {server: {key_id: key}}");
  for (const auto& [server, keys] : *servers) {
    const matrix::JsonObject* by_id = keys.object_if();
    if (!policy::is_valid_server_name(server))
      return make_error("bad_pinned_keys", "'" + server + "' is not a server name");
    if (!by_id || by_id->empty())
      return make_error("bad_pinned_keys", server + ": expected a non-empty {key_id: key}");
    for (const auto& [key_id, entry] : *by_id) {
      const std::string* text_key = entry.string_if();
      std::optional<std::int64_t> valid_until;
      if (const matrix::JsonObject* o = entry.object_if()) {
        auto k = o->find("key");
        auto ts = o->find("valid_until_ts");
        text_key = k != o->end() ? k->second.string_if() : nullptr;
        if (ts != o->end()) {
          valid_until = ts->second.int_if();
          if (!valid_until)
            return make_error("bad_pinned_keys",
                              server + " " + key_id + ": valid_until_ts must be an integer (ms)");
        }
        if (o->size() != 1u + (ts != o->end() ? 1u : 0u))
          return make_error("bad_pinned_keys",
                            server + " " + key_id + ": expected {\"key\", \"valid_until_ts\"}");
      }
      if (!matrix::is_ed25519_key_id(key_id) || !text_key)
        return make_error("bad_pinned_keys", server + ": '" + key_id + "' is not an ed25519 key");
      // Unpadded (43 characters), as in keys.pinned and the spec's key responses.
      if (text_key->size() != 43)
        return make_error("bad_pinned_keys",
                          server + " " + key_id + ": not an unpadded base64 key");
      auto key = matrix::verify_key_from_base64(*text_key);
      if (!key)
        return make_error("bad_pinned_keys", server + " " + key_id + ": " + key.error().message);
      auto [it, inserted] = into.keys[server].emplace(key_id, *key);
      if (!inserted && !(it->second == *key))
        return make_error("bad_pinned_keys",
                          server + " " + key_id + " is pinned twice with different keys");
      if (valid_until) {
        auto [ts, fresh] = into.valid_until[server].emplace(key_id, *valid_until);
        if (!fresh) ts->second = std::min(ts->second, *valid_until);
      }
    }
  }
  return {};
}

Status load_pinned_keys_file(const std::string& path, PinnedKeys& into) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("bad_pinned_keys", "cannot read pinned keys file " + path);
  std::stringstream s;
  s << in.rdbuf();
  Status st = parse_pinned_keys(s.str(), into);
  if (!st) return make_error(st.error().code, path + ": " + st.error().message);
  return {};
}

Result<PinnedKeys> load_pinned_keys(const KeysConfig& keys) {
  PinnedKeys pinned;
  for (const auto& [server, by_id] : keys.pinned) {
    for (const auto& [key_id, b64] : by_id) {
      auto key = matrix::verify_key_from_base64(b64);
      if (!key) return make_error("bad_pinned_key", "keys.pinned." + server + "." + key_id);
      pinned.keys[server].emplace(key_id, *key);
    }
  }
  if (!keys.pinned_file.empty()) {
    Status st = load_pinned_keys_file(keys.pinned_file, pinned);
    if (!st) return make_error(st.error().code, "keys.pinned_file: " + st.error().message);
  }
  return pinned;
}

}  // namespace bordergate::enforcement
