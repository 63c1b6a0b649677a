// Ed25519 keys and signatures through libsodium, the library Synapse verifies with (via PyNaCl),
// so both sides accept exactly the same signatures. Signing keys come from Synapse's key file
// format.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gateway/common/result.h"

namespace bordergate::matrix {

struct VerifyKey {
  std::array<std::uint8_t, 32> bytes{};
  friend bool operator==(const VerifyKey&, const VerifyKey&) = default;
};
using Signature = std::array<std::uint8_t, 64>;

bool ed25519_verify(const VerifyKey& key, std::string_view message, const Signature& sig);
// Errors "bad_base64" (not strict base64) and "bad_key_length" / "bad_signature_length".
Result<VerifyKey> verify_key_from_base64(std::string_view b64);
Result<Signature> signature_from_base64(std::string_view b64);
std::string to_base64(const VerifyKey& key);
std::string to_base64(const Signature& sig);

// Key ids are "<algorithm>:<version>"; version is [a-zA-Z0-9_]+ (S2S §Retrieving server keys).
bool is_valid_key_version(std::string_view version);
// True for "ed25519:<valid version>".
bool is_ed25519_key_id(std::string_view key_id);

class SigningKey {  // key id "ed25519:<version>"
 public:
  // One line "ed25519 <version> <unpadded b64 seed>" (Synapse's signing.key; further lines and
  // surrounding whitespace are ignored). Errors: "bad_signing_key".
  static Result<SigningKey> from_synapse_file(std::string_view text);
  static Result<SigningKey> from_seed(std::string version, std::span<const std::uint8_t> seed);
  static SigningKey generate(std::string version);

  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  ~SigningKey();

  const std::string& key_id() const { return key_id_; }
  const std::string& version() const { return version_; }
  const VerifyKey& verify_key() const { return verify_key_; }
  Signature sign(std::string_view message) const;
  std::string to_synapse_file() const;  // "ed25519 <version> <b64 seed>\n"

 private:
  SigningKey() = default;
  std::string version_;
  std::string key_id_;
  std::array<std::uint8_t, 32> seed_{};
  std::array<std::uint8_t, 64> secret_{};  // libsodium's seed||public form
  VerifyKey verify_key_;
};

}  // namespace bordergate::matrix
