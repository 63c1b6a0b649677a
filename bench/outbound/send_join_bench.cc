// check_response on a send_join v2 answer of a large room: N state events (members of 50
// servers, each signed by its server) plus an auth chain, the whole answer parsed, every event's
// hash and signature verified. Next to it the ceiling: inspect_pdu on the same events already
// parsed (hash + redaction + Ed25519), so the difference is parsing and the answer's shape.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "gateway/matrix/event.h"
#include "gateway/outbound/response_check.h"

namespace bordergate::outbound {
namespace {

using matrix::Json;
using matrix::JsonArray;
using matrix::JsonObject;

constexpr const char* kRoom = "!big:server0.example";

struct BigRoom {
  std::map<std::string, matrix::SigningKey, std::less<>> keys;
  std::vector<JsonObject> events;
  std::string body;
  std::string join_id;

  explicit BigRoom(int members) {
    const matrix::RoomVersionRules& v10 = *matrix::find_room_version("10");
    for (int s = 0; s < 50; ++s) {
      keys.emplace("server" + std::to_string(s) + ".example",
                   matrix::SigningKey::generate("k" + std::to_string(s)));
    }
    auto sign = [&](JsonObject e, const std::string& server) {
      if (!matrix::hash_and_sign_event(e, v10, server, keys.at(server)).ok()) std::abort();
      return e;
    };
    JsonObject create{{"type", "m.room.create"},
                      {"state_key", ""},
                      {"room_id", kRoom},
                      {"sender", "@creator:server0.example"},
                      {"origin_server_ts", std::int64_t{1700000000000}},
                      {"depth", 1},
                      {"prev_events", JsonArray{}},
                      {"auth_events", JsonArray{}},
                      {"content", JsonObject{{"room_version", "10"}}}};
    events.push_back(sign(std::move(create), "server0.example"));
    std::vector<JsonObject> auth_events{events.front()};
    for (int i = 1; i <= members; ++i) {
      const std::string server = "server" + std::to_string(i % 50) + ".example";
      const std::string user = "@user" + std::to_string(i) + ":" + server;
      JsonObject m{{"type", "m.room.member"},
                   {"state_key", user},
                   {"room_id", kRoom},
                   {"sender", user},
                   {"origin_server_ts", std::int64_t{1700000000000} + i},
                   {"depth", i + 1},
                   {"prev_events", JsonArray{"$Iu3eT3Q7A2ZSxHlQyzcXm7lgyAIBpCXLZNbp8CxxhQ8"}},
                   {"auth_events", JsonArray{"$oVdWM8ZJWGnXc2NhMqaL9PK4Ve2XlhvdbDnjykWwMWQ",
                                             "$Z7NX7ZoqU8XmQiV_cNJYG5dDVUw8tsIkEd7y0bO8NkM"}},
                   {"content", JsonObject{{"membership", "join"},
                                          {"displayname", "User " + std::to_string(i)}}},
                   {"unsigned", JsonObject{{"age", 1234}}}};
      events.push_back(sign(std::move(m), server));
      if (i % 10 == 0) auth_events.push_back(events.back());
    }
    // Built in one allocation each (GCC 12 warns falsely on Json moves in a growing vector).
    JsonArray state(events.begin(), events.end());
    JsonArray auth(auth_events.begin(), auth_events.end());
    body = matrix::compact_json(Json(JsonObject{{"state", Json(std::move(state))},
                                                {"auth_chain", Json(std::move(auth))},
                                                {"members_omitted", false},
                                                {"servers_in_room", JsonArray{}}}));
  }

  matrix::KeyLookup lookup() const {
    return [this](std::string_view server, std::string_view key_id,
                  std::int64_t) -> Result<matrix::VerifyKey> {
      auto it = keys.find(server);
      if (it == keys.end() || it->second.key_id() != key_id) return make_error("unknown_key", "");
      return it->second.verify_key();
    };
  }
};

const BigRoom& room(int members) {
  static std::map<int, BigRoom> rooms;
  auto it = rooms.find(members);
  if (it == rooms.end()) it = rooms.emplace(members, BigRoom(members)).first;
  return it->second;
}

void BM_SendJoinResponseCheck(benchmark::State& state) {
  const BigRoom& r = room(static_cast<int>(state.range(0)));
  const matrix::KeyLookup keys = r.lookup();
  ResponseCheckInput in;
  in.asked.endpoint = policy::FederationEndpoint::send_join;
  in.asked.api_version = 2;
  in.asked.room_id = kRoom;
  in.asked.destination = "server0.example";
  in.asked.core_server_name = "core.example";
  in.answer = {200, "application/json", r.body};
  std::uint32_t checked = 0;
  for (auto _ : state) {
    ResponseCheck c = check_response(in, keys);
    if (c.action != ResponseAction::pass) state.SkipWithError(c.error.c_str());
    checked = c.events_checked;
    benchmark::DoNotOptimize(c);
  }
  state.counters["events"] = checked;
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(checked),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * r.body.size()));
}
BENCHMARK(BM_SendJoinResponseCheck)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// The ceiling: the per-event checks alone, on events already parsed, version known.
void BM_EventChecksOnly(benchmark::State& state) {
  const BigRoom& r = room(static_cast<int>(state.range(0)));
  const matrix::KeyLookup keys = r.lookup();
  const matrix::RoomVersionRules& v10 = *matrix::find_room_version("10");
  for (auto _ : state) {
    for (const JsonObject& e : r.events) benchmark::DoNotOptimize(matrix::check_pdu(e, v10, keys));
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(r.events.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EventChecksOnly)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bordergate::outbound
