// Fuzzes endpoint classification with arbitrary methods and request-targets: it must never
// crash, and whatever it routes must satisfy the smuggling invariants (origin-form, no empty,
// dot or NUL segments, a path that re-matches the route's template segment count).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/enforcement/classifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr std::string_view kMethods[] = {"GET", "PUT", "POST", "HEAD", "DELETE"};
  const std::string_view method = kMethods[data[0] % 5];
  const std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);
  // The legacy media query rule must not crash on any target either.
  (void)bordergate::enforcement::allow_remote_false(target);
  auto c = bordergate::enforcement::classify_endpoint(method, target);
  if (!c) return 0;
  if (target.empty() || target.front() != '/') std::abort();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.find("//") != std::string_view::npos || path.back() == '/') std::abort();
  if (path.find("/./") != std::string_view::npos || path.find("/../") != std::string_view::npos)
    std::abort();
  for (const std::string* p :
       {&c->params.room_id, &c->params.event_id, &c->params.user_id, &c->params.server_name,
        &c->params.txn_id, &c->params.media_id, &c->params.key_id}) {
    if (p->find('\0') != std::string::npos) std::abort();
    if (*p == "." || *p == "..") std::abort();
  }
  // A routed key id is always "<algorithm>:<version>".
  if (!c->params.key_id.empty() && !bordergate::enforcement::is_key_id(c->params.key_id))
    std::abort();
  return 0;
}
