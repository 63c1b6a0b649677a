#include "gateway/discovery/well_known.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "gateway/common/ascii.h"
#include "gateway/matrix/json.h"

namespace bordergate::discovery {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<unsigned> month_number(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (name == kMonths[i]) return i + 1;
  }
  return std::nullopt;
}

std::optional<std::int64_t> number(std::string_view s, std::size_t min_len, std::size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<std::int64_t> parse_delta_seconds(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  // RFC 9111 §1.2.2: values beyond 2^31 mean "a very long time"; clamp instead of overflowing.
  if (s.size() > 10) {
    if (s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return std::int64_t{1} << 31;
  }
  return number(s, 1, 10);
}

}  // namespace

std::optional<std::string_view> find_header(const HttpHeaders& headers, std::string_view name) {
  std::optional<std::string_view> found;
  for (const auto& header : headers) {
    if (ascii_iequals(header.name, name)) found = header.value;
  }
  return found;
}

Result<ServerName> parse_well_known_body(std::string_view body, const WellKnownPolicy& policy) {
  if (body.size() > policy.max_body_bytes) {
    return make_error("well_known_too_large", "well-known response exceeds " +
                                                  std::to_string(policy.max_body_bytes) + " bytes");
  }
  matrix::JsonLimits limits;
  limits.max_depth = 16;
  limits.allow_floats = true;  // not canonical JSON: a float elsewhere must not fail the lookup
  auto json = matrix::parse_json(body, limits);
  if (!json) {
    return make_error("well_known_invalid_json",
                      "well-known body is not JSON: " + json.error().code);
  }
  if (!json->is_object())
    return make_error("well_known_not_object", "well-known body is not an object");
  const matrix::Json* server = json->find("m.server");
  if (server == nullptr || !server->is_string()) {
    return make_error("well_known_missing_server", "well-known has no string m.server");
  }
  auto name = parse_server_name(*server->string_if());
  if (!name) {
    return make_error("well_known_invalid_server",
                      "well-known m.server is not a server name: " + name.error().code);
  }
  return name;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  std::vector<std::string_view> tokens;
  std::size_t start = std::string_view::npos;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const bool sep =
        i == text.size() || text[i] == ' ' || text[i] == ',' || text[i] == '-' || text[i] == ':';
    if (sep) {
      if (start != std::string_view::npos) tokens.push_back(text.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
  }
  std::optional<std::int64_t> year, day, hour, minute, second;
  std::optional<unsigned> month;
  if (tokens.size() == 8 && tokens[7] == "GMT") {  // IMF-fixdate or RFC 850
    day = number(tokens[1], 2, 2);
    month = month_number(tokens[2]);
    if (tokens[3].size() == 4) {
      year = number(tokens[3], 4, 4);
    } else if (auto yy = number(tokens[3], 2, 2)) {
      year = *yy + (*yy < 70 ? 2000 : 1900);  // RFC 850 two-digit years
    }
    hour = number(tokens[4], 2, 2);
    minute = number(tokens[5], 2, 2);
    second = number(tokens[6], 2, 2);
  } else if (tokens.size() == 7) {  // asctime: "Sun Nov  6 08:49:37 1994"
    month = month_number(tokens[1]);
    day = number(tokens[2], 1, 2);
    hour = number(tokens[3], 2, 2);
    minute = number(tokens[4], 2, 2);
    second = number(tokens[5], 2, 2);
    year = number(tokens[6], 4, 4);
  }
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  const std::int64_t days = days_from_civil(*year, *month, static_cast<unsigned>(*day));
  return ((days * 24 + *hour) * 60 + *minute) * 60 * 1000 + *second * 1000;
}

std::optional<std::int64_t> freshness_from_headers(const HttpHeaders& headers,
                                                   std::int64_t now_ms) {
  bool saw_cache_control = false;
  std::optional<std::int64_t> max_age;
  for (const auto& header : headers) {
    if (!ascii_iequals(header.name, "cache-control")) continue;
    std::string_view rest = header.value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view directive = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const auto eq = directive.find('=');
      const std::string_view name = trim(directive.substr(0, eq));
      if (ascii_iequals(name, "no-store") || ascii_iequals(name, "no-cache")) return 0;
      if (ascii_iequals(name, "max-age")) {
        saw_cache_control = true;
        const auto value = eq == std::string_view::npos
                               ? std::nullopt
                               : parse_delta_seconds(directive.substr(eq + 1));
        max_age = value ? *value * 1000 : 0;
      }
    }
  }
  if (saw_cache_control) return max_age;
  if (auto expires = find_header(headers, "expires")) {
    const auto expires_ms = parse_http_date(trim(*expires));
    if (!expires_ms) return 0;  // RFC 9111 §5.3: an invalid Expires means "already expired"
    std::int64_t reference = now_ms;
    if (auto date = find_header(headers, "date")) {
      if (auto date_ms = parse_http_date(trim(*date))) reference = *date_ms;
    }
    return std::max<std::int64_t>(0, *expires_ms - reference);
  }
  return std::nullopt;
}

std::int64_t success_ttl_ms(const HttpHeaders& headers, std::int64_t now_ms, double jitter_unit,
                            const WellKnownPolicy& policy) {
  const auto freshness = freshness_from_headers(headers, now_ms);
  if (!freshness) {
    const double factor = 1.0 - policy.default_jitter * std::clamp(jitter_unit, 0.0, 1.0);
    return static_cast<std::int64_t>(
        std::llround(static_cast<double>(policy.default_ttl_ms) * factor));
  }
  return std::clamp(*freshness, policy.min_ttl_ms, policy.max_ttl_ms);
}

std::int64_t failure_ttl_ms(int consecutive_failures, double jitter_unit,
                            const WellKnownPolicy& policy) {
  std::int64_t ttl = policy.error_initial_ttl_ms;
  for (int i = 1; i < consecutive_failures && ttl < policy.error_max_ttl_ms; ++i) ttl *= 2;
  ttl = std::min(ttl, policy.error_max_ttl_ms);
  const double factor = 1.0 - policy.default_jitter * std::clamp(jitter_unit, 0.0, 1.0);
  return static_cast<std::int64_t>(std::llround(static_cast<double>(ttl) * factor));
}

std::string WellKnownUrl::to_string() const { return "https://" + authority.authority() + path; }

WellKnownUrl well_known_url_for(const ServerName& host) {
  WellKnownUrl url;
  url.authority = host;
  url.authority.port.reset();  // the well-known lives on the default HTTPS port of the host
  url.authority.text = host.host_for_authority();
  return url;
}

Result<WellKnownUrl> resolve_redirect(const WellKnownUrl& current, std::string_view location) {
  location = trim(location);
  auto bad = [&](std::string why) {
    return make_error("bad_redirect",
                      "refusing redirect to '" + std::string(location) + "': " + why);
  };
  if (location.empty()) return bad("empty Location");
  for (char c : location) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\') {
      return bad("control character, space or backslash");
    }
  }
  if (location.find('#') != std::string_view::npos)
    location = location.substr(0, location.find('#'));
  WellKnownUrl next;
  std::string_view rest;
  if (location.substr(0, 2) == "//") {
    rest = location.substr(2);
  } else if (location.front() == '/') {
    next.authority = current.authority;
    next.path = std::string(location);
    return next;
  } else {
    const auto colon = location.find(':');
    if (colon == std::string_view::npos) return bad("relative-path references are not followed");
    std::string scheme;
    for (char c : location.substr(0, colon)) scheme += ascii_lower(c);
    if (scheme != "https") return bad("only https redirects are followed");
    if (location.substr(colon + 1, 2) != "//") return bad("no authority");
    rest = location.substr(colon + 3);
  }
  const auto path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) return bad("userinfo in URL");
  auto host = parse_server_name(authority);
  if (!host) return bad("bad authority: " + host.error().code);
  next.authority = *host;
  if (path_start == std::string_view::npos) {
    next.path = "/";
  } else if (rest[path_start] == '?') {
    next.path = "/" + std::string(rest.substr(path_start));
  } else {
    next.path = std::string(rest.substr(path_start));
  }
  return next;
}

Status RedirectTracker::start(const WellKnownUrl& url) {
  seen_.insert(url.to_string());
  return {};
}

Status RedirectTracker::follow(const WellKnownUrl& next) {
  if (!seen_.insert(next.to_string()).second) {
    return make_error("redirect_loop", "redirect loop at " + next.to_string());
  }
  if (++hops_ > max_) {
    return make_error("too_many_redirects",
                      "more than " + std::to_string(max_) + " redirects fetching well-known");
  }
  return {};
}

WellKnownVerdict judge_well_known_response(const WellKnownUrl& url, int status,
                                           const HttpHeaders& headers, std::string_view body,
                                           const WellKnownPolicy& policy) {
  WellKnownVerdict verdict;
  const bool redirect_status =
      status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  if (redirect_status) {
    const auto location = find_header(headers, "location");
    if (!location) {
      verdict.error = make_error("bad_redirect", "redirect without Location");
      return verdict;
    }
    auto next = resolve_redirect(url, *location);
    if (!next) {
      verdict.error = next.error();
    } else {
      verdict.redirect = std::move(*next);
    }
    return verdict;
  }
  if (status != 200) {
    verdict.error =
        make_error("well_known_http_status", "well-known answered HTTP " + std::to_string(status));
    return verdict;
  }
  auto delegated = parse_well_known_body(body, policy);
  if (!delegated) {
    verdict.error = delegated.error();
  } else {
    verdict.delegated = std::move(*delegated);
  }
  return verdict;
}

WellKnownCacheEntry next_cache_entry(const std::optional<WellKnownCacheEntry>& previous,
                                     const std::optional<ServerName>& delegated,
                                     const std::optional<Error>& error,
                                     const HttpHeaders& final_headers, std::int64_t now_ms,
                                     double jitter_unit, const WellKnownPolicy& policy) {
  WellKnownCacheEntry entry;
  entry.fetched_at_ms = now_ms;
  if (delegated && !error) {
    entry.delegated = delegated;
    entry.expires_at_ms = now_ms + success_ttl_ms(final_headers, now_ms, jitter_unit, policy);
    return entry;
  }
  entry.error_code = error ? error->code : "well_known_failed";
  if (previous && previous->delegated && policy.stale_grace_ms > 0) {
    const std::int64_t good_expired =
        previous->good_expired_at_ms != 0 ? previous->good_expired_at_ms : previous->expires_at_ms;
    const std::int64_t grace_end = good_expired + policy.stale_grace_ms;
    if (now_ms < grace_end) {
      entry.delegated = previous->delegated;
      entry.good_expired_at_ms = good_expired;
      entry.consecutive_failures = previous->consecutive_failures + 1;
      entry.expires_at_ms = std::min(
          grace_end, now_ms + failure_ttl_ms(entry.consecutive_failures, jitter_unit, policy));
      return entry;
    }
  }
  entry.consecutive_failures =
      (previous && !previous->delegated ? previous->consecutive_failures : 0) + 1;
  entry.expires_at_ms = now_ms + failure_ttl_ms(entry.consecutive_failures, jitter_unit, policy);
  return entry;
}

}  // namespace bordergate::discovery
