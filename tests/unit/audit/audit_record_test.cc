// The record format: exact member order and escaping, RFC 3339 times, and
// the chain fields the verifier reads back.
#include "gateway/audit/audit_record.h"

#include <gtest/gtest.h>

#include "gateway/audit/audit_chain.h"
#include "gateway/matrix/json.h"

namespace bordergate::audit {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST(AuditRecord, TimeIsRfc3339UtcWithMilliseconds) {
  struct Case {
    std::int64_t ms;
    const char* text;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1795851062123, "2026-11-28T07:31:02.123Z"},
      {951782400999, "2000-02-29T00:00:00.999Z"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(format_time(system_clock::time_point(milliseconds(c.ms))), c.text);
  }
}

TEST(AuditRecord, MembersInFixedOrderEmptyOnesLeftOut) {
  AuditRecord r;
  r.time = system_clock::time_point(milliseconds(1795851062123));
  r.direction = "inbound";
  r.origin = "remote.example";
  r.destination = "core.example";
  r.method = "PUT";
  r.endpoint = "send";
  r.txn_id = "t1";
  r.event_ids = {"$a", "$b"};
  r.event_types = {"m.room.message", "m.room.member"};
  r.edu_types = {"m.typing"};
  r.action = "quarantine";
  r.rule_id = "content.no-files";
  r.reason = "event_type_denied";
  r.status = 200;
  r.request_bytes = 1234;
  r.latency_us = 870;
  r.quarantine_id = "q-0011223344556677";
  std::string out;
  append_record_members(out, r);
  EXPECT_EQ(out,
            ",\"time\":\"2026-11-28T07:31:02.123Z\",\"type\":\"decision\",\"direction\":"
            "\"inbound\",\"origin\":\"remote.example\",\"destination\":\"core.example\","
            "\"method\":\"PUT\",\"endpoint\":\"send\",\"txn_id\":\"t1\",\"event_ids\":[\"$a\","
            "\"$b\"],\"event_types\":[\"m.room.message\",\"m.room.member\"],\"edu_types\":["
            "\"m.typing\"],\"action\":\"quarantine\",\"rule_id\":\"content.no-files\","
            "\"reason\":\"event_type_denied\",\"status\":200,\"request_bytes\":1234,"
            "\"latency_us\":870,\"quarantine_id\":\"q-0011223344556677\"}");
}

TEST(AuditRecord, HostileStringsStayOneValidJsonLine) {
  AuditRecord r;
  r.room_id = std::string("!evil\n\"},{\"action\":\"forward\"\x01") + "\xff\xfe";
  r.user_id = "@ü:example.org";  // valid UTF-8 passes unchanged
  ChainHead head;
  std::string members;
  append_record_members(members, r);
  const std::string line = seal_line(head, members);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  Result<matrix::Json> parsed = matrix::parse_json(line);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed->find("room_id")->string_if(),
            std::string("!evil\n\"},{\"action\":\"forward\"\x01") + "\u00ff\u00fe");
  EXPECT_EQ(*parsed->find("user_id")->string_if(), "@ü:example.org");
  EXPECT_EQ(parsed->find("action"), nullptr);
}

TEST(AuditRecord, NotesOfDifferentSourcesAreJoinedBySemicolons) {
  std::string note;
  append_note(note, "");
  EXPECT_EQ(note, "");
  append_note(note, "listener=connect_tls");
  EXPECT_EQ(note, "listener=connect_tls");
  note = "sni=a.example host=a.example";
  append_note(note, "listener=connect_tls");
  EXPECT_EQ(note, "sni=a.example host=a.example; listener=connect_tls");
  append_note(note, "");
  EXPECT_EQ(note, "sni=a.example host=a.example; listener=connect_tls");
}

TEST(AuditChain, SealLinksEachLineToTheHashOfThePrevious) {
  ChainHead head;
  const std::string first = seal_line(head, ",\"type\":\"chain_start\"}");
  EXPECT_EQ(first, std::string("{\"seq\":0,\"prev\":\"") + std::string(kGenesisPrev) +
                       "\",\"type\":\"chain_start\"}");
  const std::string second = seal_line(head, ",\"type\":\"decision\"}");
  EXPECT_EQ(second, "{\"seq\":1,\"prev\":\"" + sha256_hex(first) + "\",\"type\":\"decision\"}");
  EXPECT_EQ(head.next_seq, 2u);
  EXPECT_EQ(head.last_hash, sha256_hex(second));
  // Known answer: SHA-256("abc").
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditChain, ParseChainFields) {
  struct Case {
    std::string line;
    const char* error;  // nullptr: parses
  };
  const std::string zeros(kGenesisPrev);
  const Case cases[] = {
      {"{\"seq\":3,\"prev\":\"" + zeros + "\",\"type\":\"decision\"}", nullptr},
      {"{\"seq\":3,\"prev\":\"" + zeros + "\"", "not_json"},
      {"[1,2]", "not_object"},
      {"{\"prev\":\"" + zeros + "\"}", "bad_seq"},
      {"{\"seq\":-1,\"prev\":\"" + zeros + "\"}", "bad_seq"},
      {"{\"seq\":\"3\",\"prev\":\"" + zeros + "\"}", "bad_seq"},
      {"{\"seq\":3}", "bad_prev"},
      {"{\"seq\":3,\"prev\":\"" + zeros.substr(1) + "\"}", "bad_prev"},
      {"{\"seq\":3,\"prev\":\"" + std::string(64, 'A') + "\"}", "bad_prev"},
      {"{\"seq\":3,\"seq\":4,\"prev\":\"" + zeros + "\"}", "not_json"},  // duplicate key
  };
  for (const Case& c : cases) {
    Result<ChainFields> f = parse_chain_fields(c.line);
    if (c.error == nullptr) {
      ASSERT_TRUE(f.ok()) << c.line << ": " << f.error().message;
      EXPECT_EQ(f->seq, 3u);
      EXPECT_EQ(f->type, "decision");
    } else {
      ASSERT_FALSE(f.ok()) << c.line;
      EXPECT_EQ(f.error().code, c.error) << c.line;
    }
  }
}

}  // namespace
}  // namespace bordergate::audit
