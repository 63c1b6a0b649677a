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
  VerifyReport r = verify_files({path}, {true, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.records, 6u);
  EXPECT_EQ(r.first_seq, 0u);
  EXPECT_EQ(r.last_seq, 5u);
  EXPECT_EQ(r.anchor_prev, kGenesisPrev);
  EXPECT_EQ(r.head, sha256_hex(read_lines(path).back()));
  // The head anchors the end: the same file verifies against it.
  VerifyOptions anchored{true, r.head};
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
       {true, {}},
       4,
       "prev_mismatch",
       3},
      {"edit the seq",
       [&](auto& l) { replace(l[2], "\"seq\":2", "\"seq\":7"); },
       {true, {}},
       3,
       "seq_mismatch",
       7},
      {"delete a line", [](auto& l) { l.erase(l.begin() + 2); }, {true, {}}, 3, "seq_mismatch", 3},
      {"reorder two lines",
       [](auto& l) { std::swap(l[2], l[3]); },
       {true, {}},
       3,
       "seq_mismatch",
       3},
      {"repeat a line",
       [](auto& l) { l.insert(l.begin() + 3, l[2]); },
       {true, {}},
       4,
       "seq_mismatch",
       2},
      {"garbage line", [](auto& l) { l[4] = "hello"; }, {true, {}}, 5, "not_json", 0},
      {"delete the genesis", [](auto& l) { l.erase(l.begin()); }, {true, {}}, 1, "bad_genesis", 1},
      {"forged genesis",
       [&](auto& l) { replace(l[0], "chain_start", "decision"); },
       {false, {}},
       1,
       "bad_genesis",
       0},
      {"recomputed prev is still caught by the next link",
       [&](auto& l) {
         replace(l[3], "remote2", "remote9");
         replace(l[4], l[4].substr(l[4].find("\"prev\":\"") + 8, 64), sha256_hex(l[3]));
       },
       {true, {}},
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
  r = verify_files({path}, {true, {}});
  EXPECT_TRUE(r.intact);
  EXPECT_EQ(r.last_seq, 4u);
  r = verify_files({path}, {true, head});
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

  VerifyReport r = verify_files({path}, {true, head});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_TRUE(r.expected_head_found);
  EXPECT_EQ(r.expected_head_seq, 5u);
  EXPECT_EQ(r.last_seq, 8u);
  EXPECT_NE(r.head, head);

  // Cut before the recorded head: the rest is a valid chain, the head is not in it.
  std::vector<std::string> lines = grown;
  lines.resize(5);
  write_lines(path, lines);
  EXPECT_TRUE(verify_files({path}, {true, {}}).intact);
  r = verify_files({path}, {true, head});
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
  EXPECT_TRUE(verify_files({path}, {true, {}}).intact);
  r = verify_files({path}, {true, head});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.problem, "head_mismatch");

  // A head that never was one (say, of another gateway's chain).
  write_lines(path, grown);
  r = verify_files({path}, {true, std::string(64, 'a')});
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
  VerifyReport r = verify_files({path}, {true, {}});
  EXPECT_TRUE(r.intact) << r.problem << " " << r.detail;
  EXPECT_EQ(r.last_seq, 7u);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find(":7: 19 bytes of a record torn"), std::string::npos) << r.notes[0];

  // The same garbage without the recovery record is a broken chain.
  lines.erase(lines.begin() + 7);
  write_lines(path, lines);
  r = verify_files({path}, {true, {}});
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
  EXPECT_TRUE(verify_files({dir.file("a.log"), dir.file("b.log")}, {true, {}}).intact);
  // In the wrong order the link breaks at the start of the second file.
  VerifyReport r = verify_files({dir.file("b.log"), dir.file("a.log")}, {false, {}});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.file, dir.file("a.log"));
  EXPECT_EQ(r.line, 1u);
  EXPECT_EQ(r.problem, "seq_mismatch");
  // A later file alone verifies only when it may start mid-chain.
  r = verify_files({dir.file("b.log")}, {false, {}});
  EXPECT_TRUE(r.intact);
  EXPECT_EQ(r.first_seq, 3u);
  EXPECT_EQ(r.anchor_prev, sha256_hex(lines[2]));
  EXPECT_FALSE(verify_files({dir.file("b.log")}, {true, {}}).intact);
}

}  // namespace
}  // namespace bordergate::audit
