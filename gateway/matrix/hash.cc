// SHA-256 through OpenSSL's one-shot EVP_Digest (no context to leak, nothing to free).
#include "gateway/matrix/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace bordergate::matrix {

Sha256 sha256(std::string_view data) {
  Sha256 out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    // Only a broken OpenSSL installation gets here; a wrong hash would be a security bug.
    std::abort();
  }
  return out;
}

}  // namespace bordergate::matrix
