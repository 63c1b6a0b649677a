// audit verify: an intact chain passes; every kind of tampering is found at
// the first broken record, with its line, seq and a stable problem code.
#include "gateway/audit/audit_verify.h"

#include <gtest/gtest.h>

#include <functional>

#include "gateway/audit/audit_file.h"
#include "gateway/audit/audit_record.h"
#include "tests/unit/audit/test_files.h"

namespace bordergate::audit {
namespace {

using testing::read_lines;
using testing::ScratchDir;
using testing::write_lines;

// chain_start + 5 decisions: lines 1..6, seq 0..5.
std::string make_chain(const ScratchDir& dir, const std::string& name = "audit.log") {
  const std::string path = dir.file(name);
  Result<std::unique_ptr<AuditFile>> file = AuditFile::open(path);
  EXPECT_TRUE(file.ok());
  std::vector<std::string> members;
  for (int i = 0; i < 5; ++i) {
    AuditRecord r;
    r.origin = "remote" + std::to_string(i) + ".example";
    r.action = i % 2 ? "deny" : "forward";
    r.rule_id = "rule." + std::to_string(i);
    std::string m;
    append_record_members(m, r);
    members.push_back(std::move(m));
  }
  Result<size_t> n = (*file)->append(members, true);
  EXPECT_TRUE(n.ok());
  EXPECT_EQ(*n, 6u);
  return path;
}

TEST(AuditVerify, IntactChainPasses) {
  ScratchDir dir;
  const std::string path = make_chain(dir);
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.records, 6u);
  EXPECT_EQ(r.first_seq, 0u);
  EXPECT_EQ(r.last_seq, 5u);
  EXPECT_EQ(r.anchor_prev, kGenesisPrev);
  EXPECT_EQ(r.head, sha256_hex(read_lines(path).back()));
  // The head anchors the end: the same file verifies against it.
  VerifyOptions anchored{true, r.head, {}};
  EXPECT_TRUE(verify_files({path}, anchored).intact);
}

struct TamperCase {
  const char* name;
  std::function<void(std::vector<std::string>&)> tamper;
  VerifyOptions options;
  std::uint64_t line;
  const char* problem;
  std::uint64_t seq;
};

TEST(AuditVerify, TamperingIsFoundAtTheFirstBrokenRecord) {
  auto replace = [](std::string& s, const std::string& from, const std::string& to) {
    s.replace(s.find(from), from.size(), to);
  };
  const TamperCase cases[] = {
      {"edit a field",
       [&](auto& l) { replace(l[2], "\"deny\"", "\"forward\""); },
       {true, {}, {}},
       4,
       "prev_mismatch",
       3},
      {"edit the seq",
       [&](auto& l) { replace(l[2], "\"seq\":2", "\"seq\":7"); },
       {true, {}, {}},
       3,
       "seq_mismatch",
       7},
      {"delete a line",
       [](auto& l) { l.erase(l.begin() + 2); },
       {true, {}, {}},
       3,
       "seq_mismatch",
       3},
      {"reorder two lines",
       [](auto& l) { std::swap(l[2], l[3]); },
       {true, {}, {}},
       3,
       "seq_mismatch",
       3},
      {"repeat a line",
       [](auto& l) { l.insert(l.begin() + 3, l[2]); },
       {true, {}, {}},
       4,
       "seq_mismatch",
       2},
      {"garbage line", [](auto& l) { l[4] = "hello"; }, {true, {}, {}}, 5, "not_json", 0},
      {"delete the genesis",
       [](auto& l) { l.erase(l.begin()); },
       {true, {}, {}},
       1,
       "bad_genesis",
       1},
      {"forged genesis",
       [&](auto& l) { replace(l[0], "chain_start", "decision"); },
       {false, {}, {}},
       1,
       "bad_genesis",
       0},
      {"recomputed prev is still caught by the next link",
       [&](auto& l) {
         replace(l[3], "remote2", "remote9");
         replace(l[4], l[4].substr(l[4].find("\"prev\":\"") + 8, 64), sha256_hex(l[3]));
       },
       {true, {}, {}},
       6,
       "prev_mismatch",
       5},
  };
  for (const TamperCase& c : cases) {
    ScratchDir dir;
    const std::string path = make_chain(dir);
    std::vector<std::string> lines = read_lines(path);
    c.tamper(lines);
    write_lines(path, lines);
    VerifyReport r = verify_files({path}, c.options);
    EXPECT_FALSE(r.intact) << c.name;
    EXPECT_EQ(r.problem, c.problem) << c.name << ": " << r.detail;
    EXPECT_EQ(r.line, c.line) << c.name;
    EXPECT_EQ(r.seq, c.seq) << c.name;
    EXPECT_EQ(r.file, path) << c.name;
  }
}

TEST(AuditVerify, TruncationInsideARecordAndAtTheEnd) {
  ScratchDir dir;
  const std::string path = make_chain(dir);
  const std::string intact = testing::read_all(path);
  const std::string head = verify_files({path}, {}).head;

  // Cut in the middle of the last record.
  testing::write_all(path, intact.substr(0, intact.size() - 20));
  VerifyReport r = verify_files({path}, {});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.problem, "truncated");
  EXPECT_EQ(r.line, 6u);

  // Whole trailing records removed: the chain alone cannot tell, the
  // recorded head can.
  std::vector<std::string> lines = read_lines(dir.file("audit.log"));
  testing::write_all(path, intact);
  lines = read_lines(path);
  lines.pop_back();
  write_lines(path, lines);
  r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact);
  EXPECT_EQ(r.last_seq, 4u);
  r = verify_files({path}, {true, head, {}});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.problem, "head_mismatch");

  testing::write_all(path, "");
  r = verify_files({path}, {});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.problem, "empty");
  r = verify_files({dir.file("missing.log")}, {});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.problem, "unreadable");
}

// A head recorded at shutdown (audit_log_closed) stays checkable after a restart has grown the
// chain: it must be a record of the chain, not its end.
TEST(AuditVerify, RecordedHeadInsideALongerChain) {
  ScratchDir dir;
  const std::string path = make_chain(dir);
  const std::string head = verify_files({path}, {}).head;
  {
    // A second process (the restarted gateway) appends writer_opened and two decisions.
    Result<std::unique_ptr<AuditFile>> file = AuditFile::open(path);
    ASSERT_TRUE(file.ok());
    std::string m;
    append_record_members(m, AuditRecord{});
    ASSERT_TRUE((*file)->append({m, m}, true).ok());
  }
  const std::vector<std::string> grown = read_lines(path);
  ASSERT_EQ(grown.size(), 9u);

  VerifyReport r = verify_files({path}, {true, head, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_TRUE(r.expected_head_found);
  EXPECT_EQ(r.expected_head_seq, 5u);
  EXPECT_EQ(r.last_seq, 8u);
  EXPECT_NE(r.head, head);

  // Cut before the recorded head: the rest is a valid chain, the head is not in it.
  std::vector<std::string> lines = grown;
  lines.resize(5);
  write_lines(path, lines);
  EXPECT_TRUE(verify_files({path}, {true, {}, {}}).intact);
  r = verify_files({path}, {true, head, {}});
  EXPECT_FALSE(r.intact);
  EXPECT_FALSE(r.expected_head_found);
  EXPECT_EQ(r.problem, "head_mismatch");

  // The recorded record edited and every later prev recomputed: the head is gone as well.
  lines = grown;
  lines[5].replace(lines[5].find("remote4"), 7, "remote8");
  for (std::size_t i = 6; i < lines.size(); ++i) {
    lines[i].replace(lines[i].find("\"prev\":\"") + 8, 64, sha256_hex(lines[i - 1]));
  }
  write_lines(path, lines);
  EXPECT_TRUE(verify_files({path}, {true, {}, {}}).intact);
  r = verify_files({path}, {true, head, {}});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.problem, "head_mismatch");

  // A head that never was one (say, of another gateway's chain).
  write_lines(path, grown);
  r = verify_files({path}, {true, std::string(64, 'a'), {}});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.problem, "head_mismatch");
}

TEST(AuditVerify, TornLineNeedsAMatchingRecoveryRecord) {
  ScratchDir dir;
  const std::string path = make_chain(dir);
  // A crash mid-write leaves a torn line; the next writer terminates it and
  // says so in a recovery record.
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "{\"seq\":6,\"prev\":\"ab";
  }
  {
    Result<std::unique_ptr<AuditFile>> file = AuditFile::open(path);
    ASSERT_TRUE(file.ok());
    std::string m;
    append_record_members(m, AuditRecord{});
    ASSERT_TRUE((*file)->append({m}, true).ok());
  }
  std::vector<std::string> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_NE(lines[7].find("\"type\":\"recovery\",\"torn_bytes\":19"), std::string::npos);
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << " " << r.detail;
  EXPECT_EQ(r.last_seq, 7u);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find(":7: 19 bytes of a record torn"), std::string::npos) << r.notes[0];

  // The same garbage without the recovery record is a broken chain.
  lines.erase(lines.begin() + 7);
  write_lines(path, lines);
  r = verify_files({path}, {true, {}, {}});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.line, 7u);
  EXPECT_EQ(r.problem, "not_json");
}

TEST(AuditVerify, SequenceOfFilesIsOneChain) {
  ScratchDir dir;
  const std::string path = make_chain(dir);
  std::vector<std::string> lines = read_lines(path);
  write_lines(dir.file("a.log"), {lines.begin(), lines.begin() + 3});
  write_lines(dir.file("b.log"), {lines.begin() + 3, lines.end()});
  EXPECT_TRUE(verify_files({dir.file("a.log"), dir.file("b.log")}, {true, {}, {}}).intact);
  // In the wrong order the link breaks at the start of the second file.
  VerifyReport r = verify_files({dir.file("b.log"), dir.file("a.log")}, {false, {}, {}});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.file, dir.file("a.log"));
  EXPECT_EQ(r.line, 1u);
  EXPECT_EQ(r.problem, "seq_mismatch");
  // A later file alone verifies only when it may start mid-chain.
  r = verify_files({dir.file("b.log")}, {false, {}, {}});
  EXPECT_TRUE(r.intact);
  EXPECT_EQ(r.first_seq, 3u);
  EXPECT_EQ(r.anchor_prev, sha256_hex(lines[2]));
  EXPECT_FALSE(verify_files({dir.file("b.log")}, {true, {}, {}}).intact);
}

// Which policy decided: loads (successful and refused) and decisions carrying digests, over
// ranges of the chain. Digests are short stand-ins here; the verifier compares them as text.
std::string make_policy_chain(const ScratchDir& dir) {
  struct Line {
    const char* type;
    const char* action;
    const char* digest;
    const char* time;
  };
  // seq 0 is chain_start; these are seq 1..9.
  const Line lines[] = {
      {"policy_load", "loaded", "aaaa", "2026-12-01T08:00:00.000Z"},   // 1
      {"decision", "forward", "aaaa", "2026-12-01T09:00:00.000Z"},     // 2
      {"decision", "deny", "aaaa", "2026-12-02T09:00:00.000Z"},        // 3
      {"policy_load", "refused", "bbbb", "2026-12-03T08:00:00.000Z"},  // 4
      {"decision", "forward", "aaaa", "2026-12-03T09:00:00.000Z"},     // 5
      {"policy_load", "loaded", "cccc", "2026-12-04T08:00:00.000Z"},   // 6
      {"decision", "forward", "cccc", "2026-12-04T09:00:00.000Z"},     // 7
      {"decision", "deny", "", "2026-12-05T09:00:00.000Z"},            // 8: no policy
      {"decision", "forward", "dddd", "2026-12-06T09:00:00.000Z"},     // 9: never loaded
  };
  const std::string path = dir.file("policies.log");
  Result<std::unique_ptr<AuditFile>> file = AuditFile::open(path);
  EXPECT_TRUE(file.ok());
  std::vector<std::string> members;
  for (const Line& l : lines) {
    AuditRecord r;
    r.type = l.type;
    r.action = l.action;
    r.policy_sha256 = l.digest;
    if (r.type == "policy_load") {
      r.policy_file = "/etc/bordergate/policy.yaml";
      r.trigger = "SIGHUP";
      if (r.action == "refused") r.reason = "policy_invalid";
    }
    std::string m;
    append_record_members(m, r);
    // The record's time is "now"; the fixture needs its own.
    const auto at = m.find("\"time\":\"") + 8;
    m.replace(at, 24, l.time);
    members.push_back(std::move(m));
  }
  EXPECT_TRUE((*file)->append(members, true).ok());
  return path;
}

TEST(AuditVerify, PolicySummaryOverRanges) {
  ScratchDir dir;
  const std::string path = make_policy_chain(dir);
  struct Case {
    const char* name;
    RecordRange range;
    const char* in_force_at_start;       // "" = none
    std::vector<std::string> loads;      // "<seq>:<result>"
    std::vector<std::string> decisions;  // "<digest>:<count>:<first>..<last>:<loaded_by seq|->"
    std::uint64_t without_policy;
  };
  const Case cases[] = {
      {"everything",
       {},
       "",
       {"1:loaded", "4:refused", "6:loaded"},
       {"aaaa:3:2..5:1", "cccc:1:7..7:6", "dddd:1:9..9:-"},
       1},
      {"from seq 5",
       {5, std::nullopt, "", ""},
       "aaaa",
       {"6:loaded"},
       {"aaaa:1:5..5:1", "cccc:1:7..7:6", "dddd:1:9..9:-"},
       1},
      {"seq 2..3", {2, 3, "", ""}, "aaaa", {}, {"aaaa:2:2..3:1"}, 0},
      {"a day",
       {std::nullopt, std::nullopt, "2026-12-04T00:00:00.000Z", "2026-12-04T23:59:59.999Z"},
       "aaaa",
       {"6:loaded"},
       {"cccc:1:7..7:6"},
       0},
      {"nothing in range", {100, std::nullopt, "", ""}, "", {}, {}, 0},
  };
  for (const Case& c : cases) {
    VerifyOptions options{true, {}, c.range};
    VerifyReport r = verify_files({path}, options);
    ASSERT_TRUE(r.intact) << c.name << ": " << r.detail;
    const PolicySummary& p = r.policies;
    EXPECT_EQ(p.in_force_at_start ? p.in_force_at_start->sha256 : "", c.in_force_at_start)
        << c.name;
    std::vector<std::string> loads, decisions;
    for (const PolicyLoad& l : p.loads) loads.push_back(std::to_string(l.seq) + ":" + l.result);
    for (const PolicyDecisions& d : p.decisions) {
      decisions.push_back(d.sha256 + ":" + std::to_string(d.decisions) + ":" +
                          std::to_string(d.first_seq) + ".." + std::to_string(d.last_seq) + ":" +
                          (d.loaded_by ? std::to_string(d.loaded_by->seq) : "-"));
    }
    EXPECT_EQ(loads, c.loads) << c.name;
    EXPECT_EQ(decisions, c.decisions) << c.name;
    EXPECT_EQ(p.decisions_without_policy, c.without_policy) << c.name;
  }
  // The refused load keeps what the chain said about it.
  VerifyReport all = verify_files({path}, {true, {}, {}});
  ASSERT_EQ(all.policies.loads.size(), 3u);
  const PolicyLoad& refused = all.policies.loads[1];
  EXPECT_EQ(refused.sha256, "bbbb");
  EXPECT_EQ(refused.reason, "policy_invalid");
  EXPECT_EQ(refused.file, "/etc/bordergate/policy.yaml");
  EXPECT_EQ(refused.trigger, "SIGHUP");
  EXPECT_EQ(refused.time, "2026-12-03T08:00:00.000Z");
}

TEST(RecordRange, TimeBoundsAreNormalised) {
  struct Case {
    const char* text;
    bool end;
    const char* want;  // nullptr: bad_time
  };
  const Case cases[] = {
      {"2026-12-01", false, "2026-12-01T00:00:00.000Z"},
      {"2026-12-01", true, "2026-12-01T23:59:59.999Z"},
      {"2026-12-01T10:05Z", false, "2026-12-01T10:05:00.000Z"},
      {"2026-12-01T10:05", true, "2026-12-01T10:05:59.999Z"},
      {"2026-12-01T10:05:07Z", true, "2026-12-01T10:05:07.999Z"},
      {"2026-12-01t10:05:07.250z", false, "2026-12-01T10:05:07.250Z"},
      {"yesterday", false, nullptr},
      {"2026-13-01", false, nullptr},
      {"2026-12-01T24:00Z", false, nullptr},
      {"2026-12-01T10:05:07.25Z", false, nullptr},
      {"2026-12-01T10:05+01:00", false, nullptr},
      {"2026-12-01 10:05", false, nullptr},
      {"", false, nullptr},
  };
  for (const Case& c : cases) {
    Result<std::string> r = normalize_time_bound(c.text, c.end);
    if (c.want == nullptr) {
      ASSERT_FALSE(r.ok()) << c.text << " -> " << *r;
      EXPECT_EQ(r.error().code, "bad_time");
    } else {
      ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().message;
      EXPECT_EQ(*r, c.want) << c.text;
    }
  }
  RecordRange range;
  EXPECT_FALSE(range.bounded());
  EXPECT_EQ(range.describe(), "every record");
  range.from_seq = 5;
  range.until = "2026-12-01T23:59:59.999Z";
  EXPECT_TRUE(range.contains(5, "2026-12-01T23:59:59.999Z"));
  EXPECT_FALSE(range.contains(4, "2026-12-01T10:00:00.000Z"));
  EXPECT_FALSE(range.contains(6, "2026-12-02T00:00:00.000Z"));
  EXPECT_TRUE(range.contains(6, ""));  // no time: only the seq bounds apply
  EXPECT_EQ(range.describe(), "seq 5..end, start..2026-12-01T23:59:59.999Z");
}

}  // namespace
}  // namespace bordergate::audit
