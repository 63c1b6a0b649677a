// Server signing keys (S2S §Retrieving server keys): /_matrix/key/v2/server responses, notary
// answers, and a static key ring for the CLI and tests. The key store builds on the same types.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/signed_json.h"

namespace bordergate::matrix {

struct OldVerifyKey {
  VerifyKey key;
  std::int64_t expired_ts = 0;
};

struct ServerKeys {
  std::string server_name;
  std::int64_t valid_until_ts = 0;
  std::map<std::string, VerifyKey, std::less<>> verify_keys;
  std::map<std::string, OldVerifyKey, std::less<>> old_verify_keys;
  JsonObject raw;  // the object as received (for persistence / notary re-checks)
};

// Structure only, no signature check: server_name (string), valid_until_ts (integer),
// verify_keys / old_verify_keys with strict base64 keys. Keys with algorithms other than ed25519
// are skipped (the spec allows other algorithms to appear). Error code "bad_server_keys".
Result<ServerKeys> parse_server_keys_unverified(const Json& response);

// Per verify key: does signatures[server_name][key_id] verify with it?
struct SelfSignature {
  std::string key_id;
  Status status;
};
std::vector<SelfSignature> check_self_signatures(const ServerKeys& keys);

// Parses a /_matrix/key/v2/server object and verifies its self-signatures: every verify key must
// have signed the object (stricter than Synapse's "at least one", equal for every real server) and
// there must be at least one verify key. Errors: "bad_server_keys", "missing_signature",
// "bad_signature", ...
Result<ServerKeys> parse_server_keys(const Json& response);

// Notary response {"server_keys":[...]}: each entry self-verified and also signed by the notary
// (key resolved through notary_keys at now_ms). An entry that fails makes the whole answer fail:
// a notary that vouches for a bad object is not to be trusted for the others either.
Result<std::vector<ServerKeys>> parse_notary_response(const Json& response,
                                                      std::string_view notary_name,
                                                      const KeyLookup& notary_keys,
                                                      std::int64_t now_ms);

// A static key set for the CLI and tests. Keys added from ServerKeys keep their validity:
// verify keys are valid while valid_at_ms <= valid_until_ts, old keys while valid_at_ms <
// expired_ts (gmsl's boundary, see notes §11.6). Plain keys have no time limit. kAnyTime skips
// time checks. The 7-day cap on valid_until_ts is the key store's business (it knows "now").
class StaticKeyRing {
 public:
  Status add(std::string_view server_name, std::string_view key_id, const VerifyKey& key);
  void add(const ServerKeys& keys);
  // {"server": {"ed25519:k": "<b64>"}}, or one key server response (self-signature verified), or a
  // notary-style {"server_keys": [...]} (each self-verified). Error code "bad_key_file".
  Status add_json(const Json& document);

  Result<VerifyKey> find(std::string_view server_name, std::string_view key_id,
                         std::int64_t valid_at_ms) const;
  // A KeyLookup that refers to this ring (which must outlive it).
  KeyLookup lookup() const;
  bool empty() const { return keys_.empty(); }

 private:
  struct Entry {
    VerifyKey key;
    std::int64_t valid_until_ts;  // verify keys; INT64_MAX for plain keys
    std::int64_t expired_ts;      // old keys; INT64_MAX otherwise
  };
  std::map<std::string, std::map<std::string, Entry, std::less<>>, std::less<>> keys_;
};

}  // namespace bordergate::matrix
