// Reading a policy file: the digest is SHA-256 of exactly the bytes compiled (what sha256sum
// prints), unreadable and oversized files are one error each, a policy for another server is
// refused, and a load becomes a policy_load audit record.
#include "gateway/enforcement/policy_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gateway/audit/audit_chain.h"

namespace bordergate::enforcement {
namespace {

constexpr const char* kPolicy =
    "version: 1\nrevision: \"2026-12-07 CAB-42\"\nserver_name: core.example\n"
    "federations: {p: {servers: [p.example]}}\n"
    "rules:\n  - {id: r, federation: p, endpoints: [send], action: allow}\n";

class PolicyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("policy_file_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(PolicyFileTest, DigestIsOfTheBytesCompiled) {
  const std::string path = write("policy.yaml", kPolicy);
  PolicyFile f = load_policy_file(path);
  ASSERT_TRUE(f.output.ok());
  EXPECT_EQ(f.sha256, audit::sha256_hex(kPolicy));
  EXPECT_EQ(f.output.policy->sha256, f.sha256);
  EXPECT_EQ(f.output.policy->revision, "2026-12-07 CAB-42");
  EXPECT_EQ(f.output.policy->source, path);
  // One byte more (a comment) is another policy as far as evidence goes.
  PolicyFile g = load_policy_file(write("commented.yaml", std::string(kPolicy) + "# note\n"));
  ASSERT_TRUE(g.output.ok());
  EXPECT_NE(g.sha256, f.sha256);
}

TEST_F(PolicyFileTest, FailuresAreOneErrorEach) {
  struct Case {
    const char* name;
    std::string path;
    const char* code;     // of the diagnostic
    bool digested;        // the bytes were read (and so have a digest)
    const char* refusal;  // load_policy_for's error code
  };
  const Case cases[] = {
      {"missing", (dir_ / "absent.yaml").string(), "cannot_read", false, "policy_invalid"},
      {"directory", dir_.string(), "cannot_read", false, "policy_invalid"},
      {"oversized", write("big.yaml", std::string(kMaxPolicyFileBytes + 1, '#')), "too_large",
       false, "policy_invalid"},
      {"invalid", write("bad.yaml", std::string(kPolicy) + "bogus: 1\n"), "unknown_key", true,
       "policy_invalid"},
  };
  for (const Case& c : cases) {
    PolicyFile f = load_policy_file(c.path);
    EXPECT_FALSE(f.output.ok()) << c.name;
    ASSERT_FALSE(f.output.diagnostics.empty()) << c.name;
    EXPECT_EQ(f.output.diagnostics.front().code, c.code) << c.name;
    EXPECT_EQ(!f.sha256.empty(), c.digested) << c.name;
    auto p = load_policy_for(f, "core.example");
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_EQ(p.error().code, c.refusal) << c.name;
    EXPECT_EQ(p.error().message.rfind("policy: ", 0), 0u) << c.name;  // ready to print
  }
}

TEST_F(PolicyFileTest, WrongServerIsRefused) {
  PolicyFile f = load_policy_file(write("policy.yaml", kPolicy));
  auto p = load_policy_for(f, "other.example");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, "policy_server_name");
  EXPECT_NE(p.error().message.find("'core.example'"), std::string::npos) << p.error().message;
  EXPECT_TRUE(load_policy_for(f, "core.example").ok());
}

TEST(PolicyLoadRecord, NamesEverythingAnAuditorAsks) {
  PolicyLoadEvent e;
  e.trigger = "SIGHUP";
  e.actor = "pid 4242 (systemctl), uid 0 (root)";
  e.file = "/etc/bordergate/policy.yaml";
  e.sha256 = std::string(64, 'a');
  e.loaded = false;
  e.reason = "policy_invalid";
  e.error = "policy.yaml:3:1: error: unknown key `x`";
  audit::AuditRecord r = policy_load_record(e);
  std::string members;
  audit::append_record_members(members, r);
  for (const char* want :
       {"\"type\":\"policy_load\"", "\"action\":\"refused\"", "\"reason\":\"policy_invalid\"",
        "\"trigger\":\"SIGHUP\"", "\"actor\":\"pid 4242 (systemctl), uid 0 (root)\"",
        "\"policy_file\":\"/etc/bordergate/policy.yaml\"", "\"note\":\"policy.yaml:3:1: error"}) {
    EXPECT_NE(members.find(want), std::string::npos) << want << " in " << members;
  }
  EXPECT_NE(members.find(std::string(64, 'a')), std::string::npos);
  e.loaded = true;
  e.revision = "r1";
  EXPECT_EQ(policy_load_record(e).action, "loaded");
  EXPECT_EQ(policy_load_record(e).policy_revision, "r1");
}

TEST(Describe, UidAndPid) {
  EXPECT_EQ(describe_uid(0), "uid 0 (root)");
  EXPECT_EQ(describe_pid(getpid()).rfind("pid " + std::to_string(getpid()) + " (", 0), 0u);
  EXPECT_EQ(describe_pid(0), "pid 0");  // the kernel: no command name
}

}  // namespace
}  // namespace bordergate::enforcement
