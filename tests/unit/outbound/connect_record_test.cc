// Proxy decisions become audit records that go through the real AuditLog and verify as a chain.
#include "gateway/outbound/connect_record.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/audit/audit_log.h"
#include "gateway/audit/audit_verify.h"

namespace bordergate::outbound {
namespace {

namespace fs = std::filesystem;

TEST(ProxyAuditRecordTest, FieldsForAdmittedAndRefusedConnects) {
  auto target = parse_connect_target("Remote.Example:8448");
  ASSERT_TRUE(target.ok());
  ProxyDecisionFacts admitted{.client_ip = "127.0.0.1",
                              .method = "CONNECT",
                              .target = "Remote.Example:8448",
                              .parsed = &*target,
                              .endpoint = "connect",
                              .allowed = true,
                              .rule_id = "partners-out",
                              .reason = "federation_destination",
                              .status = 200,
                              .latency = std::chrono::microseconds(42)};
  const auto a = proxy_audit_record(admitted);
  EXPECT_EQ("outbound", a.direction);
  EXPECT_EQ("Remote.Example", a.destination);
  EXPECT_EQ("Remote.Example:8448", a.server_name);
  EXPECT_EQ("forward", a.action);
  EXPECT_EQ("partners-out", a.rule_id);
  EXPECT_EQ(200, a.status);
  EXPECT_EQ(42u, a.latency_us);
  EXPECT_TRUE(a.origin.empty());

  const std::string long_target(1000, 'x');
  ProxyDecisionFacts garbage{.client_ip = "::1",
                             .method = "CONNECT",
                             .target = long_target,
                             .endpoint = "connect",
                             .rule_id = "default",
                             .reason = "connect_target_not_authority",
                             .status = 400,
                             .latency = std::nullopt};
  const auto g = proxy_audit_record(garbage);
  EXPECT_EQ("deny", g.action);
  EXPECT_EQ(255u, g.server_name.size());
  EXPECT_TRUE(g.destination.empty());
  EXPECT_FALSE(g.latency_us.has_value());
}

TEST(ProxyAuditRecordTest, ChainOfProxyDecisionsVerifies) {
  const fs::path dir =
      fs::temp_directory_path() / ("bg_outbound_audit_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "audit.log").string();
  {
    audit::AuditLogOptions o;
    o.path = path;
    o.fsync.kind = audit::FsyncPolicy::Kind::never;
    auto log = audit::AuditLog::open(o);
    ASSERT_TRUE(log.ok()) << log.error().message;
    auto target = parse_connect_target("push.example.org:443");
    ASSERT_TRUE(target.ok());
    for (const char* reason : {"proxy_credentials_missing", "egress_tunnel", "sni_mismatch"}) {
      ProxyDecisionFacts f{.client_ip = "127.0.0.1",
                           .method = "CONNECT",
                           .target = "push.example.org:443",
                           .parsed = &*target,
                           .endpoint = "connect",
                           .allowed = std::string_view(reason) == "egress_tunnel",
                           .rule_id = "rule",
                           .reason = reason,
                           .status = 403,
                           .latency = std::nullopt};
      EXPECT_TRUE((*log)->submit(proxy_audit_record(f)));
    }
    (*log)->flush();
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(std::string::npos, text.str().find(R"("reason":"sni_mismatch")"));
  EXPECT_NE(std::string::npos, text.str().find(R"("method":"CONNECT")"));
  audit::VerifyOptions options;
  options.require_genesis = true;
  const auto report = audit::verify_files({path}, options);
  EXPECT_TRUE(report.intact);
  EXPECT_GE(report.records, 4u);  // chain_start + 3 decisions
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bordergate::outbound
