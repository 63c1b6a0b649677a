// `/.well-known/matrix/server` handling (federation-notes §1.3 step 3) as pure functions over
// (status, headers, body, now): body parsing, cache lifetime from Cache-Control/Expires within the
// operator's bounds, error caching with exponential backoff, and the redirect policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/discovery/server_name.h"

namespace bordergate::discovery {

struct HttpHeader {
  std::string name;
  std::string value;
};
using HttpHeaders = std::vector<HttpHeader>;

// Case-insensitive; the last occurrence wins (what a proxy in front would have appended).
std::optional<std::string_view> find_header(const HttpHeaders& headers, std::string_view name);

inline constexpr std::int64_t kMinute = 60 * 1000;
inline constexpr std::int64_t kHour = 60 * kMinute;

struct WellKnownPolicy {
  std::int64_t default_ttl_ms = 24 * kHour;  // no caching headers
  double default_jitter = 0.1;            // default TTL shortened by up to 10 % (spreads refetches)
  std::int64_t min_ttl_ms = 5 * kMinute;  // floor even for no-store / max-age=0
  std::int64_t max_ttl_ms = 48 * kHour;   // the spec's hard cap
  std::int64_t error_initial_ttl_ms = 2 * kMinute;  // first failure
  std::int64_t error_max_ttl_ms = 1 * kHour;        // doubling stops here (the spec's "up to 1 h")
  std::size_t max_body_bytes = 50 * 1024;
  int max_redirects = 5;
  // A fetch that fails shortly after a good answer expired keeps using that delegation for up to
  // this long after its expiry (as Synapse does): a brief outage of the peer's web server must
  // not reroute its federation traffic. 0 disables it.
  std::int64_t stale_grace_ms = 10 * kMinute;
};

// Errors: "well_known_too_large", "well_known_invalid_json", "well_known_not_object",
// "well_known_missing_server", "well_known_invalid_server" (message carries the grammar error).
// The Content-Type is deliberately not looked at (the spec says to parse regardless).
Result<ServerName> parse_well_known_body(std::string_view body, const WellKnownPolicy& policy);

// Parses an HTTP-date (IMF-fixdate, RFC 850, asctime) into Unix milliseconds.
std::optional<std::int64_t> parse_http_date(std::string_view text);

// Freshness the response asks for, in ms, or nullopt when it says nothing. no-store, no-cache,
// max-age=0, an unparsable max-age and an invalid Expires all yield 0 (the bounds apply later).
// Expires is taken relative to the response's Date header when present (immune to clock skew).
std::optional<std::int64_t> freshness_from_headers(const HttpHeaders& headers, std::int64_t now_ms);

// jitter_unit: a uniform random number in [0, 1) supplied by the caller (keeps this pure).
std::int64_t success_ttl_ms(const HttpHeaders& headers, std::int64_t now_ms, double jitter_unit,
                            const WellKnownPolicy& policy);
// consecutive_failures >= 1: the first failure is cached error_initial_ttl_ms, each further one
// doubles it, capped at error_max_ttl_ms; jitter shortens by up to default_jitter.
std::int64_t failure_ttl_ms(int consecutive_failures, double jitter_unit,
                            const WellKnownPolicy& policy);

// An https URL the well-known fetch may go to (the start URL or a redirect target).
struct WellKnownUrl {
  ServerName authority;                             // host (+ optional port, default 443)
  std::string path = "/.well-known/matrix/server";  // path + query, starts with '/'
  std::uint16_t port() const { return authority.port.value_or(443); }
  std::string to_string() const;  // "https://host[:port]/path"
};

WellKnownUrl well_known_url_for(const ServerName& host);

// Resolves a Location header against the current URL. Absolute https URLs, network-path
// ("//host/p") and absolute-path ("/p") references are accepted; http:// (a downgrade),
// userinfo, fragments-only and relative-path references are refused ("bad_redirect").
Result<WellKnownUrl> resolve_redirect(const WellKnownUrl& current, std::string_view location);

// Counts hops and detects loops across one fetch. Errors: "redirect_loop", "too_many_redirects".
class RedirectTracker {
 public:
  explicit RedirectTracker(int max_redirects) : max_(max_redirects) {}
  Status start(const WellKnownUrl& url);
  Status follow(const WellKnownUrl& next);
  int hops() const { return hops_; }

 private:
  int max_;
  int hops_ = 0;
  std::set<std::string> seen_;
};

// What one HTTP response means. Redirect statuses (301/302/303/307/308) with a Location yield
// `redirect`; everything else is final: `delegated` on success, `error` on failure.
struct WellKnownVerdict {
  std::optional<WellKnownUrl> redirect;
  std::optional<ServerName> delegated;
  std::optional<Error> error;
};
WellKnownVerdict judge_well_known_response(const WellKnownUrl& url, int status,
                                           const HttpHeaders& headers, std::string_view body,
                                           const WellKnownPolicy& policy);

// The cached outcome of well-known discovery for one server name.
struct WellKnownCacheEntry {
  std::optional<ServerName> delegated;  // nullopt: well-known failed, fall back to SRV on the host
  std::string error_code;               // why it failed (empty on success)
  std::int64_t fetched_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  int consecutive_failures = 0;  // feeds the error backoff
  // Set while a failed fetch reuses the last good delegation: when that answer expired (the grace
  // period counts from here and is never extended by further failures).
  std::int64_t good_expired_at_ms = 0;
  bool fresh(std::int64_t now_ms) const { return now_ms < expires_at_ms; }
};

// Builds the next cache entry from a final verdict (or a transport error) and the previous one.
WellKnownCacheEntry next_cache_entry(const std::optional<WellKnownCacheEntry>& previous,
                                     const std::optional<ServerName>& delegated,
                                     const std::optional<Error>& error,
                                     const HttpHeaders& final_headers, std::int64_t now_ms,
                                     double jitter_unit, const WellKnownPolicy& policy);

}  // namespace bordergate::discovery
