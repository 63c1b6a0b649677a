// TLS configuration compiled into OpenSSL contexts: the server side (one
// SSL_CTX per certificate, chosen by SNI) and the client side towards Core.
// Both are immutable once built and shared by the workers through the config
// snapshot; SSL_CTX is safe to use from several threads for SSL_new.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/net/openssl_ptr.h"

namespace bordergate {

class ServerTls {
 public:
  static Result<std::shared_ptr<const ServerTls>> build(const ListenerTlsConfig& config);

  // Context a new connection starts with; the SNI callback may switch it.
  SSL_CTX* default_context() const { return entries_.front().ctx.get(); }

  // The context serving `server_name` (exact match first, then "*.parent"
  // wildcard covering exactly one label), or the default.
  SSL_CTX* select(std::string_view server_name) const;

 private:
  struct Entry {
    std::vector<std::string> names;
    SslCtxPtr ctx;
  };
  static int on_servername(SSL* ssl, int* alert, void* arg);
  std::vector<Entry> entries_;
};

class ClientTls {
 public:
  static Result<std::shared_ptr<const ClientTls>> build(const UpstreamTlsConfig& config,
                                                        const std::string& host);
  SSL_CTX* context() const { return ctx_.get(); }
  // Name used for SNI and checked against the certificate (an IP literal is
  // checked against the certificate's IP SANs instead).
  const std::string& verify_name() const { return name_; }
  bool name_is_ip() const { return name_is_ip_; }

 private:
  SslCtxPtr ctx_;
  std::string name_;
  bool name_is_ip_ = false;
};

}  // namespace bordergate
