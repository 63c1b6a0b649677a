// Listening sockets and addresses. Every worker binds its own socket with
// SO_REUSEPORT so the kernel spreads connections across workers without a
// shared accept lock (libuv 1.44 has no flag for it, hence the raw socket).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "gateway/common/result.h"

namespace bordergate {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Parses an IP literal and port.
Result<SocketAddress> parse_socket_address(const std::string& ip, std::uint16_t port);

// Resolves a host name or IP literal (blocking getaddrinfo: used at load and
// reload time only, never on the data path). Prefers the first answer.
Result<SocketAddress> resolve_socket_address(const std::string& host, std::uint16_t port);

// A non-blocking, bound, listening socket; SO_REUSEPORT when `reuse_port`.
Result<int> open_listen_socket(const SocketAddress& addr, bool reuse_port, int backlog = 1024);

}  // namespace bordergate
