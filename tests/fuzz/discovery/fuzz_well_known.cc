// The well-known response handling with hostile bodies and headers: body parsing, Location
// resolution, Cache-Control/Expires. Invariants: lifetimes stay within the policy bounds and an
// accepted redirect is always https with a valid authority.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/discovery/well_known.h"

using namespace bordergate::discovery;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Split: header value | body.
  const auto bar = input.find('|');
  const std::string_view header = input.substr(0, bar);
  const std::string_view body = bar == std::string_view::npos ? std::string_view{} : input.substr(bar + 1);
  const WellKnownPolicy policy;
  const auto base = well_known_url_for(parse_server_name("example.org").value());

  (void)parse_well_known_body(body, policy);
  (void)parse_http_date(header);
  if (auto next = resolve_redirect(base, header)) {
    if (next->path.empty() || next->path.front() != '/') std::abort();
    if (!parse_server_name(next->authority.authority())) std::abort();
  }
  const HttpHeaders headers = {{"Cache-Control", std::string(header)},
                               {"Expires", std::string(header)},
                               {"Location", std::string(header)}};
  const std::int64_t ttl = success_ttl_ms(headers, 1'700'000'000'000, 0.5, policy);
  if (ttl < policy.min_ttl_ms || ttl > policy.max_ttl_ms) std::abort();
  (void)judge_well_known_response(base, 302, headers, body, policy);
  (void)judge_well_known_response(base, 200, headers, body, policy);
  return 0;
}
