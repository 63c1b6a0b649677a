// EDU origin binding: each bound EDU type with its own user ids, spoofed ids, malformed content.
#include "gateway/enforcement/edu_binding.h"

#include <gtest/gtest.h>

namespace bordergate::enforcement {
namespace {

using policy::CheckResult;

struct Case {
  const char* edu;
  CheckResult binding;
  const char* user;
  const char* room;
};

TEST(EduBinding, Table) {
  const Case cases[] = {
      {R"({"edu_type":"m.typing","content":{"room_id":"!r:x","user_id":"@a:origin.example","typing":true}})",
       CheckResult::passed, "@a:origin.example", "!r:x"},
      {R"({"edu_type":"m.typing","content":{"room_id":"!r:x","user_id":"@a:other.example","typing":true}})",
       CheckResult::failed, "@a:other.example", "!r:x"},
      {R"({"edu_type":"m.typing","content":{"room_id":"!r:x","user_id":"@a:ORIGIN.example"}})",
       CheckResult::passed, "@a:ORIGIN.example", "!r:x"},
      {R"({"edu_type":"m.typing","content":{"room_id":"!r:x","user_id":"@a:origin.example.evil"}})",
       CheckResult::failed, "@a:origin.example.evil", "!r:x"},
      {R"({"edu_type":"m.typing","content":{"room_id":"!r:x"}})", CheckResult::failed, "", "!r:x"},
      {R"({"edu_type":"m.typing","content":{"room_id":"!r:x","user_id":5}})", CheckResult::failed,
       "", "!r:x"},
      {R"({"edu_type":"m.receipt","content":{"!r:x":{"m.read":{"@a:origin.example":{"event_ids":["$e"]},"@b:origin.example":{}}}}})",
       CheckResult::passed, "@a:origin.example", "!r:x"},
      {R"({"edu_type":"m.receipt","content":{"!r:x":{"m.read":{"@a:origin.example":{},"@z:evil.example":{}}}}})",
       CheckResult::failed, "@a:origin.example", "!r:x"},
      {R"({"edu_type":"m.receipt","content":{"!r:x":{"m.read":[]}}})", CheckResult::failed, "",
       "!r:x"},
      {R"({"edu_type":"m.presence","content":{"push":[{"user_id":"@a:origin.example","presence":"online"}]}})",
       CheckResult::passed, "@a:origin.example", ""},
      {R"({"edu_type":"m.presence","content":{"push":[{"user_id":"@a:origin.example"},{"user_id":"@b:evil.example"}]}})",
       CheckResult::failed, "@a:origin.example", ""},
      {R"({"edu_type":"m.presence","content":{"push":{}}})", CheckResult::failed, "", ""},
      {R"({"edu_type":"m.device_list_update","content":{"user_id":"@a:origin.example","device_id":"D","stream_id":1}})",
       CheckResult::passed, "@a:origin.example", ""},
      {R"({"edu_type":"m.device_list_update","content":{"user_id":"@a:evil.example","device_id":"D"}})",
       CheckResult::failed, "@a:evil.example", ""},
      {R"({"edu_type":"m.signing_key_update","content":{"user_id":"@a:evil.example"}})",
       CheckResult::failed, "@a:evil.example", ""},
      {R"({"edu_type":"org.matrix.signing_key_update","content":{"user_id":"@a:origin.example"}})",
       CheckResult::passed, "@a:origin.example", ""},
      {R"({"edu_type":"m.direct_to_device","content":{"sender":"@a:origin.example","type":"m.x","message_id":"1","messages":{}}})",
       CheckResult::passed, "@a:origin.example", ""},
      {R"({"edu_type":"m.direct_to_device","content":{"sender":"@a:evil.example","messages":{}}})",
       CheckResult::failed, "@a:evil.example", ""},
      {R"({"edu_type":"m.direct_to_device","content":{"sender":"a:origin.example"}})",
       CheckResult::failed, "a:origin.example", ""},
      {R"({"edu_type":"com.example.custom","content":{"user_id":"@a:evil.example"}})",
       CheckResult::not_run, "", ""},
      {R"({"edu_type":"m.typing","content":[]})", CheckResult::failed, "", ""},
      {R"({"content":{}})", CheckResult::failed, "", ""},
  };
  for (const Case& c : cases) {
    auto json = matrix::parse_json(c.edu);
    ASSERT_TRUE(json.ok()) << c.edu;
    policy::EduFacts f = edu_facts(*json, "origin.example");
    EXPECT_EQ(f.origin_binding, c.binding) << c.edu;
    EXPECT_EQ(f.user_id, c.user) << c.edu;
    EXPECT_EQ(f.room_id, c.room) << c.edu;
  }
}

TEST(EduBinding, ServerNames) {
  EXPECT_EQ(user_server("@a:b.example:8448"), "b.example:8448");
  EXPECT_EQ(user_server("@a:[::1]:8448"), "[::1]:8448");
  EXPECT_EQ(user_server("a:b"), "");
  EXPECT_EQ(user_server("@:b"), "");
  EXPECT_EQ(user_server("@a:"), "");
  EXPECT_TRUE(same_server("Origin.Example", "origin.example"));
  EXPECT_FALSE(same_server("origin.example:8448", "origin.example"));
  EXPECT_FALSE(same_server("", ""));
}

}  // namespace
}  // namespace bordergate::enforcement
