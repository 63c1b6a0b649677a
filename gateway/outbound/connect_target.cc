#include "gateway/outbound/connect_target.h"

namespace bordergate::outbound {

std::string ConnectTarget::matrix_server_name() const {
  if (port() == 8448) return name.host_for_authority();
  return name.authority();
}

Result<ConnectTarget> parse_connect_target(std::string_view request_target) {
  if (request_target.empty()) {
    return make_error("connect_target_not_authority", "CONNECT target is empty");
  }
  // Everything outside the server-name alphabet is refused here with one clear reason, before the
  // grammar check: "/" (origin- or absolute-form), "@" (userinfo), "?", "#", "%", spaces.
  for (char c : request_target) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' || c == '[' ||
                         c == ']';
    if (!allowed) {
      return make_error("connect_target_not_authority",
                        "CONNECT target must be authority-form host:port");
    }
  }
  auto name = discovery::parse_server_name(request_target);
  if (!name) return name.error();
  if (!name->port) {
    return make_error("connect_port_missing", "CONNECT target must name a port");
  }
  return ConnectTarget{std::move(*name)};
}

}  // namespace bordergate::outbound
