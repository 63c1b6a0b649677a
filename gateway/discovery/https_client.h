// The gateway's outbound HTTPS client for federation traffic on a worker loop: one request per
// connection to targets that discovery (and its SSRF guard) produced, tried in order with a
// per-target connect deadline, the certificate verified for tls_name (or tls_ip, no SNI) against
// the system CA store or a configured bundle, bounded response size and time. Errors are values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/discovery/resolution.h"
#include "gateway/http/body_budget.h"
#include "gateway/net/openssl_ptr.h"

struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;

namespace bordergate::discovery {

// The client-side TLS context for federation peers. Immutable once built; shared by all workers
// (SSL_new on one SSL_CTX is thread-safe).
class FederationTls {
 public:
  // ca_file empty: the system store (OpenSSL's default paths, /etc/ssl/certs on Debian).
  // Error codes: "tls_setup_failed", "tls_ca_file".
  static Result<std::shared_ptr<const FederationTls>> build(const std::string& ca_file);
  SSL_CTX* context() const { return ctx_.get(); }

 private:
  SslCtxPtr ctx_;
};

struct OutboundRequest {
  std::vector<ConnectTarget> targets;  // from a ResolvedServer: already admitted by the guard
  std::string tls_name;                // SNI + certificate name; ignored when tls_ip is set
  std::optional<IpAddress> tls_ip;     // certificate must carry this IP SAN; no SNI is sent
  std::string host_header;
  std::string method = "GET";
  std::string target = "/";         // request-target (path + query), sent as is
  std::vector<HttpHeader> headers;  // extra headers (Authorization, Content-Type, ...)
  std::string body;                 // Content-Length is added when non-empty or not a GET
  std::size_t max_body_bytes = 64 * 1024;
  // The process-wide budget the answer's body is charged to as it arrives (null: none). An answer
  // that does not fit fails with "answer_budget".
  BodyBudget* budget = nullptr;
  std::chrono::milliseconds connect_timeout{5000};  // per target: TCP connect + TLS handshake
  std::chrono::milliseconds total_timeout{15000};   // whole request, all targets included
};

struct OutboundResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  BudgetLease lease;                  // body's bytes in OutboundRequest::budget, until it ends
  ConnectTarget peer;                 // the target that answered
  std::vector<std::string> attempts;  // one line per failed target before it (for `discover`)
};

// Error codes: "no_targets", "connect_failed" (every target refused or timed out; the message
// lists each), "tls_failed" (certificate or handshake, last target), "timeout" (total deadline),
// "body_too_large", "answer_budget" (the body does not fit OutboundRequest::budget now),
// "bad_response" (malformed HTTP), "connection_lost" (closed mid-response),
// "invalid_request" (CR/LF in a header or target).
class HttpsClient {
 public:
  using Done = std::function<void(Result<OutboundResponse>)>;

  HttpsClient(uv_loop_t* loop, std::shared_ptr<const FederationTls> tls);
  // Pending requests are dropped without calling back; their sockets close on the loop.
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // `done` runs exactly once on the loop thread, never inside send().
  void send(OutboundRequest request, Done done);
  std::size_t in_flight() const { return exchanges_.size(); }

 private:
  class Exchange;
  friend class Exchange;
  void finished(std::uint64_t id, Result<OutboundResponse> result);

  uv_loop_t* loop_;
  std::shared_ptr<const FederationTls> tls_;
  std::map<std::uint64_t, std::unique_ptr<Exchange>> exchanges_;
  std::map<std::uint64_t, Done> dones_;
  std::uint64_t next_id_ = 1;
};

}  // namespace bordergate::discovery
