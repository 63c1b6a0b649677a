// SHA-256 through OpenSSL's EVP interface. The data path hashes many short strings (two per PDU,
// one per audit record), where EVP_Digest's per-call setup (an implicit algorithm fetch under the
// provider lock, a context and the provider's state allocated and freed) cost more than hashing
// 400 bytes. So the algorithm is fetched once per process and each thread keeps one context that
// is re-initialised per hash: no allocation, no lock.
#include "gateway/matrix/hash.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

namespace bordergate::matrix {
namespace {

struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Only a broken OpenSSL installation gets here; a wrong hash would be a security bug.
[[noreturn]] void broken_openssl() { std::abort(); }

const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, MdFree> md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  if (!md) broken_openssl();
  return md.get();
}

EVP_MD_CTX* thread_context() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx{EVP_MD_CTX_new()};
  if (!ctx) broken_openssl();
  return ctx.get();
}

}  // namespace

Sha256 sha256(std::string_view data) {
  Sha256 out{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = thread_context();
  if (EVP_DigestInit_ex2(ctx, sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) {
    broken_openssl();
  }
  return out;
}

}  // namespace bordergate::matrix
