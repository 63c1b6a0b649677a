// The signing core's per-request costs: canonicalising a 2 KiB PDU, verifying an X-Matrix
// request, and one Ed25519 verify through libsodium versus OpenSSL 3's EVP interface (same key,
// same message). Prints numbers for docs/benchmarks.md; asserts nothing.
#include "bench/matrix/core_bench.h"

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

#include "gateway/matrix/json.h"
#include "gateway/matrix/server_keys.h"
#include "gateway/matrix/xmatrix.h"

namespace bordergate::matrix {

namespace {

void BM_CanonicalisePdu2KiB(benchmark::State& state) {
  std::string text = bench::pdu_2kib_text();
  for (auto _ : state) {
    auto parsed = parse_json(text);
    auto canonical = canonical_json(*parsed);
    benchmark::DoNotOptimize(canonical);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_CanonicalisePdu2KiB);

void BM_CanonicalEncodeOnlyPdu2KiB(benchmark::State& state) {
  Json parsed = *parse_json(bench::pdu_2kib_text());
  for (auto _ : state) {
    auto canonical = canonical_json(parsed);
    benchmark::DoNotOptimize(canonical);
  }
}
BENCHMARK(BM_CanonicalEncodeOnlyPdu2KiB);

// Header parse + key lookup + rebuilding the signed object around an already parsed body +
// Ed25519 verify: what the gateway adds per /send request once the body is parsed.
void BM_XMatrixVerifySend(benchmark::State& state) {
  auto key = SigningKey::generate("bench");
  StaticKeyRing ring;
  if (!ring.add("origin.example", key.key_id(), key.verify_key())) std::abort();
  Json body = *parse_json(bench::transaction_text());
  const std::string uri = "/_matrix/federation/v1/send/1700000000000";
  std::string header = *sign_xmatrix("PUT", uri, "origin.example", "gateway.example", &body, key);
  KeyLookup lookup = ring.lookup();
  for (auto _ : state) {
    auto auth = parse_xmatrix(header);
    Status s = verify_xmatrix(*auth, "PUT", uri, "gateway.example", &body, lookup, 0);
    if (!s) std::abort();
  }
}
BENCHMARK(BM_XMatrixVerifySend);

// Both raw verifies check the same signature over the same canonical 2 KiB PDU bytes.
struct RawVerify {
  SigningKey key = SigningKey::generate("raw");
  std::string message = *canonical_json(*parse_json(bench::pdu_2kib_text()));
  Signature sig = key.sign(message);
};

void BM_Ed25519VerifyLibsodium(benchmark::State& state) {
  RawVerify f;
  for (auto _ : state) {
    if (!ed25519_verify(f.key.verify_key(), f.message, f.sig)) std::abort();
  }
}
BENCHMARK(BM_Ed25519VerifyLibsodium);

void BM_Ed25519VerifyOpenSslEvp(benchmark::State& state) {
  RawVerify f;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, f.key.verify_key().bytes.data(), 32),
      EVP_PKEY_free);
  if (!pkey) std::abort();
  for (auto _ : state) {
    // Ed25519 is one-shot in EVP: a fresh context per message, as a verifier must do.
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), f.sig.data(), f.sig.size(),
                         reinterpret_cast<const unsigned char*>(f.message.data()),
                         f.message.size()) != 1) {
      std::abort();
    }
  }
}
BENCHMARK(BM_Ed25519VerifyOpenSslEvp);

}  // namespace
}  // namespace bordergate::matrix
