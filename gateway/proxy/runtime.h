// A configuration snapshot compiled for use: the validated Config plus the
// TLS contexts and the resolved upstream address. Built off the data path at
// start and on SIGHUP, then shared read-only; a request keeps the snapshot it
// started with, so a reload never changes a request half way.
#pragma once

#include <memory>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/http/request_parser.h"
#include "gateway/net/listen_socket.h"
#include "gateway/net/tls_context.h"

namespace bordergate {

namespace enforcement {
struct EnforcementServices;
}

struct Runtime {
  std::shared_ptr<const Config> config;
  std::vector<std::shared_ptr<const ServerTls>> listener_tls;  // parallel to config->federation
  std::shared_ptr<const ClientTls> upstream_tls;               // null: plain HTTP to Core
  SocketAddress upstream_address;
  std::string upstream_authority;  // "host:port", Host for HTTP/1.0 clients without one
  RequestLimits limits;
  // Enforcement of both directions (owned by the Server, outlives every snapshot); null when the
  // configuration names no policy: requests are then forwarded without enforcement.
  enforcement::EnforcementServices* enforcement = nullptr;
};

// `budget`: the process-wide budget of buffered request bodies (owned by the Server, kept across
// reloads); null: none.
Result<std::shared_ptr<const Runtime>> build_runtime(
    std::shared_ptr<const Config> config, enforcement::EnforcementServices* enforcement = nullptr,
    BodyBudget* budget = nullptr);

}  // namespace bordergate
