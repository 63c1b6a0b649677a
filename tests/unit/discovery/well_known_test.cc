// well-known handling as pure functions: body parsing, cache lifetimes, error backoff, redirects.
#include "gateway/discovery/well_known.h"

#include <gtest/gtest.h>

namespace bordergate::discovery {
namespace {

const WellKnownPolicy kPolicy{};
constexpr std::int64_t kNow = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

TEST(WellKnownBodyTest, ParsesDelegations) {
  auto d = parse_well_known_body(R"({"m.server": "matrix.example.org:443"})", kPolicy);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "matrix.example.org");
  EXPECT_EQ(d->port, 443);
  d = parse_well_known_body(R"({"m.server":"[2001:db8::1]","other":1.5,"x":{"y":[]}})", kPolicy);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, HostKind::kIpv6);
  d = parse_well_known_body(" \n{\"m.server\":\"a.example\"}\n", kPolicy);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->text, "a.example");
}

TEST(WellKnownBodyTest, RejectsBadBodiesWithExactCodes) {
  const std::pair<std::string, const char*> cases[] = {
      {"", "well_known_invalid_json"},
      {"<html>", "well_known_invalid_json"},
      {R"({"m.server":"a.example",})", "well_known_invalid_json"},
      {R"({"m.server":"a.example","m.server":"b.example"})", "well_known_invalid_json"},
      {R"(["m.server"])", "well_known_not_object"},
      {R"("a.example")", "well_known_not_object"},
      {R"({})", "well_known_missing_server"},
      {R"({"m.server":42})", "well_known_missing_server"},
      {R"({"m.server":null})", "well_known_missing_server"},
      {R"({"m.server":""})", "well_known_invalid_server"},
      {R"({"m.server":"https://a.example"})", "well_known_invalid_server"},
      {R"({"m.server":"a.example:0"})", "well_known_invalid_server"},
      {R"({"m.server":"a.example/evil"})", "well_known_invalid_server"},
      {"{\"m.server\":\"" + std::string(51 * 1024, 'a') + "\"}", "well_known_too_large"},
  };
  for (const auto& [body, code] : cases) {
    SCOPED_TRACE(body.substr(0, 60));
    auto d = parse_well_known_body(body, kPolicy);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, code);
  }
}

TEST(WellKnownBodyTest, SizeLimitIsInclusive) {
  std::string body = R"({"m.server":"a.example","pad":")";
  body += std::string(kPolicy.max_body_bytes - body.size() - 2, 'x') + "\"}";
  ASSERT_EQ(body.size(), kPolicy.max_body_bytes);
  EXPECT_TRUE(parse_well_known_body(body, kPolicy).ok());
}

TEST(HttpDateTest, ParsesTheThreeFormats) {
  const std::int64_t expected = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"), 1835438400000);
  for (const char* bad : {"", "0", "-1", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994",
                          "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 6 Nov 1994 08:49:37 GMT"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_http_date(bad).has_value());
  }
}

TEST(WellKnownCacheTest, FreshnessFromHeaders) {
  using H = HttpHeaders;
  EXPECT_FALSE(freshness_from_headers(H{}, kNow).has_value());
  EXPECT_FALSE(freshness_from_headers(H{{"Content-Type", "text/html"}}, kNow).has_value());
  EXPECT_EQ(freshness_from_headers(H{{"Cache-Control", "max-age=3600"}}, kNow), 3600 * 1000);
  EXPECT_EQ(freshness_from_headers(H{{"cache-control", "public, MAX-AGE=\"60\""}}, kNow), 60000);
  EXPECT_EQ(freshness_from_headers(H{{"Cache-Control", "max-age=abc"}}, kNow), 0);
  EXPECT_EQ(freshness_from_headers(H{{"Cache-Control", "max-age"}}, kNow), 0);
  EXPECT_EQ(freshness_from_headers(H{{"Cache-Control", "no-store, max-age=600"}}, kNow), 0);
  EXPECT_EQ(freshness_from_headers(
                H{{"Cache-Control", "max-age=600"}, {"Cache-Control", "no-cache"}}, kNow),
            0);
  EXPECT_EQ(freshness_from_headers(H{{"Cache-Control", "max-age=99999999999999"}}, kNow),
            (std::int64_t{1} << 31) * 1000);
  // max-age wins over Expires.
  EXPECT_EQ(
      freshness_from_headers(
          H{{"Cache-Control", "max-age=10"}, {"Expires", "Thu, 01 Jan 2099 00:00:00 GMT"}}, kNow),
      10000);
  // Expires relative to Date (clock skew immune), else to now.
  EXPECT_EQ(freshness_from_headers(H{{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
                                     {"Expires", "Sun, 06 Nov 1994 09:49:37 GMT"}},
                                   kNow),
            3600 * 1000);
  EXPECT_EQ(freshness_from_headers(H{{"Expires", "Tue, 14 Nov 2023 23:13:20 GMT"}}, kNow),
            3600 * 1000);
  EXPECT_EQ(freshness_from_headers(H{{"Expires", "0"}}, kNow), 0);
  EXPECT_EQ(freshness_from_headers(H{{"Expires", "Thu, 01 Jan 1970 00:00:00 GMT"}}, kNow), 0);
}

TEST(WellKnownCacheTest, SuccessTtlIsBounded) {
  using H = HttpHeaders;
  // No headers: 24 h minus up to 10 % jitter.
  EXPECT_EQ(success_ttl_ms(H{}, kNow, 0.0, kPolicy), 24 * kHour);
  EXPECT_EQ(success_ttl_ms(H{}, kNow, 0.5, kPolicy), 24 * kHour * 95 / 100);
  EXPECT_GT(success_ttl_ms(H{}, kNow, 0.999, kPolicy), 24 * kHour * 90 / 100);
  // Bounds: min 5 min, max 48 h, no jitter on explicit lifetimes.
  EXPECT_EQ(success_ttl_ms(H{{"Cache-Control", "max-age=1"}}, kNow, 0.5, kPolicy), 5 * kMinute);
  EXPECT_EQ(success_ttl_ms(H{{"Cache-Control", "no-store"}}, kNow, 0.5, kPolicy), 5 * kMinute);
  EXPECT_EQ(success_ttl_ms(H{{"Cache-Control", "max-age=7200"}}, kNow, 0.5, kPolicy), 2 * kHour);
  EXPECT_EQ(success_ttl_ms(H{{"Cache-Control", "max-age=31536000"}}, kNow, 0.5, kPolicy),
            48 * kHour);
}

TEST(WellKnownCacheTest, FailureBackoffDoublesUpToOneHour) {
  EXPECT_EQ(failure_ttl_ms(1, 0.0, kPolicy), 2 * kMinute);
  EXPECT_EQ(failure_ttl_ms(2, 0.0, kPolicy), 4 * kMinute);
  EXPECT_EQ(failure_ttl_ms(3, 0.0, kPolicy), 8 * kMinute);
  EXPECT_EQ(failure_ttl_ms(5, 0.0, kPolicy), 32 * kMinute);
  EXPECT_EQ(failure_ttl_ms(6, 0.0, kPolicy), kHour);
  EXPECT_EQ(failure_ttl_ms(1000, 0.0, kPolicy), kHour);
  EXPECT_EQ(failure_ttl_ms(6, 1.0, kPolicy), kHour * 9 / 10);
}

TEST(WellKnownCacheTest, NextEntryCountsConsecutiveFailures) {
  const Error error = make_error("well_known_http_status", "HTTP 500");
  auto first = next_cache_entry(std::nullopt, std::nullopt, error, {}, kNow, 0.0, kPolicy);
  EXPECT_FALSE(first.delegated);
  EXPECT_EQ(first.error_code, "well_known_http_status");
  EXPECT_EQ(first.consecutive_failures, 1);
  EXPECT_EQ(first.expires_at_ms, kNow + 2 * kMinute);
  EXPECT_TRUE(first.fresh(kNow + 2 * kMinute - 1));
  EXPECT_FALSE(first.fresh(kNow + 2 * kMinute));
  auto second = next_cache_entry(first, std::nullopt, error, {}, kNow, 0.0, kPolicy);
  EXPECT_EQ(second.consecutive_failures, 2);
  EXPECT_EQ(second.expires_at_ms, kNow + 4 * kMinute);
  auto ok = next_cache_entry(second, parse_server_name("d.example").value(), std::nullopt,
                             {{"Cache-Control", "max-age=600"}}, kNow, 0.0, kPolicy);
  EXPECT_EQ(ok.consecutive_failures, 0);
  EXPECT_EQ(ok.delegated->text, "d.example");
  EXPECT_EQ(ok.expires_at_ms, kNow + 10 * kMinute);
  auto after_success = next_cache_entry(ok, std::nullopt, error, {}, kNow, 0.0, kPolicy);
  EXPECT_EQ(after_success.consecutive_failures, 1);
}

// A refetch failing shortly after a good answer expired keeps the delegation, for at most
// stale_grace_ms after that expiry however often it fails; afterwards failures are plain again.
TEST(WellKnownCacheTest, FailureReusesLastGoodDelegationWithinGrace) {
  const Error error = make_error("well_known_connect_failed", "refused");
  auto ok = next_cache_entry(std::nullopt, parse_server_name("d.example").value(), std::nullopt,
                             {{"Cache-Control", "max-age=600"}}, kNow, 0.0, kPolicy);
  const std::int64_t expired = ok.expires_at_ms;
  auto stale = next_cache_entry(ok, std::nullopt, error, {}, expired + kMinute, 0.0, kPolicy);
  ASSERT_TRUE(stale.delegated);
  EXPECT_EQ(stale.delegated->text, "d.example");
  EXPECT_EQ(stale.error_code, "well_known_connect_failed");
  EXPECT_EQ(stale.good_expired_at_ms, expired);
  EXPECT_EQ(stale.expires_at_ms, expired + kMinute + 2 * kMinute);
  auto later =
      next_cache_entry(stale, std::nullopt, error, {}, expired + 9 * kMinute, 0.0, kPolicy);
  ASSERT_TRUE(later.delegated);
  EXPECT_EQ(later.expires_at_ms, expired + 10 * kMinute);  // capped at the grace end
  auto after =
      next_cache_entry(later, std::nullopt, error, {}, expired + 10 * kMinute, 0.0, kPolicy);
  EXPECT_FALSE(after.delegated);
  WellKnownPolicy strict = kPolicy;
  strict.stale_grace_ms = 0;
  EXPECT_FALSE(next_cache_entry(ok, std::nullopt, error, {}, expired + 1, 0.0, strict).delegated);
}

WellKnownUrl start_url() { return well_known_url_for(parse_server_name("example.org").value()); }

TEST(WellKnownRedirectTest, ResolvesLocations) {
  const WellKnownUrl base = start_url();
  EXPECT_EQ(base.to_string(), "https://example.org/.well-known/matrix/server");
  const std::pair<const char*, const char*> ok[] = {
      {"https://other.example/.well-known/matrix/server",
       "https://other.example/.well-known/matrix/server"},
      {"HTTPS://other.example:8443/x?y=1", "https://other.example:8443/x?y=1"},
      {"https://other.example", "https://other.example/"},
      {"https://other.example?q", "https://other.example/?q"},
      {"//cdn.example/wk", "https://cdn.example/wk"},
      {"/moved", "https://example.org/moved"},
      {"/moved#frag", "https://example.org/moved"},
      {"https://[2001:db8::1]:444/wk", "https://[2001:db8::1]:444/wk"},
  };
  for (const auto& [location, expected] : ok) {
    SCOPED_TRACE(location);
    auto next = resolve_redirect(base, location);
    ASSERT_TRUE(next.ok()) << next.error().message;
    EXPECT_EQ(next->to_string(), expected);
  }
  for (const char* bad :
       {"", "http://other.example/", "ftp://x/", "moved", "../x", "https://user@other.example/",
        "https:other.example", "https://bad_host/", "https://a.example:0/", "https://a b/",
        "/pa th", "https://a.example\\@b.example/", "javascript:alert(1)"}) {
    SCOPED_TRACE(bad);
    auto next = resolve_redirect(base, bad);
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.error().code, "bad_redirect");
  }
}

TEST(WellKnownRedirectTest, TrackerDetectsLoopsAndLimits) {
  RedirectTracker tracker(2);
  const WellKnownUrl a = start_url();
  ASSERT_TRUE(tracker.start(a).ok());
  auto b = resolve_redirect(a, "/b").value();
  auto c = resolve_redirect(a, "/c").value();
  auto d = resolve_redirect(a, "/d").value();
  EXPECT_TRUE(tracker.follow(b).ok());
  EXPECT_EQ(tracker.follow(a).error().code, "redirect_loop");
  EXPECT_TRUE(tracker.follow(c).ok());
  EXPECT_EQ(tracker.follow(d).error().code, "too_many_redirects");
}

TEST(WellKnownVerdictTest, JudgesResponses) {
  const WellKnownUrl url = start_url();
  auto v = judge_well_known_response(url, 200, {{"Content-Type", "text/plain"}},
                                     R"({"m.server":"m.example:8448"})", kPolicy);
  ASSERT_TRUE(v.delegated);
  EXPECT_FALSE(v.error);
  EXPECT_EQ(v.delegated->authority(), "m.example:8448");

  v = judge_well_known_response(url, 404, {}, R"({"m.server":"m.example"})", kPolicy);
  ASSERT_TRUE(v.error);
  EXPECT_EQ(v.error->code, "well_known_http_status");
  EXPECT_FALSE(v.delegated);

  v = judge_well_known_response(url, 302, {{"Location", "/elsewhere"}}, "", kPolicy);
  ASSERT_TRUE(v.redirect);
  EXPECT_EQ(v.redirect->path, "/elsewhere");

  v = judge_well_known_response(url, 301, {}, "", kPolicy);
  ASSERT_TRUE(v.error);
  EXPECT_EQ(v.error->code, "bad_redirect");

  v = judge_well_known_response(url, 308, {{"location", "http://example.org/"}}, "", kPolicy);
  ASSERT_TRUE(v.error);
  EXPECT_EQ(v.error->code, "bad_redirect");

  // 300/304/305 are not redirects the fetch follows.
  v = judge_well_known_response(url, 304, {{"Location", "/x"}}, "", kPolicy);
  ASSERT_TRUE(v.error);
  EXPECT_EQ(v.error->code, "well_known_http_status");
}

}  // namespace
}  // namespace bordergate::discovery
