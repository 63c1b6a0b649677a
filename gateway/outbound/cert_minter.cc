#include "gateway/outbound/cert_minter.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

#include "gateway/common/secret_file.h"

namespace bordergate::outbound {
namespace {

using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;

Error openssl_failure(const char* code, const std::string& what) {
  return make_error(code, what + ": " + openssl_error_text());
}

Result<X509Ptr> read_certificate(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure("ca_invalid", "cannot allocate BIO");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return openssl_failure("ca_invalid", "interception CA certificate is not PEM X.509");
  return cert;
}

Result<EvpPkeyPtr> read_key(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure("ca_invalid", "cannot allocate BIO");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return openssl_failure("ca_invalid", "interception CA key is not a PEM private key");
  return key;
}

Result<std::string> read_file(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "rb"));
  if (!bio) return openssl_failure("ca_unreadable", "cannot open " + path);
  std::string out;
  char buffer[4096];
  int n = 0;
  while ((n = BIO_read(bio.get(), buffer, sizeof buffer)) > 0) {
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > (1u << 20)) return make_error("ca_unreadable", path + " is larger than 1 MiB");
  }
  return out;
}

// One P-256 key for every leaf of this process. A key per name would add ~0.1 ms per mint and buy
// nothing: every leaf key lives in the same process memory as the CA key, so whoever can read one
// can read them all (and mint any leaf anyway). Keys are regenerated at every start.
Result<EvpPkeyPtr> generate_leaf_key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return openssl_failure("ca_invalid", "cannot generate P-256 leaf key");
  return key;
}

// 128 random bits with the top bit cleared: a positive INTEGER of at most 16 octets (RFC 5280
// allows 20), unpredictable so that no chosen-prefix collision can target a serial.
Result<Asn1IntegerPtr> random_serial() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return openssl_failure("mint_failed", "RAND_bytes");
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01 << 6;  // never a short serial: keeps the encoding at 16 octets
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn) return openssl_failure("mint_failed", "BN_bin2bn");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return openssl_failure("mint_failed", "BN_to_ASN1_INTEGER");
  return serial;
}

// The SAN is built as a structure, not through the "DNS:..." config-string syntax, so no name
// can ever inject a second entry.
Status add_subject_alt_name(X509* cert, const discovery::ServerName& name, bool critical) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return openssl_failure("mint_failed", "sk_GENERAL_NAME_new_null");
  GENERAL_NAME* entry = GENERAL_NAME_new();
  if (entry == nullptr) return openssl_failure("mint_failed", "GENERAL_NAME_new");
  if (name.is_ip_literal()) {
    ASN1_OCTET_STRING* ip = ASN1_OCTET_STRING_new();
    const auto& ip_address = *name.ip;
    if (ip == nullptr || ASN1_OCTET_STRING_set(ip, ip_address.bytes().data(),
                                               static_cast<int>(ip_address.byte_length())) != 1) {
      ASN1_OCTET_STRING_free(ip);
      GENERAL_NAME_free(entry);
      return openssl_failure("mint_failed", "iPAddress SAN");
    }
    GENERAL_NAME_set0_value(entry, GEN_IPADD, ip);
  } else {
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (dns == nullptr ||
        ASN1_STRING_set(dns, name.host.data(), static_cast<int>(name.host.size())) != 1) {
      ASN1_IA5STRING_free(dns);
      GENERAL_NAME_free(entry);
      return openssl_failure("mint_failed", "dNSName SAN");
    }
    GENERAL_NAME_set0_value(entry, GEN_DNS, dns);
  }
  if (sk_GENERAL_NAME_push(names.get(), entry) <= 0) {
    GENERAL_NAME_free(entry);
    return openssl_failure("mint_failed", "sk_GENERAL_NAME_push");
  }
  // Critical exactly when the subject is empty (RFC 5280 §4.2.1.6). IP leaves always have an empty
  // subject: a CN holding the address would let a DNS-name check against the address text pass
  // through OpenSSL's CN fallback.
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), critical ? 1 : 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return openssl_failure("mint_failed", "subjectAltName");
  }
  return {};
}

Status add_fixed_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return openssl_failure("mint_failed", std::string("extension ") + OBJ_nid2sn(nid));
  }
  return {};
}

// Names differing only in case, or IPv6 literals in different spellings, share one entry.
std::string cache_key(const discovery::ServerName& name) {
  if (name.ip) return name.ip->to_string();
  std::string key = name.host;
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key;
}

}  // namespace

CertMinter::CertMinter(X509Ptr ca_cert, EvpPkeyPtr ca_key, EvpPkeyPtr leaf_key,
                       const CertMinterOptions& options)
    : ca_cert_(std::move(ca_cert)),
      ca_key_(std::move(ca_key)),
      leaf_key_(std::move(leaf_key)),
      options_(options) {}

Result<std::unique_ptr<CertMinter>> CertMinter::load(const std::string& ca_certificate_file,
                                                     const std::string& ca_key_file,
                                                     const CertMinterOptions& options) {
  auto cert_pem = read_file(ca_certificate_file);
  if (!cert_pem) return cert_pem.error();
  if (Status s = check_secret_file(ca_key_file, "interception CA key"); !s) return s.error();
  auto key_pem = read_file(ca_key_file);
  if (!key_pem) return key_pem.error();
  return from_pem(*cert_pem, *key_pem, options);
}

Result<std::unique_ptr<CertMinter>> CertMinter::from_pem(std::string_view ca_certificate_pem,
                                                         std::string_view ca_key_pem,
                                                         const CertMinterOptions& options) {
  if (options.lifetime <= options.renew_before || options.lifetime.count() <= 0 ||
      options.backdate.count() < 0 || options.cache_capacity == 0) {
    return make_error("bad_options",
                      "leaf lifetime must be positive and longer than the renewal window, "
                      "backdate non-negative, cache capacity at least 1");
  }
  auto cert = read_certificate(ca_certificate_pem);
  if (!cert) return cert.error();
  auto key = read_key(ca_key_pem);
  if (!key) return key.error();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return make_error("ca_key_mismatch", "interception CA key does not match its certificate");
  }
  // X509_check_ca: 1 = CA with basicConstraints CA:TRUE (and keyCertSign if KeyUsage present).
  if (X509_check_ca(cert->get()) != 1) {
    return make_error("ca_not_a_ca",
                      "interception CA certificate lacks basicConstraints CA:TRUE / keyCertSign");
  }
  auto leaf_key = generate_leaf_key();
  if (!leaf_key) return leaf_key.error();
  return std::unique_ptr<CertMinter>(
      new CertMinter(std::move(*cert), std::move(*key), std::move(*leaf_key), options));
}

Result<MintedLeaf> CertMinter::mint(const discovery::ServerName& name,
                                    Clock::time_point now) const {
  X509Ptr cert(X509_new());
  if (!cert) return openssl_failure("mint_failed", "X509_new");
  if (X509_set_version(cert.get(), 2) != 1) return openssl_failure("mint_failed", "version");

  auto serial = random_serial();
  if (!serial) return serial.error();
  if (X509_set_serialNumber(cert.get(), serial->get()) != 1) {
    return openssl_failure("mint_failed", "serial");
  }

  const std::time_t not_before = Clock::to_time_t(now - options_.backdate);
  std::time_t not_after = Clock::to_time_t(now + options_.lifetime);
  // Never outlive the issuer: a chain with a leaf beyond its CA fails verification anyway.
  const ASN1_TIME* ca_not_after = X509_get0_notAfter(ca_cert_.get());
  if (X509_cmp_time(ca_not_after, &not_after) < 0) {
    tm ca_tm{};
    if (ASN1_TIME_to_tm(ca_not_after, &ca_tm) == 1) not_after = timegm(&ca_tm);
  }
  if (not_after <= Clock::to_time_t(now)) {
    return make_error("ca_expired", "interception CA certificate has expired");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) == nullptr) {
    return openssl_failure("mint_failed", "validity");
  }

  X509NamePtr subject(X509_NAME_new());
  // CN holds at most 64 characters (RFC 5280 ub-common-name); a longer name, like an IP, gets an
  // empty subject rather than a truncated CN that names something else.
  const bool with_cn = !name.is_ip_literal() && name.host.size() <= 64;
  if (!subject ||
      (with_cn && X509_NAME_add_entry_by_txt(
                      subject.get(), "CN", MBSTRING_ASC,
                      reinterpret_cast<const unsigned char*>(name.host.c_str()), -1, -1, 0) != 1) ||
      X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert_.get())) != 1 ||
      X509_set_pubkey(cert.get(), leaf_key_.get()) != 1) {
    return openssl_failure("mint_failed", "names / public key");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert_.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair{NID_key_usage, "critical,digitalSignature"},
        std::pair{NID_ext_key_usage, "serverAuth"}, std::pair{NID_subject_key_identifier, "hash"},
        std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto st = add_fixed_extension(cert.get(), &ctx, nid, value); !st) return st.error();
  }
  if (auto st = add_subject_alt_name(cert.get(), name, /*critical=*/!with_cn); !st) {
    return st.error();
  }

  if (X509_sign(cert.get(), ca_key_.get(), EVP_sha256()) <= 0) {
    return openssl_failure("mint_failed", "X509_sign");
  }
  return MintedLeaf{std::move(cert), Clock::from_time_t(not_after)};
}

Result<SslCtxPtr> CertMinter::context_for(const discovery::ServerName& name,
                                          Clock::time_point now) {
  const std::string key = cache_key(name);
  {
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      if (it->second->not_after - now > options_.renew_before) {
        lru_.splice(lru_.begin(), lru_, it->second);
        SSL_CTX_up_ref(it->second->context.get());
        return SslCtxPtr(it->second->context.get());
      }
      lru_.erase(it->second);
      index_.erase(it);
    }
  }
  // Minting happens outside the lock (a few hundred microseconds of signing); two threads racing
  // for the same new name both mint, and the second insert simply replaces the first.
  auto leaf = mint(name, now);
  if (!leaf) return leaf.error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_use_certificate(ctx.get(), leaf->certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), leaf_key_.get()) != 1) {
    return openssl_failure("mint_failed", "leaf SSL_CTX");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);

  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  SSL_CTX_up_ref(ctx.get());
  lru_.push_front(CacheEntry{key, SslCtxPtr(ctx.get()), leaf->not_after});
  index_[key] = lru_.begin();
  while (lru_.size() > options_.cache_capacity) {
    index_.erase(lru_.back().host);
    lru_.pop_back();
  }
  return ctx;
}

std::size_t CertMinter::cached_contexts() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace bordergate::outbound
