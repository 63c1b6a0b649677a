// The admin listener: plain HTTP on a separate (by default loopback) port,
// serving /healthz (the process is alive), /readyz (it should get traffic)
// and /metrics (Prometheus text format). One request per connection; runs on
// the main thread's loop, away from the workers.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "gateway/common/result.h"
#include "gateway/net/listen_socket.h"
#include "gateway/net/uv_handle.h"

namespace bordergate {

class AdminServer {
 public:
  struct Hooks {
    std::function<bool(std::string& reason)> ready;
    std::function<std::string()> metrics;
    // Shown in /healthz and /readyz: "policy", or "pass_through" (nothing is checked).
    std::string inbound_enforcement = "policy";
  };

  AdminServer(uv_loop_t* loop, Hooks hooks);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  Status listen(const SocketAddress& address);
  // Stops listening and closes open admin connections.
  void close();

 private:
  class Connection;
  friend class Connection;
  static void on_connection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  Hooks hooks_;
  UvHandle<uv_tcp_t> tcp_;
  Connection* connections_ = nullptr;
};

}  // namespace bordergate
