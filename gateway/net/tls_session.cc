#include "gateway/net/tls_session.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace bordergate {

TlsSession::TlsSession(SSL_CTX* ctx, bool server) : ssl_(SSL_new(ctx)) {
  if (!ssl_) return;
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    ssl_.reset();
    return;
  }
  // An empty memory BIO reports "retry" rather than EOF.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_.get(), in_, out_);
  if (server)
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
}

Status TlsSession::set_client_target(const std::string& name, bool is_ip) {
  if (is_ip) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
      return make_error("tls_setup_failed", "cannot verify upstream IP " + name);
    }
    return {};
  }
  if (SSL_set_tlsext_host_name(ssl_.get(), name.c_str()) != 1 ||
      SSL_set1_host(ssl_.get(), name.c_str()) != 1) {
    return make_error("tls_setup_failed", "cannot set upstream name " + name);
  }
  SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return {};
}

void TlsSession::feed(const char* data, size_t len) {
  while (len > 0) {
    int chunk = len > (1u << 30) ? (1 << 30) : static_cast<int>(len);
    int n = BIO_write(in_, data, chunk);
    if (n <= 0) return;
    data += n;
    len -= static_cast<size_t>(n);
  }
}

TlsSession::Step TlsSession::handshake() {
  if (established_) return Step::done;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    established_ = true;
    return Step::done;
  }
  int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Step::again;
  if (err == SSL_ERROR_ZERO_RETURN) return Step::closed;
  long verify = SSL_get_verify_result(ssl_.get());
  error_ = openssl_error_text();
  if (verify != X509_V_OK) {
    error_ += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
  }
  return Step::failed;
}

long TlsSession::read(char* buf, size_t cap) {
  ERR_clear_error();
  size_t got = 0;
  int r = SSL_read_ex(ssl_.get(), buf, cap, &got);
  if (r == 1) return static_cast<long>(got);
  int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
  if (err == SSL_ERROR_ZERO_RETURN) return -1;
  error_ = openssl_error_text();
  return -2;
}

bool TlsSession::write(std::string_view plain) {
  while (!plain.empty()) {
    ERR_clear_error();
    size_t written = 0;
    if (SSL_write_ex(ssl_.get(), plain.data(), plain.size(), &written) != 1) {
      error_ = openssl_error_text();
      return false;
    }
    plain.remove_prefix(written);
  }
  return true;
}

void TlsSession::shutdown() {
  if (established_) SSL_shutdown(ssl_.get());
}

void TlsSession::drain_output(std::string& out) {
  char* data = nullptr;
  long n = BIO_get_mem_data(out_, &data);
  if (n <= 0) return;
  out.append(data, static_cast<size_t>(n));
  (void)BIO_reset(out_);
}

bool TlsSession::has_output() const { return BIO_ctrl_pending(out_) > 0; }

std::string TlsSession::server_name() const {
  const char* n = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return n ? n : "";
}

std::string TlsSession::protocol() const { return SSL_get_version(ssl_.get()); }

}  // namespace bordergate
