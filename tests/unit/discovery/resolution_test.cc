// The §1.3 resolution state machine driven by tables: a fake DNS zone and fake well-known
// responses. Each case checks connect targets, TLS name / SNI, Host header and what was asked.
#include "gateway/discovery/resolution.h"

#include <gtest/gtest.h>

#include <map>

namespace bordergate::discovery {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

DnsAnswer addresses(std::initializer_list<const char*> list) {
  DnsAnswer answer;
  for (const char* a : list) answer.addresses.push_back(ip(a));
  return answer;
}

DnsAnswer srv(std::vector<SrvRecord> records) {
  DnsAnswer answer;
  answer.srv = std::move(records);
  return answer;
}

DnsAnswer dns_error(const char* code) {
  DnsAnswer answer;
  answer.error = make_error(code, code);
  return answer;
}

HttpsReply reply(int status, std::string body, HttpHeaders headers = {}) {
  HttpsReply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// A fake network: unknown DNS names are NXDOMAIN, unknown URLs refuse the connection.
struct World {
  std::map<std::pair<std::string, DnsType>, DnsAnswer> dns;
  std::map<std::string, HttpsReply> web;  // "host_header path"
  std::vector<DnsQuestion> asked;
  std::vector<HttpsRequest> fetched;

  void a(const std::string& name, std::initializer_list<const char*> list) {
    dns[{name, DnsType::kA}] = addresses(list);
  }
  void aaaa(const std::string& name, std::initializer_list<const char*> list) {
    dns[{name, DnsType::kAaaa}] = addresses(list);
  }
  void well_known(const std::string& host, HttpsReply r) {
    web[host + " /.well-known/matrix/server"] = std::move(r);
  }

  void drive(Resolution& resolution) {
    for (int guard = 0; guard < 100 && !resolution.done(); ++guard) {
      if (const auto* need = std::get_if<Resolution::NeedDns>(&resolution.next())) {
        std::vector<DnsAnswer> answers;
        for (const auto& q : need->questions) {
          asked.push_back(q);
          auto it = dns.find({q.name, q.type});
          answers.push_back(it != dns.end() ? it->second : dns_error("nxdomain"));
        }
        resolution.on_dns(std::move(answers));
      } else if (const auto* fetch = std::get_if<Resolution::NeedHttps>(&resolution.next())) {
        fetched.push_back(fetch->request);
        auto it = web.find(fetch->request.host_header + " " + fetch->request.path);
        if (it == web.end()) {
          HttpsReply refused;
          refused.transport_error = make_error("connect_failed", "connection refused");
          resolution.on_https(refused);
        } else {
          resolution.on_https(it->second);
        }
      }
    }
    ASSERT_TRUE(resolution.done());
  }

  Result<ResolvedServer> resolve(std::string_view name, const ResolutionOptions& options,
                                 std::optional<WellKnownCacheEntry> cached = std::nullopt,
                                 std::vector<std::string>* log = nullptr) {
    Resolution resolution(name, options, kNow, 42, std::move(cached));
    drive(resolution);
    if (log) *log = resolution.log();
    last_update = resolution.well_known_update();
    used_cache = resolution.used_cached_well_known();
    return resolution.result();
  }

  bool asked_for(const std::string& name, DnsType type) const {
    for (const auto& q : asked) {
      if (q.name == name && q.type == type) return true;
    }
    return false;
  }

  std::optional<WellKnownCacheEntry> last_update;
  bool used_cache = false;
};

std::vector<ConnectTarget> targets(std::initializer_list<std::pair<const char*, int>> list) {
  std::vector<ConnectTarget> out;
  for (const auto& [a, port] : list) out.push_back({ip(a), static_cast<std::uint16_t>(port)});
  return out;
}

class ResolutionTest : public ::testing::Test {
 protected:
  World world;
  ResolutionOptions options;
};

TEST_F(ResolutionTest, IpLiteralConnectsDirectlyWithoutSni) {
  auto r = world.resolve("93.184.216.34", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kIpLiteral);
  EXPECT_EQ(r->targets, targets({{"93.184.216.34", 8448}}));
  EXPECT_TRUE(r->tls_name.empty());
  EXPECT_EQ(r->tls_ip, ip("93.184.216.34"));
  EXPECT_EQ(r->host_header, "93.184.216.34");
  EXPECT_TRUE(world.asked.empty());
  EXPECT_TRUE(world.fetched.empty());

  r = world.resolve("[2606:4700::1]:8000", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets, targets({{"2606:4700::1", 8000}}));
  EXPECT_EQ(r->host_header, "[2606:4700::1]:8000");
  EXPECT_EQ(r->server_name, "[2606:4700::1]:8000");
}

TEST_F(ResolutionTest, SpecialIpLiteralsAreRefusedUnlessAllowed) {
  for (const char* name : {"10.0.0.1", "169.254.169.254", "[::1]", "[::ffff:127.0.0.1]:8448",
                           "127.0.0.99:8448", "0.0.0.0"}) {
    SCOPED_TRACE(name);
    auto r = world.resolve(name, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ssrf_refused");
  }
  options.guard = AddressGuard::from_strings({"127.0.0.0/8"}).value();
  auto r = world.resolve("[::ffff:127.0.0.1]:9000", options);
  ASSERT_TRUE(r.ok());
  // The mapped address is unwrapped: the socket goes to the IPv4 loopback the guard judged.
  EXPECT_EQ(r->targets, targets({{"127.0.0.1", 9000}}));
  EXPECT_EQ(r->host_header, "[::ffff:127.0.0.1]:9000");
}

TEST_F(ResolutionTest, InvalidServerNameFailsWithGrammarCode) {
  auto r = world.resolve("bad_name.example", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_dns_name");
  EXPECT_TRUE(world.asked.empty());
}

TEST_F(ResolutionTest, ExplicitPortSkipsWellKnownAndSrv) {
  world.a("example.org", {"93.184.216.34"});
  world.aaaa("example.org", {"2606:2800:220:1::1"});
  auto r = world.resolve("example.org:8000", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kExplicitPort);
  EXPECT_EQ(r->targets, targets({{"2606:2800:220:1::1", 8000}, {"93.184.216.34", 8000}}));
  EXPECT_EQ(r->tls_name, "example.org");
  EXPECT_FALSE(r->tls_ip);
  EXPECT_EQ(r->host_header, "example.org:8000");
  EXPECT_EQ(r->target_names, (std::vector<NamedTarget>{{"example.org", 8000}}));
  EXPECT_TRUE(world.fetched.empty());
  EXPECT_FALSE(world.asked_for("_matrix-fed._tcp.example.org", DnsType::kSrv));
}

TEST_F(ResolutionTest, AddressFamiliesAreInterleaved) {
  world.a("example.org", {"93.184.216.34", "93.184.216.35"});
  world.aaaa("example.org", {"2606:2800:220:1::1"});
  auto r = world.resolve("example.org:443", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets,
            targets({{"2606:2800:220:1::1", 443}, {"93.184.216.34", 443}, {"93.184.216.35", 443}}));
  options.address_order = AddressOrder::kIpv4First;
  r = world.resolve("example.org:443", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets,
            targets({{"93.184.216.34", 443}, {"2606:2800:220:1::1", 443}, {"93.184.216.35", 443}}));
}

TEST_F(ResolutionTest, WellKnownRequestIsWellFormed) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"93.184.216.40:8448"})"));
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(world.fetched.size(), 1u);
  const HttpsRequest& request = world.fetched.front();
  EXPECT_EQ(request.targets, targets({{"93.184.216.34", 443}}));
  EXPECT_EQ(request.tls_name, "example.org");
  EXPECT_FALSE(request.tls_ip);
  EXPECT_EQ(request.host_header, "example.org");
  EXPECT_EQ(request.path, "/.well-known/matrix/server");
  EXPECT_EQ(request.max_body_bytes, 50u * 1024);
}

TEST_F(ResolutionTest, DelegatedIpLiteral) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"[2606:4700::1]"})"));
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kDelegatedIp);
  EXPECT_EQ(r->targets, targets({{"2606:4700::1", 8448}}));
  EXPECT_TRUE(r->tls_name.empty());
  EXPECT_EQ(r->tls_ip, ip("2606:4700::1"));
  EXPECT_EQ(r->host_header, "[2606:4700::1]");
  EXPECT_EQ(r->server_name, "example.org");
  ASSERT_TRUE(world.last_update);
  EXPECT_EQ(world.last_update->delegated->text, "[2606:4700::1]");
}

TEST_F(ResolutionTest, DelegationToSpecialAddressIsRefused) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"169.254.169.254:80"})"));
  auto r = world.resolve("example.org", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ssrf_refused");
}

TEST_F(ResolutionTest, DelegatedNameWithPort) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"matrix.example.org:443"})"));
  world.a("matrix.example.org", {"93.184.216.50"});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kDelegatedExplicitPort);
  EXPECT_EQ(r->targets, targets({{"93.184.216.50", 443}}));
  EXPECT_EQ(r->tls_name, "matrix.example.org");
  EXPECT_EQ(r->host_header, "matrix.example.org:443");
  EXPECT_EQ(r->target_names, (std::vector<NamedTarget>{{"matrix.example.org", 443}}));
  EXPECT_FALSE(world.asked_for("_matrix-fed._tcp.matrix.example.org", DnsType::kSrv));
}

TEST_F(ResolutionTest, DelegatedNameUsesSrvButVerifiesTheDelegate) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"matrix.example.org"})"));
  world.dns[{"_matrix-fed._tcp.matrix.example.org", DnsType::kSrv}] =
      srv({{10, 0, 8449, "fed.hosting.example"}});
  world.a("fed.hosting.example", {"93.184.216.60"});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kDelegatedSrv);
  EXPECT_EQ(r->targets, targets({{"93.184.216.60", 8449}}));
  // Never the SRV target: DNS is not trusted, the delegate proves itself over TLS.
  EXPECT_EQ(r->tls_name, "matrix.example.org");
  EXPECT_EQ(r->host_header, "matrix.example.org");
  // The names a client doing its own discovery (Synapse behind a proxy) CONNECTs to.
  EXPECT_EQ(r->target_names, (std::vector<NamedTarget>{{"fed.hosting.example", 8449}}));
  EXPECT_FALSE(world.asked_for("_matrix._tcp.matrix.example.org", DnsType::kSrv));
}

TEST_F(ResolutionTest, DelegatedLegacySrvThenDefaultPort) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"matrix.example.org"})"));
  world.dns[{"_matrix._tcp.matrix.example.org", DnsType::kSrv}] =
      srv({{10, 0, 8450, "legacy.hosting.example"}});
  world.a("legacy.hosting.example", {"93.184.216.61"});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kDelegatedLegacySrv);
  EXPECT_EQ(r->targets, targets({{"93.184.216.61", 8450}}));
  EXPECT_EQ(r->tls_name, "matrix.example.org");

  world.dns.erase({"_matrix._tcp.matrix.example.org", DnsType::kSrv});
  world.aaaa("matrix.example.org", {"2606:2800:220:1::7"});
  r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kDelegatedDefaultPort);
  EXPECT_EQ(r->targets, targets({{"2606:2800:220:1::7", 8448}}));
  EXPECT_EQ(r->host_header, "matrix.example.org");
  EXPECT_EQ(r->target_names, (std::vector<NamedTarget>{{"matrix.example.org", 8448}}));
}

TEST_F(ResolutionTest, WellKnownFailureFallsBackToSrvOnTheHost) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(404, "not found"));
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] =
      srv({{0, 0, 8443, "fed.example.org"}});
  world.dns[{"_matrix._tcp.example.org", DnsType::kSrv}] = srv({{0, 0, 9999, "old.example.org"}});
  world.a("fed.example.org", {"93.184.216.70"});
  world.a("old.example.org", {"93.184.216.71"});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kSrv);
  EXPECT_EQ(r->targets, targets({{"93.184.216.70", 8443}}));
  EXPECT_EQ(r->tls_name, "example.org");
  EXPECT_EQ(r->host_header, "example.org");
  // _matrix-fed wins: the deprecated record is never even asked for.
  EXPECT_FALSE(world.asked_for("_matrix._tcp.example.org", DnsType::kSrv));
  ASSERT_TRUE(world.last_update);
  EXPECT_FALSE(world.last_update->delegated);
  EXPECT_EQ(world.last_update->error_code, "well_known_http_status");
  EXPECT_EQ(world.last_update->consecutive_failures, 1);
}

TEST_F(ResolutionTest, LegacySrvThenDefaultPortOnTheHost) {
  world.a("example.org", {"93.184.216.34"});
  world.dns[{"_matrix._tcp.example.org", DnsType::kSrv}] = srv({{0, 0, 9999, "old.example.org"}});
  world.a("old.example.org", {"93.184.216.71"});
  auto r = world.resolve("example.org", options);  // well-known: connection refused
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kLegacySrv);
  EXPECT_EQ(r->targets, targets({{"93.184.216.71", 9999}}));

  world.dns.erase({"_matrix._tcp.example.org", DnsType::kSrv});
  r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kDefaultPort);
  EXPECT_EQ(r->targets, targets({{"93.184.216.34", 8448}}));
  EXPECT_EQ(r->tls_name, "example.org");
  EXPECT_EQ(r->host_header, "example.org");
}

TEST_F(ResolutionTest, InvalidWellKnownBodiesFallBack) {
  world.a("example.org", {"93.184.216.34"});
  for (const char* body : {"not json", R"({"m.server":"x.example/p"})", R"({"nope":1})"}) {
    SCOPED_TRACE(body);
    world.well_known("example.org", reply(200, body));
    auto r = world.resolve("example.org", options);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->route, Route::kDefaultPort);
  }
}

TEST_F(ResolutionTest, SrvPrioritiesOrderTargets) {
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] =
      srv({{20, 0, 3, "c.example"}, {5, 0, 1, "a.example"}, {10, 0, 2, "b.example"}});
  world.a("a.example", {"93.184.216.1"});
  world.a("b.example", {"93.184.216.2"});
  world.a("c.example", {"93.184.216.3"});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->targets, targets({{"93.184.216.1", 1}, {"93.184.216.2", 2}, {"93.184.216.3", 3}}));
  EXPECT_EQ(r->target_names,
            (std::vector<NamedTarget>{{"a.example", 1}, {"b.example", 2}, {"c.example", 3}}));
}

TEST_F(ResolutionTest, SrvWeightsAreHonouredStatistically) {
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] =
      srv({{1, 10, 1, "light.example"}, {1, 90, 2, "heavy.example"}, {2, 50, 3, "backup.example"}});
  world.a("light.example", {"93.184.216.1"});
  world.a("heavy.example", {"93.184.216.2"});
  world.a("backup.example", {"93.184.216.3"});
  int heavy_first = 0;
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    Resolution resolution("example.org", options, kNow, seed);
    world.drive(resolution);
    ASSERT_TRUE(resolution.result().ok());
    const auto& t = resolution.result()->targets;
    ASSERT_EQ(t.size(), 3u);
    if (t[0].port == 2) ++heavy_first;
    EXPECT_EQ(t[2].port, 3);  // lower priority always last
  }
  EXPECT_GT(heavy_first, 850);
  EXPECT_LT(heavy_first, 950);
}

TEST_F(ResolutionTest, SrvDotTargetMeansUnavailable) {
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] = srv({{0, 0, 0, "."}});
  world.a("example.org", {"93.184.216.34"});
  auto r = world.resolve("example.org", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "srv_service_unavailable");
}

TEST_F(ResolutionTest, SrvServerFailureIsNotNoRecord) {
  world.a("example.org", {"93.184.216.34"});
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] = dns_error("timeout");
  auto r = world.resolve("example.org", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "dns_error");
  EXPECT_FALSE(world.asked_for("_matrix._tcp.example.org", DnsType::kSrv));
}

TEST_F(ResolutionTest, SrvRecordCountIsCapped) {
  std::vector<SrvRecord> many;
  for (int i = 0; i < 20; ++i) {
    many.push_back({static_cast<std::uint16_t>(i), 0, static_cast<std::uint16_t>(1000 + i),
                    "t" + std::to_string(i) + ".example"});
    world.a("t" + std::to_string(i) + ".example", {"93.184.216.9"});
  }
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] = srv(many);
  options.max_srv_records = 3;
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets.size(), 3u);
  EXPECT_FALSE(world.asked_for("t3.example", DnsType::kA));
}

TEST_F(ResolutionTest, GuardFiltersEveryDnsAnswer) {
  world.a("mixed.example", {"10.0.0.1", "93.184.216.34", "169.254.169.254"});
  world.aaaa("mixed.example", {"::1", "::ffff:127.0.0.1", "2606:4700::1"});
  std::vector<std::string> log;
  auto r = world.resolve("mixed.example:8448", options, std::nullopt, &log);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets, targets({{"2606:4700::1", 8448}, {"93.184.216.34", 8448}}));
  std::string joined;
  for (const auto& line : log) joined += line + "\n";
  EXPECT_NE(joined.find("4 refused by the address guard"), std::string::npos) << joined;

  world.a("loop.example", {"127.0.0.99"});
  r = world.resolve("loop.example:8448", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ssrf_refused");

  world.aaaa("mapped.example", {"::ffff:127.0.0.1"});
  r = world.resolve("mapped.example:8448", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ssrf_refused");

  options.guard = AddressGuard::from_strings({"127.0.0.0/8"}).value();
  r = world.resolve("loop.example:8448", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets, targets({{"127.0.0.99", 8448}}));
  r = world.resolve("mapped.example:8448", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets, targets({{"127.0.0.1", 8448}}));
}

TEST_F(ResolutionTest, SrvTargetPointingAtLoopbackIsRefused) {
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] =
      srv({{0, 0, 8448, "internal.example"}});
  world.a("internal.example", {"127.0.0.99"});
  auto r = world.resolve("example.org", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ssrf_refused");
}

TEST_F(ResolutionTest, WellKnownHostInPrivateRangeIsNeverFetched) {
  world.a("example.org", {"10.1.2.3"});
  world.well_known("example.org", reply(200, R"({"m.server":"evil.example"})"));
  auto r = world.resolve("example.org", options);
  EXPECT_TRUE(world.fetched.empty());
  ASSERT_FALSE(r.ok());  // falls back to SRV/8448 on the host, which is refused as well
  EXPECT_EQ(r.error().code, "ssrf_refused");
  ASSERT_TRUE(world.last_update);
  EXPECT_EQ(world.last_update->error_code, "ssrf_refused");
}

TEST_F(ResolutionTest, RedirectsAreFollowedThroughTheGuard) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org",
                   reply(302, "", {{"Location", "https://cdn.example/.well-known/matrix/server"}}));
  world.a("cdn.example", {"93.184.216.80"});
  world.well_known("cdn.example", reply(200, R"({"m.server":"m.example:8448"})"));
  world.a("m.example", {"93.184.216.81"});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(world.fetched.size(), 2u);
  EXPECT_EQ(world.fetched[1].tls_name, "cdn.example");
  EXPECT_EQ(world.fetched[1].targets, targets({{"93.184.216.80", 443}}));
  EXPECT_EQ(r->route, Route::kDelegatedExplicitPort);
  EXPECT_EQ(r->host_header, "m.example:8448");
}

TEST_F(ResolutionTest, RedirectToMetadataServiceIsRefused) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(301, "", {{"Location", "https://metadata.example/x"}}));
  world.a("metadata.example", {"169.254.169.254"});
  auto r = world.resolve("example.org", options);
  EXPECT_EQ(world.fetched.size(), 1u);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->route, Route::kDefaultPort);
  EXPECT_EQ(world.last_update->error_code, "ssrf_refused");

  world.fetched.clear();
  world.well_known("example.org", reply(307, "", {{"Location", "https://[::1]/x"}}));
  r = world.resolve("example.org", options);
  EXPECT_EQ(world.fetched.size(), 1u);
  EXPECT_EQ(world.last_update->error_code, "ssrf_refused");
}

TEST_F(ResolutionTest, RedirectToIpLiteralVerifiesTheIp) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(302, "", {{"Location", "https://93.184.216.90:8443/wk"}}));
  world.web["93.184.216.90:8443 /wk"] = reply(200, R"({"m.server":"93.184.216.91"})");
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(world.fetched.size(), 2u);
  EXPECT_EQ(world.fetched[1].targets, targets({{"93.184.216.90", 8443}}));
  EXPECT_TRUE(world.fetched[1].tls_name.empty());
  EXPECT_EQ(world.fetched[1].tls_ip, ip("93.184.216.90"));
  EXPECT_EQ(r->route, Route::kDelegatedIp);
  EXPECT_EQ(r->targets, targets({{"93.184.216.91", 8448}}));
}

TEST_F(ResolutionTest, RedirectLoopsAndChainsAreBounded) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(302, "", {{"Location", "/a"}}));
  world.web["example.org /a"] = reply(302, "", {{"Location", "/.well-known/matrix/server"}});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(world.last_update->error_code, "redirect_loop");
  EXPECT_EQ(world.fetched.size(), 2u);

  world.fetched.clear();
  world.well_known("example.org", reply(302, "", {{"Location", "/r0"}}));
  for (int i = 0; i < 10; ++i) {
    world.web["example.org /r" + std::to_string(i)] =
        reply(302, "", {{"Location", "/r" + std::to_string(i + 1)}});
  }
  r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(world.last_update->error_code, "too_many_redirects");
  EXPECT_EQ(world.fetched.size(), static_cast<std::size_t>(options.well_known.max_redirects) + 1);
}

TEST_F(ResolutionTest, FreshCachedWellKnownIsUsedWithoutFetching) {
  world.a("m.example", {"93.184.216.81"});
  WellKnownCacheEntry cached;
  cached.delegated = parse_server_name("m.example:8448").value();
  cached.expires_at_ms = kNow + 1000;
  auto r = world.resolve("example.org", options, cached);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(world.fetched.empty());
  EXPECT_EQ(r->route, Route::kDelegatedExplicitPort);
  EXPECT_FALSE(world.last_update);
  EXPECT_TRUE(world.used_cache);

  // A cached failure also skips the fetch and goes to SRV on the host.
  WellKnownCacheEntry failed;
  failed.error_code = "well_known_http_status";
  failed.consecutive_failures = 2;
  failed.expires_at_ms = kNow + 1000;
  world.a("example.org", {"93.184.216.34"});
  r = world.resolve("example.org", options, failed);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(world.fetched.empty());
  EXPECT_EQ(r->route, Route::kDefaultPort);

  // Stale: refetched, and the failure count keeps growing for the backoff.
  failed.expires_at_ms = kNow;
  r = world.resolve("example.org", options, failed);
  EXPECT_FALSE(world.used_cache);
  EXPECT_EQ(world.fetched.size(), 1u);
  ASSERT_TRUE(world.last_update);
  EXPECT_EQ(world.last_update->consecutive_failures, 3);
  EXPECT_LE(world.last_update->expires_at_ms, kNow + 8 * kMinute);
  EXPECT_GT(world.last_update->expires_at_ms, kNow + 8 * kMinute * 9 / 10);
}

TEST_F(ResolutionTest, SuccessfulWellKnownIsCachedPerHeaders) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"93.184.216.40"})",
                                        {{"Cache-Control", "max-age=3600"}}));
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(world.last_update);
  EXPECT_EQ(world.last_update->expires_at_ms, kNow + kHour);
  EXPECT_EQ(world.last_update->fetched_at_ms, kNow);
}

TEST_F(ResolutionTest, StaticOverridesSkipDiscovery) {
  options.overrides["closed.example"] =
      StaticOverride{parse_server_name("127.0.0.1:8448").value(), std::nullopt};
  options.overrides["named.example"] =
      StaticOverride{parse_server_name("gw.internal.example:9443").value(), "peer-cert.example"};
  world.a("gw.internal.example", {"10.20.30.40"});
  auto r = world.resolve("closed.example", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->route, Route::kStaticOverride);
  EXPECT_EQ(r->targets, targets({{"127.0.0.1", 8448}}));
  EXPECT_EQ(r->tls_name, "closed.example");
  EXPECT_EQ(r->host_header, "closed.example");
  EXPECT_TRUE(world.asked.empty());
  EXPECT_TRUE(world.fetched.empty());

  // A DNS-named override is resolved; its answers still pass the guard.
  r = world.resolve("named.example", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ssrf_refused");
  options.guard = AddressGuard::from_strings({"10.20.0.0/16"}).value();
  r = world.resolve("named.example", options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets, targets({{"10.20.30.40", 9443}}));
  EXPECT_EQ(r->tls_name, "peer-cert.example");
  EXPECT_EQ(r->host_header, "named.example");
}

TEST_F(ResolutionTest, NoAddressAndDnsErrorsAreDistinguished) {
  auto r = world.resolve("nowhere.example:8448", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "no_address");
  world.dns[{"flaky.example", DnsType::kA}] = dns_error("servfail");
  r = world.resolve("flaky.example:8448", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "dns_error");
}

TEST_F(ResolutionTest, LogTellsTheStory) {
  world.a("example.org", {"93.184.216.34"});
  world.well_known("example.org", reply(200, R"({"m.server":"matrix.example.org"})"));
  world.dns[{"_matrix-fed._tcp.matrix.example.org", DnsType::kSrv}] =
      srv({{10, 0, 8449, "fed.hosting.example"}});
  world.a("fed.hosting.example", {"93.184.216.60"});
  std::vector<std::string> log;
  auto r = world.resolve("example.org", options, std::nullopt, &log);
  ASSERT_TRUE(r.ok());
  ASSERT_GE(log.size(), 5u);
  EXPECT_EQ(log.front(), "step 3: fetching https://example.org/.well-known/matrix/server");
  EXPECT_EQ(log.back(),
            "result (delegated_srv): connect 93.184.216.60:8449; TLS name matrix.example.org; "
            "Host matrix.example.org");
}

TEST_F(ResolutionTest, TargetNamesKeepOnlySrvTargetsThatPassedTheGuard) {
  world.dns[{"_matrix-fed._tcp.example.org", DnsType::kSrv}] =
      srv({{0, 0, 8448, "internal.example"}, {10, 0, 8449, "public.example"}});
  world.a("internal.example", {"10.1.2.3"});
  world.a("public.example", {"93.184.216.70"});
  auto r = world.resolve("example.org", options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->targets, targets({{"93.184.216.70", 8449}}));
  EXPECT_EQ(r->target_names, (std::vector<NamedTarget>{{"public.example", 8449}}));
}

}  // namespace
}  // namespace bordergate::discovery
