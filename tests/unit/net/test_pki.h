// Throwaway PKI for TLS unit tests: an EC key and a certificate for given DNS
// names, signed by a test CA, written as PEM into a temporary directory.
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "gateway/net/openssl_ptr.h"

namespace bordergate::testing {

inline EvpPkeyPtr make_key() { return EvpPkeyPtr(EVP_EC_gen("P-256")); }

// Signs a certificate for `names` (first = CN) with `issuer_key`; self-signed
// when issuer is null.
inline X509Ptr make_cert(EVP_PKEY* key, const std::vector<std::string>& names, X509* issuer,
                         EVP_PKEY* issuer_key, bool ca) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  std::vector<std::string> exts;
  if (ca) {
    exts = {"basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"};
  } else {
    std::string san = "subjectAltName=";
    for (size_t i = 0; i < names.size(); ++i) san += (i ? ",DNS:" : "DNS:") + names[i];
    exts = {san};
  }
  for (const std::string& e : exts) {
    auto eq = e.find('=');
    X509_EXTENSION* ext =
        X509V3_EXT_conf(nullptr, &v3, e.substr(0, eq).c_str(), e.substr(eq + 1).c_str());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

inline void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (cert) PEM_write_X509(f, cert);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  if (key) ::chmod(path.c_str(), 0600);  // the gateway refuses keys others can read
}

struct TestPki {
  std::filesystem::path dir;
  EvpPkeyPtr ca_key = make_key();
  X509Ptr ca = make_cert(ca_key.get(), {"Test CA"}, nullptr, nullptr, true);

  TestPki() {
    char tmpl[] = "/tmp/bg-net-test.XXXXXX";
    dir = mkdtemp(tmpl);
    write_pem((dir / "ca.crt").string(), ca.get(), nullptr);
  }
  ~TestPki() { std::filesystem::remove_all(dir); }

  // Writes <stem>.crt and <stem>.key and returns the certificate config.
  CertificateConfig issue(const std::string& stem, const std::vector<std::string>& names) {
    EvpPkeyPtr key = make_key();
    X509Ptr cert = make_cert(key.get(), names, ca.get(), ca_key.get(), false);
    CertificateConfig c;
    c.server_names = names;
    c.certificate = (dir / (stem + ".crt")).string();
    c.private_key = (dir / (stem + ".key")).string();
    write_pem(c.certificate, cert.get(), nullptr);
    write_pem(c.private_key, nullptr, key.get());
    return c;
  }
  std::string ca_file() const { return (dir / "ca.crt").string(); }
};

}  // namespace bordergate::testing
