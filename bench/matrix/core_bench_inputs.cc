// Inputs shared by the core benchmarks (see core_bench.h).
#include "bench/matrix/core_bench.h"
#include "gateway/matrix/json.h"

namespace bordergate::matrix {

std::string bench::pdu_2kib_text() {
  std::string body;
  while (body.size() < 1400)
    body += "Lorem ipsum dolor sit amet, \u00e9t \u65e5\u672c consectetur. ";
  JsonObject pdu{
      {"type", "m.room.message"},
      {"room_id", "!OGEhHVWSdvArJzumhm:matrix.org"},
      {"sender", "@alice:origin.example"},
      {"origin", "origin.example"},
      {"origin_server_ts", std::int64_t{1700000000000}},
      {"depth", 123456},
      {"prev_events", JsonArray{"$Iu3eT3Q7A2ZSxHlQyzcXm7lgyAIBpCXLZNbp8CxxhQ8",
                                "$G5KhUa0uH0Mt2XFzOBvLXpFKHEGBtkx-8xHIJqpIaBM"}},
      {"auth_events", JsonArray{"$oVdWM8ZJWGnXc2NhMqaL9PK4Ve2XlhvdbDnjykWwMWQ",
                                "$3ZbVcTqqJGNXvUCxuFf6kLhHJUXEMCvYPq_KGdCJyvE",
                                "$Q2Nkc0f2V1QwZ3h3VmVkWnRBcmJ4d3p5a1lQVE5XeGk"}},
      {"content", JsonObject{{"msgtype", "m.text"}, {"body", body}}},
      {"hashes", JsonObject{{"sha256", "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"}}},
      {"signatures",
       JsonObject{
           {"origin.example",
            JsonObject{{"ed25519:a_Obwu",
                        "KxwGjPSDEtvnFgU00fwFz+"
                        "l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"}}}}},
      {"unsigned", JsonObject{{"age", 1234}}}};
  return compact_json(Json(pdu));
}

std::string bench::transaction_text() {
  return R"({"origin":"origin.example","origin_server_ts":1700000000000,"pdus":[)" +
         pdu_2kib_text() +
         R"(],"edus":[{"edu_type":"m.typing","content":{"room_id":"!r:origin.example","user_id":"@alice:origin.example","typing":true}}]})";
}

}  // namespace bordergate::matrix
