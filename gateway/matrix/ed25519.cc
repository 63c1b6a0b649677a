// Ed25519 through libsodium (crypto_sign_*), key ids and Synapse's signing key file format.
#include "gateway/matrix/ed25519.h"

#include <sodium.h>

#include <cstdlib>

#include "gateway/matrix/base64.h"

namespace bordergate::matrix {
namespace {

void ensure_sodium() {
  // sodium_init is idempotent and thread-safe; it picks the CPU-specific implementations.
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

bool ed25519_verify(const VerifyKey& key, std::string_view message, const Signature& sig) {
  ensure_sodium();
  return crypto_sign_verify_detached(sig.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.bytes.data()) == 0;
}

Result<VerifyKey> verify_key_from_base64(std::string_view b64) {
  auto bytes = base64_decode(b64);
  if (!bytes) return bytes.error();
  VerifyKey key;
  if (bytes->size() != key.bytes.size()) {
    return make_error("bad_key_length",
                      "an ed25519 key has 32 bytes, not " + std::to_string(bytes->size()));
  }
  std::copy(bytes->begin(), bytes->end(), key.bytes.begin());
  return key;
}

Result<Signature> signature_from_base64(std::string_view b64) {
  auto bytes = base64_decode(b64);
  if (!bytes) return bytes.error();
  Signature sig;
  if (bytes->size() != sig.size()) {
    return make_error("bad_signature_length",
                      "an ed25519 signature has 64 bytes, not " + std::to_string(bytes->size()));
  }
  std::copy(bytes->begin(), bytes->end(), sig.begin());
  return sig;
}

std::string to_base64(const VerifyKey& key) { return base64_encode(key.bytes); }
std::string to_base64(const Signature& sig) { return base64_encode(sig); }

bool is_valid_key_version(std::string_view version) {
  if (version.empty()) return false;
  for (char c : version) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_ed25519_key_id(std::string_view key_id) {
  constexpr std::string_view kPrefix = "ed25519:";
  return key_id.starts_with(kPrefix) && is_valid_key_version(key_id.substr(kPrefix.size()));
}

Result<SigningKey> SigningKey::from_seed(std::string version, std::span<const std::uint8_t> seed) {
  if (!is_valid_key_version(version)) {
    return make_error("bad_signing_key", "key version must be [a-zA-Z0-9_]+");
  }
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return make_error("bad_signing_key",
                      "an ed25519 seed has 32 bytes, not " + std::to_string(seed.size()));
  }
  ensure_sodium();
  SigningKey key;
  key.version_ = std::move(version);
  key.key_id_ = "ed25519:" + key.version_;
  std::copy(seed.begin(), seed.end(), key.seed_.begin());
  crypto_sign_seed_keypair(key.verify_key_.bytes.data(), key.secret_.data(), key.seed_.data());
  return key;
}

Result<SigningKey> SigningKey::from_synapse_file(std::string_view text) {
  // First non-empty line: "ed25519 <version> <seed>". Synapse files may hold several keys; the
  // first one is the key Synapse signs with.
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    std::size_t n = 0;
    while (n < text.size() && !is_space(text[n])) ++n;
    parts.push_back(text.substr(0, n));
    text.remove_prefix(n);
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  }
  if (parts.size() != 3) {
    return make_error("bad_signing_key", "expected \"ed25519 <version> <base64 seed>\"");
  }
  if (parts[0] != "ed25519") {
    return make_error("bad_signing_key",
                      "unsupported key algorithm \"" + std::string(parts[0]) + "\"");
  }
  // Synapse (Python's decoder) ignores unused trailing bits, and the spec's test key relies on it.
  auto seed = base64_decode(parts[2], TrailingBits::kIgnored);
  if (!seed) return make_error("bad_signing_key", "seed: " + seed.error().message);
  auto key = from_seed(std::string(parts[1]), *seed);
  sodium_memzero(seed->data(), seed->size());
  return key;
}

SigningKey SigningKey::generate(std::string version) {
  ensure_sodium();
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  randombytes_buf(seed.data(), seed.size());
  auto key = from_seed(std::move(version), seed);
  sodium_memzero(seed.data(), seed.size());
  if (!key) std::abort();  // only an invalid version gets here: a programming error
  return std::move(key).value();
}

SigningKey::~SigningKey() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_.data(), secret_.size());
}

Signature SigningKey::sign(std::string_view message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_.data());
  return sig;
}

std::string SigningKey::to_synapse_file() const {
  return "ed25519 " + version_ + " " + base64_encode(seed_) + "\n";
}

}  // namespace bordergate::matrix
