// The facts of a decision survive the audit record: what facts_json writes, facts_from_json
// reads back to the same RequestFacts (so replay evaluates what the gateway evaluated), and
// records that are not what the gateway writes are refused, never half-read.
#include "gateway/enforcement/facts_json.h"

#include <gtest/gtest.h>

#include "policy/evaluate.h"
#include "policy/loader.h"

namespace bordergate::enforcement {
namespace {

using policy::CheckResult;

bool same(const policy::RequestFacts& a, const policy::RequestFacts& b) {
  auto pdus_equal = [](const policy::PduFacts& x, const policy::PduFacts& y) {
    return x.event_type == y.event_type && x.room_id == y.room_id && x.sender == y.sender &&
           x.hashes == y.hashes && x.signatures == y.signatures && x.too_large == y.too_large;
  };
  auto edus_equal = [](const policy::EduFacts& x, const policy::EduFacts& y) {
    return x.edu_type == y.edu_type && x.room_id == y.room_id && x.user_id == y.user_id &&
           x.origin_binding == y.origin_binding;
  };
  bool media = a.media.has_value() == b.media.has_value();
  if (media && a.media) {
    media = a.media->size == b.media->size && a.media->content_type == b.media->content_type;
  }
  return a.direction == b.direction && a.origin == b.origin && a.destination == b.destination &&
         a.endpoint == b.endpoint && a.room_id == b.room_id && a.user_id == b.user_id &&
         a.event_id == b.event_id && a.server_name == b.server_name &&
         a.invite_sender == b.invite_sender && a.invite_target == b.invite_target &&
         a.pdu_count == b.pdu_count && a.edu_count == b.edu_count && a.body_bytes == b.body_bytes &&
         a.x_matrix == b.x_matrix && a.room_servers == b.room_servers && media &&
         std::equal(a.pdus.begin(), a.pdus.end(), b.pdus.begin(), b.pdus.end(), pdus_equal) &&
         std::equal(a.edus.begin(), a.edus.end(), b.edus.begin(), b.edus.end(), edus_equal);
}

policy::RequestFacts full_send() {
  policy::RequestFacts f;
  f.direction = policy::Direction::inbound;
  f.origin = "remote.example";
  f.destination = "core.example";
  f.endpoint = policy::FederationEndpoint::send;
  f.body_bytes = 4096;
  f.x_matrix = CheckResult::passed;
  f.pdu_count = 2;
  f.edu_count = 1;
  f.pdus = {{"m.room.message", "!r:remote.example", "@a:remote.example", CheckResult::passed,
             CheckResult::passed, false},
            {"m.room.member", "!r:remote.example", "@b:remote.example", CheckResult::failed,
             CheckResult::not_run, true}};
  f.edus = {{"m.typing", "!r:remote.example", "@a:remote.example", CheckResult::passed}};
  f.room_servers = std::vector<std::string>{"remote.example", "core.example"};
  return f;
}

TEST(FactsJson, RoundTrips) {
  struct Case {
    const char* name;
    policy::RequestFacts facts;
  };
  std::vector<Case> cases;
  cases.push_back({"a full /send", full_send()});
  policy::RequestFacts unknown;
  unknown.endpoint = policy::FederationEndpoint::key_server;
  cases.push_back({"unknown origin, nothing else", unknown});
  policy::RequestFacts invite;
  invite.direction = policy::Direction::outbound;
  invite.origin = "core.example";
  invite.destination = "remote.example";
  invite.endpoint = policy::FederationEndpoint::invite;
  invite.room_id = "!r:core.example";
  invite.event_id = "$e";
  invite.invite_sender = "@a:core.example";
  invite.invite_target = "@b:remote.example";
  invite.room_servers = std::vector<std::string>{};  // known, and empty
  cases.push_back({"an outbound invite", invite});
  policy::RequestFacts media;
  media.origin = "remote.example";
  media.endpoint = policy::FederationEndpoint::media_download;
  media.media = policy::MediaFacts{1234, "image/png"};
  media.server_name = "remote.example";
  cases.push_back({"media", media});
  policy::RequestFacts hostile = full_send();
  hostile.pdus[0].event_type = "\"},{\"type\":\"x\u0001<script>";
  hostile.room_id = "!\xff\xfe:bad";  // not UTF-8: written as \u00XX, read back as text
  cases.push_back({"hostile strings", hostile});

  policy::Decision d;
  d.action = policy::Action::quarantine;
  d.rule_id = "hold";
  d.reason = "transaction_quarantined_by_content";
  for (const Case& c : cases) {
    const std::string text = facts_json(c.facts, d);
    auto json = matrix::parse_json(text);
    ASSERT_TRUE(json.ok()) << c.name << ": " << text;
    auto back = facts_from_json(*json);
    ASSERT_TRUE(back.ok()) << c.name << ": " << back.error().message;
    EXPECT_EQ(back->action, "quarantine") << c.name;
    EXPECT_EQ(back->rule, "hold") << c.name;
    EXPECT_EQ(back->reason, "transaction_quarantined_by_content") << c.name;
    if (std::string(c.name) == "hostile strings") {
      EXPECT_EQ(back->facts.pdus[0].event_type, c.facts.pdus[0].event_type);
      EXPECT_NE(back->facts.room_id, c.facts.room_id);  // the documented exception
      continue;
    }
    EXPECT_TRUE(same(back->facts, c.facts)) << c.name << ": " << text;
  }
}

TEST(FactsJson, LongRoomMembershipIsCutAndSaysSo) {
  policy::RequestFacts f = full_send();
  f.room_servers = std::vector<std::string>();
  for (std::size_t i = 0; i < kMaxRecordedRoomServers + 5; ++i)
    f.room_servers->push_back("s" + std::to_string(i) + ".example");
  auto json = matrix::parse_json(facts_json(f, policy::Decision{}));
  ASSERT_TRUE(json.ok());
  auto back = facts_from_json(*json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->facts.room_servers->size(), kMaxRecordedRoomServers);
  EXPECT_EQ(back->room_servers_total, kMaxRecordedRoomServers + 5);
}

TEST(FactsJson, RefusesWhatTheGatewayDoesNotWrite) {
  const char* cases[] = {
      R"([])",
      R"({"direction":"inbound","endpoint":"send","decided":{"action":"allow"}})",  // no v
      R"({"v":2,"direction":"inbound","endpoint":"send","decided":{"action":"allow"}})",
      R"({"v":1,"direction":"sideways","endpoint":"send","decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"nonsense","decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send"})",
      R"({"v":1,"direction":"inbound","endpoint":"send","decided":{"action":"maybe"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","origin":7,"decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","body_bytes":-1,"decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","x_matrix":"maybe","decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","pdus":{},"decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","pdus":[{"type":1}],"decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","edus":[7],"decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","room_servers":[1],"decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","pdu_count":5000000000,"decided":{"action":"allow"}})",
      R"({"v":1,"direction":"inbound","endpoint":"send","media":[],"decided":{"action":"allow"}})",
  };
  for (const char* text : cases) {
    auto json = matrix::parse_json(text);
    ASSERT_TRUE(json.ok()) << text;
    auto back = facts_from_json(*json);
    ASSERT_FALSE(back.ok()) << text;
    EXPECT_EQ(back.error().code, "bad_facts") << text;
  }
}

}  // namespace
}  // namespace bordergate::enforcement
