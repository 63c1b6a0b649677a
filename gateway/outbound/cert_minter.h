// Leaf certificates for intercepted outbound TLS: the Core connects "to" an external server name
// through the gateway, and the gateway answers with a short-lived leaf for exactly that name,
// minted from an internal CA the Core trusts (Synapse's `federation_custom_ca_list`).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/common/result.h"
#include "gateway/config/outbound_config.h"  // CertMinterOptions
#include "gateway/discovery/server_name.h"
#include "gateway/net/openssl_ptr.h"

namespace bordergate::outbound {

struct MintedLeaf {
  X509Ptr certificate;
  std::chrono::system_clock::time_point not_after;
};

class CertMinter {
 public:
  using Clock = std::chrono::system_clock;

  // Error codes: "ca_unreadable", "ca_invalid", "ca_key_mismatch", "ca_not_a_ca", "bad_options".
  static Result<std::unique_ptr<CertMinter>> load(const std::string& ca_certificate_file,
                                                  const std::string& ca_key_file,
                                                  const CertMinterOptions& options = {});
  static Result<std::unique_ptr<CertMinter>> from_pem(std::string_view ca_certificate_pem,
                                                      std::string_view ca_key_pem,
                                                      const CertMinterOptions& options = {});

  CertMinter(const CertMinter&) = delete;
  CertMinter& operator=(const CertMinter&) = delete;

  // A fresh leaf for `name` (host part only; the port is irrelevant to certificates), valid from
  // now - backdate to now + lifetime, never beyond the CA's own notAfter. Not cached.
  Result<MintedLeaf> mint(const discovery::ServerName& name, Clock::time_point now) const;

  // The server context presenting the leaf for `name`: cached (LRU, bounded), minted on a miss or
  // when the cached leaf is inside the renewal window. Thread-safe; the returned handle holds its
  // own reference, so eviction never frees a context a handshake still uses.
  Result<SslCtxPtr> context_for(const discovery::ServerName& name, Clock::time_point now);

  // The key shared by every leaf (see cert_minter.cc for why one per process).
  EVP_PKEY* leaf_key() const { return leaf_key_.get(); }
  X509* ca_certificate() const { return ca_cert_.get(); }
  std::size_t cached_contexts() const;

 private:
  CertMinter(X509Ptr ca_cert, EvpPkeyPtr ca_key, EvpPkeyPtr leaf_key,
             const CertMinterOptions& options);

  struct CacheEntry {
    std::string host;
    SslCtxPtr context;
    Clock::time_point not_after;
  };

  X509Ptr ca_cert_;
  EvpPkeyPtr ca_key_;
  EvpPkeyPtr leaf_key_;
  CertMinterOptions options_;

  mutable std::mutex mutex_;
  std::list<CacheEntry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<CacheEntry>::iterator> index_;
};

}  // namespace bordergate::outbound
