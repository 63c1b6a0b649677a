#include "gateway/net/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>

#include <cstring>

#include "gateway/common/secret_file.h"

namespace bordergate {

std::string openssl_error_text() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

namespace {

// TLS 1.2 is limited to forward-secret AEAD suites; TLS 1.3 suites are all
// AEAD and keep OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Status harden(SSL_CTX* ctx, int min_version) {
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return make_error("tls_setup_failed", openssl_error_text());
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial writes keep the memory-BIO loop simple; moving buffers are safe
  // because every SSL_write retries with the same plaintext.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return {};
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  // Only HTTP/1.1 is spoken; a client offering only h2 gets no ALPN at all.
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *outlen = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// "file:line:col: " when the configuration entry is known.
std::string at(const std::string& location) { return location.empty() ? "" : location + ": "; }

bool is_ip_literal(const std::string& s) {
  in6_addr buf{};
  return inet_pton(AF_INET, s.c_str(), &buf) == 1 || inet_pton(AF_INET6, s.c_str(), &buf) == 1;
}

}  // namespace

Result<std::shared_ptr<const ServerTls>> ServerTls::build(const ListenerTlsConfig& config) {
  auto tls = std::make_shared<ServerTls>();
  int min_version = config.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  for (const CertificateConfig& cert : config.certificates) {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return make_error("tls_setup_failed", openssl_error_text());
    if (Status s = harden(ctx.get(), min_version); !s) return s.error();
    // Tickets make resumption work across workers without a shared locked
    // session cache.
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.certificate.c_str()) != 1) {
      return make_error("tls_certificate", at(cert.location) + "cannot load certificate " +
                                               cert.certificate + ": " + openssl_error_text());
    }
    if (Status s = check_secret_file(cert.private_key, "TLS private key"); !s) {
      return make_error(s.error().code, at(cert.location) + s.error().message);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), cert.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return make_error("tls_private_key", at(cert.location) + "cannot load private key " +
                                               cert.private_key + ": " + openssl_error_text());
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return make_error("tls_key_mismatch", at(cert.location) + "private key " + cert.private_key +
                                                " does not match certificate " + cert.certificate);
    }
    SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, nullptr);
    tls->entries_.push_back(Entry{cert.server_names, std::move(ctx)});
  }
  if (tls->entries_.empty()) return make_error("tls_setup_failed", "no certificates configured");
  // The servername callback of the context a connection starts with decides;
  // `tls` outlives every SSL created from it because connections hold the
  // snapshot that owns it.
  SSL_CTX_set_tlsext_servername_callback(tls->default_context(), &ServerTls::on_servername);
  SSL_CTX_set_tlsext_servername_arg(tls->default_context(), tls.get());
  return std::shared_ptr<const ServerTls>(std::move(tls));
}

SSL_CTX* ServerTls::select(std::string_view name) const {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Entry& e : entries_) {
    for (const std::string& n : e.names) {
      if (n == lower) return e.ctx.get();
    }
  }
  size_t dot = lower.find('.');
  if (dot != std::string::npos && dot > 0) {
    std::string wildcard = "*" + lower.substr(dot);
    for (const Entry& e : entries_) {
      for (const std::string& n : e.names) {
        if (n == wildcard) return e.ctx.get();
      }
    }
  }
  return default_context();
}

int ServerTls::on_servername(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  SSL_CTX* ctx = self->select(name);
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

Result<std::shared_ptr<const ClientTls>> ClientTls::build(const UpstreamTlsConfig& config,
                                                          const std::string& host) {
  auto tls = std::make_shared<ClientTls>();
  ERR_clear_error();
  tls->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!tls->ctx_) return make_error("tls_setup_failed", openssl_error_text());
  if (Status s = harden(tls->ctx_.get(), TLS1_2_VERSION); !s) return s.error();
  SSL_CTX_set_verify(tls->ctx_.get(), SSL_VERIFY_PEER, nullptr);
  int ok = config.ca_file.empty()
               ? SSL_CTX_set_default_verify_paths(tls->ctx_.get())
               : SSL_CTX_load_verify_locations(tls->ctx_.get(), config.ca_file.c_str(), nullptr);
  if (ok != 1) {
    return make_error("tls_ca_file", at(config.location) + "cannot load upstream CA " +
                                         (config.ca_file.empty() ? "(system)" : config.ca_file) +
                                         ": " + openssl_error_text());
  }
  if (!config.client_certificate.empty()) {
    if (Status s = check_secret_file(config.client_private_key, "upstream client private key");
        !s) {
      return make_error(s.error().code, at(config.location) + s.error().message);
    }
    if (SSL_CTX_use_certificate_chain_file(tls->ctx_.get(), config.client_certificate.c_str()) !=
            1 ||
        SSL_CTX_use_PrivateKey_file(tls->ctx_.get(), config.client_private_key.c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(tls->ctx_.get()) != 1) {
      return make_error("tls_client_certificate",
                        at(config.location) + "cannot load upstream client certificate " +
                            config.client_certificate + ": " + openssl_error_text());
    }
  }
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(tls->ctx_.get(), kAlpn, sizeof kAlpn);
  tls->name_ = config.server_name.empty() ? host : config.server_name;
  tls->name_is_ip_ = is_ip_literal(tls->name_);
  return std::shared_ptr<const ClientTls>(std::move(tls));
}

}  // namespace bordergate
