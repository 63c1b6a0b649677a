// The pure parts of the inbound phases: decision -> HTTP answer, the shape of the answer to a
// withheld transaction, and the facts authorize/inspect build (against a real policy file).
#include <gtest/gtest.h>
#include <uv.h>

#include <filesystem>
#include <fstream>

#include "gateway/enforcement/phases.h"
#include "gateway/enforcement/pinned_keys_file.h"
#include "gateway/enforcement/record.h"
#include "gateway/enforcement/services.h"
#include "gateway/http/error_response.h"
#include "gateway/keystore/worker_queue.h"
#include "gateway/matrix/base64.h"
#include "gateway/matrix/event.h"
#include "gateway/matrix/json.h"
#include "tests/unit/enforcement/test_key_store.h"
#include "tests/unit/keystore/fake_fetcher.h"
#include "tests/unit/keystore/test_keys.h"

namespace bordergate::enforcement {
namespace {

TEST(DecisionAnswer, Table) {
  struct Case {
    const char* rule_id;
    const char* reason;
    policy::Action action;
    int status;
    const char* errcode;
  };
  const Case cases[] = {
      {"checks", "x_matrix_check_failed", policy::Action::deny, 401, "M_UNAUTHORIZED"},
      {"checks", "pdu_hashes_check_failed", policy::Action::deny, 403, "M_FORBIDDEN"},
      {"checks", "edu_origin_binding_check_failed", policy::Action::deny, 403, "M_FORBIDDEN"},
      {"limits", "body_too_large", policy::Action::deny, 413, "M_TOO_LARGE"},
      {"limits", "too_many_pdus", policy::Action::deny, 413, "M_TOO_LARGE"},
      {"media", "media_not_allowed", policy::Action::deny, 403, "M_FORBIDDEN"},
      {"default", "no_rule_matched", policy::Action::deny, 403, "M_FORBIDDEN"},
      {"no-widgets", "transaction_denied_by_content", policy::Action::deny, 403, "M_FORBIDDEN"},
  };
  for (const Case& c : cases) {
    policy::Decision d;
    d.rule_id = c.rule_id;
    d.reason = c.reason;
    d.action = c.action;
    GatewayError a = answer_for(d);
    EXPECT_EQ(a.status, c.status) << c.reason;
    EXPECT_STREQ(a.errcode, c.errcode) << c.reason;
    EXPECT_NE(a.reason.find(c.reason), std::string::npos) << a.reason;
    EXPECT_NE(a.reason.find(c.rule_id), std::string::npos) << a.reason;
  }
}

TEST(GatewayAnswers, RateLimitAndOwnJsonBodies) {
  std::string out;
  GatewayError e{429, "M_LIMIT_EXCEEDED", "Too many requests"};
  e.retry_after_ms = 1500;
  append_error_response(out, e, false, AnswerTo::get_or_other);
  EXPECT_NE(out.find("HTTP/1.1 429 "), std::string::npos);
  EXPECT_NE(out.find("\r\nRetry-After: 2\r\n"), std::string::npos) << out;
  EXPECT_NE(
      out.find(
          R"({"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":1500})"),
      std::string::npos)
      << out;

  out.clear();
  GatewayError held{200, "M_UNKNOWN", "quarantined"};
  held.json_body = R"({"pdus":{"$a":{"error":"held"}}})";
  append_error_response(out, held, false, AnswerTo::get_or_other);
  EXPECT_EQ(out.rfind("HTTP/1.1 200 ", 0), 0u) << out;
  EXPECT_NE(out.find("Content-Length: 32\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with(held.json_body));
  EXPECT_EQ(out.find("errcode"), std::string::npos);
}

TEST(WithheldTransaction, EveryNamedPduGetsAnError) {
  std::vector<PduVerdict> pdus(3);
  pdus[0].event_id = "$a";
  pdus[1].event_id = "";  // unparseable: cannot be named
  pdus[2].event_id = "$b:x";
  std::string body = withheld_transaction_answer(pdus, "held back \"by\" policy");
  auto json = matrix::parse_json(body);
  ASSERT_TRUE(json.ok()) << body;
  const matrix::Json* by_id = json->find("pdus");
  ASSERT_NE(by_id, nullptr);
  ASSERT_EQ(by_id->object_if()->size(), 2u);
  EXPECT_EQ(*by_id->find("$a")->find("error")->string_if(), "held back \"by\" policy");
  EXPECT_NE(by_id->find("$b:x")->find("error"), nullptr);
  EXPECT_EQ(withheld_transaction_answer({}, "x"), R"({"pdus":{}})");
}

// The events of an answer in the audit record: every one of a small answer; of a large one only
// those not forwarded unchanged, with a count of the others in the note.
TEST(AnswerEventsInTheAuditRecord, SmallAnswersListEveryEventLargeOnesTheNotable) {
  JudgedRequest r;
  r.direction = policy::Direction::outbound;
  r.destination = "remote.example";
  r.answer_events = {{"$a", "m.room.message", EventOutcome::forward, ""},
                     {"$b", "org.secret", EventOutcome::redacted, "no-secrets"},
                     {"$c", "org.note", EventOutcome::report, "watch-notes"}};
  const RequestOutcome o{"GET", "127.0.0.1", 200, 0, 0, {}};
  audit::AuditRecord a = audit_record(r, o);
  EXPECT_EQ(a.answer_event_ids, (std::vector<std::string>{"$a", "$b", "$c"}));
  EXPECT_EQ(a.answer_event_types,
            (std::vector<std::string>{"m.room.message", "org.secret", "org.note"}));
  EXPECT_EQ(a.answer_event_verdicts, (std::vector<std::string>{"forward", "redacted", "report"}));
  EXPECT_EQ(a.note, "");

  r.answer_events.clear();
  for (int i = 0; i < 250; ++i) {
    r.answer_events.push_back({"$e" + std::to_string(i), "m.room.member",
                               i == 7 ? EventOutcome::redacted : EventOutcome::forward, ""});
  }
  a = audit_record(r, o);
  EXPECT_EQ(a.answer_event_ids, std::vector<std::string>{"$e7"});
  EXPECT_EQ(a.answer_event_verdicts, std::vector<std::string>{"redacted"});
  EXPECT_EQ(a.note, "249 more events of the answer forwarded unchanged, not listed");
  std::string line;
  audit::append_record_members(line, a);
  EXPECT_NE(line.find(R"("answer_event_ids":["$e7"],"answer_event_types":["m.room.member"],)"
                      R"("answer_event_verdicts":["redacted"])"),
            std::string::npos)
      << line;
}

TEST(AnswerEventsInTheMetrics, CountedPerDirectionEndpointAndVerdict) {
  EnforcementMetrics m;
  m.count_answer_events(policy::Direction::inbound, "get_missing_events", "redacted", 2);
  m.count_answer_events(policy::Direction::inbound, "get_missing_events", "redacted", 1);
  m.count_answer_events(policy::Direction::inbound, "backfill", "forward", 0);  // no series
  const std::string text = m.serialize();
  EXPECT_NE(text.find("bordergate_answer_events_total{direction=\"inbound\","
                      "endpoint=\"get_missing_events\",verdict=\"redacted\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("endpoint=\"backfill\""), std::string::npos) << text;
}

class FactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bg-facts-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << R"(version: 1
server_name: core.example
default: deny
defaults:
  limits:
    rate: {per_second: 1, burst: 2}
federations:
  partners:
    servers: [good.example]
rules:
  - id: keys
    peer: unknown
    direction: inbound
    endpoints: [key.server]
    action: allow
  - id: partners
    federation: partners
    direction: inbound
    endpoints: ["@all"]
    action: allow
  - id: no-vip
    federation: partners
    direction: inbound
    endpoints: [user.devices]
    users: ["@vip:core.example"]
    action: deny
)";
    Config c;
    c.server_name = "core.example";
    c.keys.pinned["good.example"][key_.key_id()] = matrix::base64_encode(key_.verify_key().bytes);
    c.policy = (dir_ / "policy.yaml").string();
    c.state_dir = dir_.string();
    c.audit.path = (dir_ / "audit.log").string();
    c.quarantine.path = (dir_ / "quarantine.db").string();
    auto s = build_enforcement_services(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    services_ = std::move(s.value());
    auto keys = testing::key_store_for(c.keys, fetcher_);
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    keys_ = std::move(keys.value());
  }
  void TearDown() override {
    keys_.reset();
    services_.reset();  // the audit writer finishes before its directory goes
    std::filesystem::remove_all(dir_);
  }

  Outcome run(const char* method, const char* target, const char* origin) {
    http_.method = method;
    http_.target = target;
    r_.reset();
    r_.services = services_.get();
    Outcome s = classify_request(r_, http_);
    if (s.kind != Outcome::Kind::proceed) return s;
    r_.origin = origin;  // as authenticate_request would have set it
    PhaseEnv env{keys_.get(), nullptr, [] {}, "192.0.2.1", nullptr};
    return authorize_request(r_, http_, env);
  }

  matrix::SigningKey key_ = matrix::SigningKey::generate("k1");
  std::filesystem::path dir_;
  std::unique_ptr<EnforcementServices> services_;
  keystore::testing::FakeFetcher fetcher_;
  std::unique_ptr<keystore::ServerKeyStore> keys_;
  HttpRequest http_;
  JudgedRequest r_;
};

TEST_F(FactsTest, PathParametersBecomeFacts) {
  EXPECT_EQ(
      run("GET", "/_matrix/federation/v1/user/devices/%40bob%3Acore.example", "good.example").kind,
      Outcome::Kind::proceed);
  EXPECT_EQ(r_.facts.endpoint, policy::FederationEndpoint::user_devices);
  EXPECT_EQ(r_.facts.user_id, "@bob:core.example");
  EXPECT_EQ(*r_.facts.origin, "good.example");
  EXPECT_EQ(r_.facts.destination, "core.example");
  EXPECT_EQ(r_.facts.x_matrix, policy::CheckResult::passed);

  Outcome s =
      run("GET", "/_matrix/federation/v1/user/devices/%40vip%3Acore.example", "good.example");
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 403);
  EXPECT_NE(s.error.reason.find("no-vip"), std::string::npos);

  run("GET", "/_matrix/federation/v1/state/%21r%3Agood.example?event_id=%24e", "good.example");
  EXPECT_EQ(r_.facts.room_id, "!r:good.example");
  run("GET", "/_matrix/federation/v1/media/download/abc", "good.example");
  EXPECT_EQ(r_.facts.server_name, "core.example");
}

TEST_F(FactsTest, UnknownOriginAndRateLimit) {
  EXPECT_EQ(run("GET", "/_matrix/key/v2/server", "").kind, Outcome::Kind::proceed);
  EXPECT_FALSE(r_.facts.origin.has_value());
  EXPECT_EQ(r_.facts.x_matrix, policy::CheckResult::not_run);
  EXPECT_EQ(run("GET", "/_matrix/key/v2/server", "").kind, Outcome::Kind::proceed);
  Outcome s = run("GET", "/_matrix/key/v2/server", "");  // burst 2 per client address
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 429);
  EXPECT_STREQ(s.error.errcode, "M_LIMIT_EXCEEDED");
  ASSERT_TRUE(s.error.retry_after_ms.has_value());
  EXPECT_GT(*s.error.retry_after_ms, 0);
  // Another origin has its own bucket.
  EXPECT_EQ(run("GET", "/_matrix/federation/v1/version", "good.example").kind,
            Outcome::Kind::proceed);
  // An unknown origin for an X-Matrix endpoint the policy does not grant.
  s = run("GET", "/_matrix/key/v2/query/x.example", "");
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 403);
}

TEST_F(FactsTest, ClassificationAnswers) {
  Outcome s = run("GET", "/_matrix/client/v3/sync", "good.example");
  EXPECT_EQ(s.error.status, 404);
  EXPECT_STREQ(s.error.errcode, "M_UNRECOGNIZED");
  s = run("DELETE", "/_matrix/federation/v1/version", "good.example");
  EXPECT_EQ(s.error.status, 405);
  http_.body = "{nope";
  s = run("PUT", "/_matrix/federation/v1/send/t", "good.example");
  EXPECT_EQ(s.error.status, 400);
  EXPECT_STREQ(s.error.errcode, "M_NOT_JSON");
  http_.body = R"({"a":1,"a":2})";  // duplicate keys: refused as not JSON
  EXPECT_STREQ(run("PUT", "/_matrix/federation/v1/send/t", "good.example").error.errcode,
               "M_NOT_JSON");
  http_.body = R"({"a":1.5})";
  s = run("PUT", "/_matrix/federation/v1/send/t", "good.example");
  EXPECT_EQ(s.error.status, 400);
  EXPECT_STREQ(s.error.errcode, "M_BAD_JSON");
  http_.body.clear();
}

// Suspension on a key lookup: the answer arrives through the worker's mailbox on its loop; the
// request resumes then, or, when it ended meanwhile (client gone), nothing happens at all.
// A request waits for keys that are not at hand: here good.example's key is not pinned but
// fetched (a scripted fetcher answers with its signed key list), so the first request suspends
// until the answer is posted to the worker's mailbox. Pinned and cached keys need no wait
// (PinnedKeysNeedNoWait).
class SuspendTest : public FactsTest {
 protected:
  void SetUp() override {
    FactsTest::SetUp();
    fetcher_.direct.emplace(
        "good.example",
        keystore::testing::body(keystore::testing::key_object(
            "good.example", {&key_}, testing::wall_clock_ms() + keystore::testing::kDay)));
    keys_ = std::make_unique<keystore::ServerKeyStore>(keystore::KeyStoreConfig{}, fetcher_,
                                                       testing::wall_clock_ms);
    uv_loop_init(&loop_);
    queue_ = std::make_unique<keystore::WorkerQueue>(&loop_);
    const std::string uri = "/_matrix/federation/v1/state_ids/%21r%3Agood.example";
    http_.method = "GET";
    http_.target = uri;
    http_.headers.clear();
    HeaderField& h = http_.headers.add();
    h.name = "Authorization";
    h.value = *matrix::sign_xmatrix("GET", uri, "good.example", "core.example", nullptr, key_);
    r_.reset();
    r_.services = services_.get();
    ASSERT_EQ(classify_request(r_, http_).kind, Outcome::Kind::proceed);
  }
  void TearDown() override {
    queue_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    FactsTest::TearDown();
  }
  void run_loop() {
    for (int i = 0; i < 100 && resumed_ == 0; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  }
  PhaseEnv env() {
    return {keys_.get(), queue_->mailbox(), [this] { ++resumed_; }, "192.0.2.1", nullptr};
  }
  // A /send of good.example carrying one PDU it signed, walked from classify to inspect. The
  // origin is set as verify would have set it: the X-Matrix wait is the other tests' business.
  Outcome send_until_inspect(PhaseEnv& e) {
    matrix::JsonObject pdu = *matrix::parse_json(R"({"type":"m.room.message",
        "room_id":"!r:good.example","sender":"@alice:good.example",
        "origin_server_ts":1700000000000,"depth":3,"prev_events":["$p"],"auth_events":["$a"],
        "content":{"body":"x"}})")
                                  ->object_if();
    EXPECT_TRUE(
        matrix::hash_and_sign_event(pdu, *matrix::find_room_version("10"), "good.example", key_)
            .ok());
    http_.method = "PUT";
    http_.target = "/_matrix/federation/v1/send/t1";
    http_.body = matrix::compact_json(matrix::Json(
        matrix::JsonObject{{"origin", matrix::Json("good.example")},
                           {"origin_server_ts", matrix::Json(std::int64_t{1})},
                           {"pdus", matrix::Json(matrix::JsonArray{matrix::Json(pdu)})},
                           {"edus", matrix::Json(matrix::JsonArray{})}}));
    r_.reset();
    r_.services = services_.get();
    if (Outcome s = classify_request(r_, http_); s.kind != Outcome::Kind::proceed) return s;
    r_.origin = "good.example";
    if (Outcome s = authorize_request(r_, http_, e); s.kind != Outcome::Kind::proceed) return s;
    if (Outcome s = recall_request(r_, e); s.kind != Outcome::Kind::proceed) return s;
    return inspect_request(r_, http_, e);
  }
  // authenticate, then verify when it did not suspend, as run_request_phases runs them.
  Outcome authenticate_and_verify(PhaseEnv& e) {
    Outcome s = authenticate_request(r_, http_, e);
    if (s.kind != Outcome::Kind::proceed) return s;
    return verify_request(r_, http_, e);
  }

  uv_loop_t loop_{};
  std::unique_ptr<keystore::WorkerQueue> queue_;
  int resumed_ = 0;
};

TEST_F(SuspendTest, PinnedKeysNeedNoWait) {
  // good.example pinned (as in FactsTest): authenticated at once, nothing posted or fetched.
  keystore::KeyStoreConfig pinned;
  pinned.pinned.keys["good.example"][key_.key_id()] = key_.verify_key();
  keys_ = std::make_unique<keystore::ServerKeyStore>(pinned, fetcher_, [] { return 0; });
  PhaseEnv e = env();
  Outcome s = authenticate_and_verify(e);
  ASSERT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
  EXPECT_EQ(r_.origin, "good.example");
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(resumed_, 0);
  EXPECT_EQ(fetcher_.direct_calls.load(), 0);
  EXPECT_EQ(keys_->metrics().pinned_hits.load(), 1u);
}

TEST_F(SuspendTest, FetchedKeysAreAtHandForTheNextRequest) {
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  run_loop();
  ASSERT_EQ(resumed_, 1);
  ASSERT_EQ(verify_request(r_, http_, e).kind, Outcome::Kind::proceed);
  // A second request of the same server finds the key in the cache: no second wait or fetch.
  r_.reset();
  r_.services = services_.get();
  ASSERT_EQ(classify_request(r_, http_).kind, Outcome::Kind::proceed);
  Outcome s = authenticate_and_verify(e);
  ASSERT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
  EXPECT_EQ(resumed_, 1);
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
}

TEST_F(SuspendTest, ResumesOnTheLoopAndThenAuthenticates) {
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  EXPECT_EQ(resumed_, 0);  // never synchronously
  run_loop();
  ASSERT_EQ(resumed_, 1);
  Outcome s = verify_request(r_, http_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
  EXPECT_EQ(r_.origin, "good.example");
}

// authenticate only parses and asks for the origin's keys; the request resumes at verify,
// which verifies with the keys that arrived and asks for nothing.
TEST_F(SuspendTest, AnAuthenticationThatWaitedResumesAtVerify) {
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  EXPECT_EQ(r_.keys_pending, 1u);
  EXPECT_EQ(r_.auths.size(), 1u);  // parsed, kept for verify
  EXPECT_TRUE(r_.origin.empty());  // nothing verified yet
  run_loop();
  ASSERT_EQ(resumed_, 1);
  EXPECT_EQ(r_.keys_pending, 0u);
  Outcome s = verify_request(r_, http_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
  EXPECT_EQ(r_.origin, "good.example");
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(resumed_, 1);
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
}

// A /send whose PDUs are signed with keys not at hand: inspect checks the transaction's shape,
// asks for the keys and suspends; the request resumes at verify_events, which verifies the PDUs
// inspect found, and decide and hold follow without another wait.
TEST_F(SuspendTest, ASendWaitingForPduKeysResumesAtVerifyEvents) {
  PhaseEnv e = env();
  Outcome s = send_until_inspect(e);
  ASSERT_EQ(s.kind, Outcome::Kind::suspend) << s.error.reason;
  EXPECT_EQ(r_.keys_pending, 1u);
  EXPECT_EQ(r_.events.size(), 1u);
  EXPECT_TRUE(r_.pdus.empty());  // nothing verified before the keys are in
  run_loop();
  ASSERT_EQ(resumed_, 1);
  s = verify_events_request(r_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
  ASSERT_EQ(r_.pdus.size(), 1u);
  EXPECT_EQ(r_.pdus[0].error, "");
  EXPECT_EQ(r_.facts.pdu_count, 1u);
  s = decide_request(r_, http_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
  EXPECT_EQ(r_.decision->rule_id, "partners");
  EXPECT_EQ(hold_request(r_).kind, Outcome::Kind::proceed);  // nothing held back
  EXPECT_EQ(resumed_, 1);
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
}

// The connection's key-wait timer on a /send waiting for PDU keys: verify_events, where the
// request resumes, answers 503 so the origin retries the transaction.
TEST_F(SuspendTest, AnExpiredPduKeyWaitIsAnsweredAtVerifyEvents) {
  PhaseEnv e = env();
  ASSERT_EQ(send_until_inspect(e).kind, Outcome::Kind::suspend);
  ASSERT_TRUE(expire_key_wait(r_));
  Outcome s = verify_events_request(r_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 503);
  EXPECT_STREQ(s.error.errcode, "M_UNKNOWN");
  EXPECT_EQ(r_.denial, "key_fetch_timeout");
  EXPECT_TRUE(r_.pdus.empty());
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(resumed_, 0);  // the late answer belongs to the expired wait
}

TEST_F(SuspendTest, ARequestThatEndedIsNotResumed) {
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  r_.reset();  // what the connection does when the client leaves
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(resumed_, 0);
}

TEST_F(SuspendTest, TamperedUriIsRefusedAfterTheKeyArrived) {
  http_.target = "/_matrix/federation/v1/state_ids/%21other%3Agood.example";
  r_.reset();
  r_.services = services_.get();
  ASSERT_EQ(classify_request(r_, http_).kind, Outcome::Kind::proceed);
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  run_loop();
  Outcome s = verify_request(r_, http_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 401);
  EXPECT_STREQ(s.error.errcode, "M_UNAUTHORIZED");
}

// limits.key_wait_timeout: the connection's timer calls expire_key_wait on a request still
// waiting; the phase then answers without the key, and the late answer resumes nothing.
TEST_F(SuspendTest, AnExpiredKeyWaitIsAnsweredAndLateAnswersAreIgnored) {
  // A server whose key is neither pinned nor cached: the wait ends only by the fetcher's answer.
  matrix::SigningKey stranger = matrix::SigningKey::generate("s1");
  http_.headers.clear();
  HeaderField& h = http_.headers.add();
  h.name = "Authorization";
  h.value = *matrix::sign_xmatrix("GET", http_.target, "stranger.example", "core.example", nullptr,
                                  stranger);
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  EXPECT_FALSE(r_.keys_timed_out);
  ASSERT_TRUE(expire_key_wait(r_));
  EXPECT_FALSE(expire_key_wait(r_));  // nothing is awaited any more
  Outcome s = verify_request(r_, http_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 401);
  EXPECT_STREQ(s.error.errcode, "M_UNAUTHORIZED");
  EXPECT_EQ(r_.denial, "key_fetch_timeout");
  EXPECT_NE(s.error.reason.find("in time"), std::string::npos) << s.error.reason;
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(resumed_, 0);  // the fetcher's late answer belongs to the expired wait
}

// A worker whose federation state failed to start has no key store: nothing verifies, the
// request is refused at once instead of waiting.
TEST_F(SuspendTest, WithoutAKeyStoreNothingAuthenticates) {
  PhaseEnv e = env();
  e.keys = nullptr;
  Outcome s = authenticate_and_verify(e);
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 401);
  EXPECT_STREQ(s.error.errcode, "M_UNAUTHORIZED");
  EXPECT_TRUE(r_.origin.empty());
}

// An unpinned server goes to the fetcher, once; the pinned side is PinnedKeysNeedNoWait.
TEST_F(SuspendTest, UnpinnedServersAreFetched) {
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  run_loop();
  ASSERT_EQ(verify_request(r_, http_, e).kind, Outcome::Kind::proceed);
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
  EXPECT_EQ(keys_->metrics().pinned_hits.load(), 0u);
}

TEST_F(SuspendTest, ARequestNotWaitingForKeysDoesNotExpire) {
  PhaseEnv e = env();
  ASSERT_EQ(authenticate_request(r_, http_, e).kind, Outcome::Kind::suspend);
  run_loop();
  ASSERT_EQ(resumed_, 1);
  EXPECT_FALSE(expire_key_wait(r_));  // answered in time: the timer has nothing to cut
  Outcome s = verify_request(r_, http_, e);
  EXPECT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
}

}  // namespace
}  // namespace bordergate::enforcement
