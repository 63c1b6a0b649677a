// The audit: and quarantine: sections of the configuration: defaults inside
// state_dir, relative paths, the fsync forms, and each kind of mistake.
#include <gtest/gtest.h>

#include <string>

#include "gateway/config/config_loader.h"
#include "tests/unit/config/minimal_config.h"

namespace bordergate {
namespace {

const std::string kBase = minimal_config("/var/lib/bg");

ConfigLoadResult load(const std::string& extra) {
  // The enforcement switch goes last, so the line numbers of `extra` stay as written.
  return load_config_text(kBase + extra + "inbound_enforcement: pass_through\n",
                          "/etc/bg/test.yaml");
}

TEST(EvidenceConfig, DefaultsLiveInStateDir) {
  ConfigLoadResult r = load("");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_EQ(r.config->audit.path, "/var/lib/bg/audit.log");
  EXPECT_EQ(r.config->audit.fsync, AuditConfig::Fsync::interval);
  EXPECT_EQ(r.config->audit.fsync_interval, Millis(100));
  EXPECT_EQ(r.config->audit.queue_records, 65536u);
  EXPECT_EQ(r.config->quarantine.path, "/var/lib/bg/quarantine.db");
  EXPECT_EQ(r.config->quarantine.max_bytes, 1ULL << 30);
}

TEST(EvidenceConfig, ExplicitValues) {
  struct Case {
    const char* yaml;
    AuditConfig::Fsync fsync;
    Millis interval;
  };
  const Case cases[] = {
      {"audit:\n  fsync: always\n", AuditConfig::Fsync::always, Millis(100)},
      {"audit:\n  fsync: never\n", AuditConfig::Fsync::never, Millis(100)},
      {"audit:\n  fsync: 250ms\n", AuditConfig::Fsync::interval, Millis(250)},
      {"audit:\n  fsync: 1s\n", AuditConfig::Fsync::interval, Millis(1000)},
  };
  for (const Case& c : cases) {
    ConfigLoadResult r = load(c.yaml);
    ASSERT_TRUE(r.errors.empty()) << c.yaml << r.errors.front().to_string();
    EXPECT_EQ(r.config->audit.fsync, c.fsync) << c.yaml;
    EXPECT_EQ(r.config->audit.fsync_interval, c.interval) << c.yaml;
  }
  ConfigLoadResult r = load(
      "audit:\n  path: logs/audit.jsonl\n  queue_records: 1024\nquarantine:\n  path: "
      "/srv/q.db\n  max_bytes: 0\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_EQ(r.config->audit.path, "/var/lib/bg/logs/audit.jsonl");
  EXPECT_EQ(r.config->audit.queue_records, 1024u);
  EXPECT_EQ(r.config->quarantine.path, "/srv/q.db");
  EXPECT_EQ(r.config->quarantine.max_bytes, 0u);
}

TEST(EvidenceConfig, MistakesAreReportedWithPosition) {
  struct Case {
    const char* yaml;
    const char* message;
    int line;
  };
  const Case cases[] = {
      {"audit:\n  fsync: sometimes\n", "'fsync' must be always, never or a duration", 17},
      {"audit:\n  fsync: 0ms\n", "'fsync' must be always, never or a duration", 17},
      {"audit:\n  fsync: 2m\n", "'fsync' must be always, never or a duration", 17},
      {"audit:\n  queue_records: 3\n", "'queue_records' must be between 16", 17},
      {"audit:\n  path: \"\"\n", "'path' must not be empty", 17},
      {"audit:\n  rotate: daily\n", "unknown key 'rotate' in audit", 17},
      {"audit: yes\n", "audit must be a mapping", 16},
      {"quarantine:\n  max_bytes: -1\n", "'max_bytes' must be a non-negative integer", 17},
      {"quarantine:\n  dir: x\n", "unknown key 'dir' in quarantine", 17},
  };
  for (const Case& c : cases) {
    ConfigLoadResult r = load(c.yaml);
    ASSERT_EQ(r.errors.size(), 1u) << c.yaml;
    EXPECT_EQ(r.config, nullptr);
    EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos)
        << c.yaml << " -> " << r.errors[0].message;
    EXPECT_EQ(r.errors[0].line, c.line) << c.yaml;
  }
}

}  // namespace
}  // namespace bordergate
