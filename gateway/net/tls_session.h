// One TLS connection driven entirely through memory BIOs: ciphertext from the
// socket is fed in, plaintext comes out, and ciphertext to send is collected
// into a caller-owned buffer. No socket I/O happens inside OpenSSL, which is
// what lets it sit on a libuv stream.
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/net/openssl_ptr.h"

namespace bordergate {

class TlsSession {
 public:
  enum class Step { again, done, closed, failed };

  // Server side when `server` is true. For the client side `verify_name`
  // becomes SNI and the name checked in the peer certificate.
  TlsSession(SSL_CTX* ctx, bool server);
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  bool valid() const { return ssl_ != nullptr; }
  Status set_client_target(const std::string& name, bool is_ip);

  void feed(const char* data, size_t len);
  // Advances the handshake; `done` once established.
  Step handshake();
  bool established() const { return established_; }
  // Reads decrypted bytes; returns >0 bytes, 0 when more input is needed,
  // -1 on close_notify, -2 on a protocol error.
  long read(char* buf, size_t cap);
  // Encrypts all of `plain` (memory BIOs never block).
  bool write(std::string_view plain);
  // Sends close_notify.
  void shutdown();
  // Appends pending ciphertext to `out`.
  void drain_output(std::string& out);
  bool has_output() const;

  std::string last_error() const { return error_; }
  std::string server_name() const;  // SNI the client sent, server side
  std::string protocol() const;     // "TLSv1.3"

 private:
  SslPtr ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  bool established_ = false;
  std::string error_;
};

}  // namespace bordergate
