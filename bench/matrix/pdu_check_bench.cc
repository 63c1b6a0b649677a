// Full PDU check of a 2 KiB event (content hash + redaction + reference hash + one Ed25519
// signature), next to one raw libsodium verify of the same signed bytes: the goal is a
// full check costing at most 1.3x the raw verify. Numbers go to docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdlib>
#include <string>

#include "gateway/matrix/event.h"
#include "gateway/matrix/redaction.h"
#include "gateway/matrix/server_keys.h"

namespace bordergate::matrix {
namespace {

// A realistic m.room.message as it arrives in /send: v10 room, three prev_events, four
// auth_events, the origin's signature, unsigned age. The body pads the canonical form to 2 KiB.
struct Fixture {
  SigningKey key = SigningKey::generate("bench");
  StaticKeyRing ring;
  JsonObject event;
  std::string redacted_bytes;  // what the signature covers
  Signature signature{};
  std::size_t canonical_size = 0;

  Fixture() {
    if (sodium_init() < 0) std::abort();
    const RoomVersionRules& rules = *find_room_version("10");
    event = JsonObject{
        {"type", "m.room.message"},
        {"room_id", "!OGEhHVWSdvArJzumhm:matrix.org"},
        {"sender", "@alice:origin.example"},
        {"origin", "origin.example"},
        {"origin_server_ts", std::int64_t{1700000000000}},
        {"depth", 123456},
        {"prev_events", JsonArray{"$Iu3eT3Q7A2ZSxHlQyzcXm7lgyAIBpCXLZNbp8CxxhQ8",
                                  "$G5KhUa0uH0Mt2XFzOBvLXpFKHEGBtkx-8xHIJqpIaBM",
                                  "$ZmYTJqLTzDDGFPv5mRjjqnrFp0Ve0AgyBHuZAMbqCfk"}},
        {"auth_events", JsonArray{"$oVdWM8ZJWGnXc2NhMqaL9PK4Ve2XlhvdbDnjykWwMWQ",
                                  "$Z7NX7ZoqU8XmQiV_cNJYG5dDVUw8tsIkEd7y0bO8NkM",
                                  "$c3QpwrSh1T4ZGO7JFnVGTpjEZVCUsvBnzL8y_EmGm5k",
                                  "$jSHkZi6AYl3HYcEKoRqRbdPJZrPUcxgYJNKrP6oKq3A"}},
        {"content", JsonObject{{"msgtype", "m.text"}, {"body", std::string()},
                               {"m.mentions", JsonObject{}}}},
        {"unsigned", JsonObject{{"age", 1234}}},
    };
    // Fill the body until the canonical event (with hashes and signatures) is ~2048 bytes.
    std::string body;
    for (;;) {
      (*event["content"].object_if())["body"] = body;
      if (!hash_and_sign_event(event, rules, "origin.example", key).ok()) std::abort();
      canonical_size = canonical_json(Json(event))->size();
      if (canonical_size >= 2048) break;
      body += "Lorem ipsum dolor sit amet, \u00e4\u00f6\u00fc. ";
    }
    if (!ring.add("origin.example", key.key_id(), key.verify_key()).ok()) std::abort();
    if (!append_redacted_signing_bytes(redacted_bytes, event, rules).ok()) std::abort();
    signature = key.sign(redacted_bytes);
    if (!check_pdu(event, rules, ring.lookup()).ok()) std::abort();
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

void BM_PduCheck_2KiB(benchmark::State& state) {
  const Fixture& f = fixture();
  const RoomVersionRules& rules = *find_room_version("10");
  KeyLookup lookup = f.ring.lookup();
  for (auto _ : state) {
    PduCheck check = check_pdu(f.event, rules, lookup);
    benchmark::DoNotOptimize(check);
  }
  state.counters["event_bytes"] = static_cast<double>(f.canonical_size);
  state.counters["signed_bytes"] = static_cast<double>(f.redacted_bytes.size());
}
BENCHMARK(BM_PduCheck_2KiB);

// The same check including parsing the JSON text (what /send really pays per PDU).
void BM_PduCheck_2KiB_WithParse(benchmark::State& state) {
  const Fixture& f = fixture();
  const RoomVersionRules& rules = *find_room_version("10");
  KeyLookup lookup = f.ring.lookup();
  const std::string text = *canonical_json(Json(f.event));
  for (auto _ : state) {
    auto parsed = parse_json(text);
    PduCheck check = check_pdu(*parsed->object_if(), rules, lookup);
    benchmark::DoNotOptimize(check);
  }
}
BENCHMARK(BM_PduCheck_2KiB_WithParse);

// Baseline: one raw libsodium verify of the bytes the event signature covers.
void BM_PduCheck_BaselineRawSodiumVerify(benchmark::State& state) {
  const Fixture& f = fixture();
  const auto* message = reinterpret_cast<const unsigned char*>(f.redacted_bytes.data());
  for (auto _ : state) {
    int rc = crypto_sign_verify_detached(f.signature.data(), message, f.redacted_bytes.size(),
                                         f.key.verify_key().bytes.data());
    benchmark::DoNotOptimize(rc);
  }
}
BENCHMARK(BM_PduCheck_BaselineRawSodiumVerify);

// The non-crypto parts on their own, to see where the overhead is.
void BM_PduCheck_ContentHashOnly(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) {
    auto hash = compute_content_hash(f.event);
    benchmark::DoNotOptimize(hash);
  }
}
BENCHMARK(BM_PduCheck_ContentHashOnly);

void BM_PduCheck_RedactAndReferenceHashOnly(benchmark::State& state) {
  const Fixture& f = fixture();
  const RoomVersionRules& rules = *find_room_version("10");
  for (auto _ : state) {
    auto hash = compute_reference_hash(f.event, rules);
    benchmark::DoNotOptimize(hash);
  }
}
BENCHMARK(BM_PduCheck_RedactAndReferenceHashOnly);

}  // namespace
}  // namespace bordergate::matrix
