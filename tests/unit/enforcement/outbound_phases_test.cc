// The inbound phases run for the Core's outbound requests (JudgedRequest::direction =
// outbound): X-Matrix bound to the Core and the tunnel's server, policy judged towards the
// destination, /send PDUs and EDUs of the Core inspected, quarantine with direction "outbound",
// audit and metrics saying the direction. Against a real policy file, key store and quarantine.
#include <gtest/gtest.h>
#include <uv.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "gateway/audit/audit_chain.h"
#include "gateway/enforcement/phases.h"
#include "gateway/enforcement/record.h"
#include "gateway/enforcement/services.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/keystore/worker_queue.h"
#include "gateway/matrix/base64.h"
#include "gateway/matrix/event.h"
#include "gateway/matrix/xmatrix.h"
#include "tests/unit/enforcement/test_key_store.h"
#include "tests/unit/keystore/fake_fetcher.h"

namespace bordergate::enforcement {
namespace {

using matrix::Json;
using matrix::JsonArray;
using matrix::JsonObject;

constexpr const char* kPolicy = R"(version: 1
server_name: core.example
default: deny
federations:
  partners:
    servers: [good.example]
rules:
  - id: out-partners
    federation: partners
    direction: outbound
    endpoints: ["@all"]
    action: allow
  - id: in-only-devices
    federation: partners
    direction: inbound
    endpoints: [user.devices]
    action: allow
  - id: out-no-devices
    federation: partners
    direction: outbound
    endpoints: [user.devices]
    action: deny
  - id: out-hold-polls
    federation: partners
    direction: outbound
    event_types: [m.poll.start]
    action: quarantine
  - id: out-no-secret-room
    federation: partners
    direction: outbound
    event_types: ["*"]
    rooms: ["!secret:core.example"]
    action: deny
)";

class OutboundPhasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bg-outphases-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << kPolicy;
    Config c;
    c.server_name = "core.example";
    c.keys.pinned["core.example"][core_.key_id()] = matrix::base64_encode(core_.verify_key().bytes);
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
    uv_loop_init(&loop_);
    queue_ = std::make_unique<keystore::WorkerQueue>(&loop_);
  }
  void TearDown() override {
    queue_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    keys_.reset();
    services_.reset();
    std::filesystem::remove_all(dir_);
  }

  PhaseEnv env() {
    return {keys_.get(), queue_->mailbox(), [this] { ++resumed_; }, "127.0.0.1",
            [](std::function<void()> work, std::function<void()> done) {
              work();  // the test's thread pool: the put is durable before done runs
              done();
            }};
  }

  using Step = std::function<Outcome(PhaseEnv&)>;
  // X-Matrix: authenticate, then verify (where a wait for keys resumes).
  std::vector<Step> authentication() {
    return {[this](PhaseEnv& e) { return authenticate_request(r_, http_, e); },
            [this](PhaseEnv& e) { return verify_request(r_, http_, e); }};
  }
  // Every enforcement phase after classify, in the order of the proxy's schedule.
  std::vector<Step> enforcement() {
    std::vector<Step> steps = authentication();
    steps.push_back([this](PhaseEnv& e) { return authorize_request(r_, http_, e); });
    steps.push_back([this](PhaseEnv& e) { return recall_request(r_, e); });
    steps.push_back([this](PhaseEnv& e) { return inspect_request(r_, http_, e); });
    steps.push_back([this](PhaseEnv& e) { return verify_events_request(r_, e); });
    steps.push_back([this](PhaseEnv& e) { return decide_request(r_, http_, e); });
    steps.push_back([this](PhaseEnv&) { return hold_request(r_); });
    return steps;
  }

  // Phases in order, as the proxy runs them: a phase that suspends (keys, the quarantine
  // store) is resumed by the loop, and the request continues at the next phase.
  Outcome drive(const std::vector<Step>& steps) {
    PhaseEnv e = env();
    for (const Step& step : steps) {
      const int before = resumed_;
      Outcome s = step(e);
      if (s.kind == Outcome::Kind::respond) return s;
      if (s.kind == Outcome::Kind::proceed) continue;
      for (int i = 0; i < 200 && resumed_ == before; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
      if (resumed_ == before) {
        ADD_FAILURE() << "a suspended phase was never resumed";
        return Outcome::respond(599, "M_UNKNOWN", "never resumed");
      }
    }
    return Outcome::proceed();
  }

  void request(const char* method, std::string target, const std::string& body,
               std::string_view origin = "core.example",
               std::string_view destination = "good.example") {
    http_ = HttpRequest{};
    http_.method = method;
    http_.target = target;
    http_.body = body;
    if (!origin.empty()) {
      std::optional<Json> content;
      if (!body.empty()) content = *matrix::parse_json(body);
      HeaderField& h = http_.headers.add();
      h.name = "Authorization";
      h.value = *matrix::sign_xmatrix(method, target, origin, destination,
                                      content ? &*content : nullptr, core_);
    }
    r_.reset();
    r_.services = services_.get();
    r_.direction = policy::Direction::outbound;
    r_.destination = "good.example";
  }

  // classify -> authenticate -> verify -> authorize -> recall -> inspect -> verify_events ->
  // decide -> hold, as the pipeline runs them for an inner request.
  Outcome run_all() {
    Outcome s = classify_request(r_, http_);
    if (s.kind != Outcome::Kind::proceed) return s;
    return drive(enforcement());
  }

  JsonObject pdu(const char* type, const char* room) {
    JsonObject e = *matrix::parse_json(R"({"sender":"@alice:core.example",
        "origin_server_ts":1700000000000,"depth":3,"prev_events":["$p"],"auth_events":["$a"],
        "content":{"body":"x"}})")
                        ->object_if();
    e["type"] = Json(type);
    e["room_id"] = Json(room);
    EXPECT_TRUE(
        matrix::hash_and_sign_event(e, *matrix::find_room_version("10"), "core.example", core_)
            .ok());
    return e;
  }

  std::string transaction(JsonArray pdus, JsonArray edus = {}) {
    return matrix::compact_json(Json(JsonObject{{"origin", Json("core.example")},
                                                {"origin_server_ts", Json(std::int64_t{1})},
                                                {"pdus", Json(std::move(pdus))},
                                                {"edus", Json(std::move(edus))}}));
  }

  matrix::SigningKey core_ = matrix::SigningKey::generate("c1");
  std::filesystem::path dir_;
  std::unique_ptr<EnforcementServices> services_;
  keystore::testing::FakeFetcher fetcher_;
  std::unique_ptr<keystore::ServerKeyStore> keys_;
  uv_loop_t loop_{};
  std::unique_ptr<keystore::WorkerQueue> queue_;
  int resumed_ = 0;
  HttpRequest http_;
  JudgedRequest r_;
};

TEST_F(OutboundPhasesTest, XMatrixIsBoundToTheCoreAndTheTunnel) {
  struct Case {
    const char* name;
    std::string origin, destination;
    int status;  // 0 = proceeds
    const char* denial;
  };
  const Case cases[] = {
      {"the Core to the tunnel's server", "core.example", "good.example", 0, ""},
      {"destination case-folded", "core.example", "GOOD.example", 0, ""},
      {"another origin", "evil.example", "good.example", 403, "xmatrix_origin_not_core"},
      {"another destination", "core.example", "other.example", 403, "xmatrix_destination_mismatch"},
      {"no X-Matrix", "", "", 401, "missing_xmatrix"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    request("GET", "/_matrix/federation/v1/state_ids/%21r%3Agood.example", "", c.origin,
            c.destination);
    ASSERT_EQ(classify_request(r_, http_).kind, Outcome::Kind::proceed);
    Outcome s = drive(authentication());
    if (c.status == 0) {
      EXPECT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
      EXPECT_EQ(r_.origin, "core.example");
      continue;
    }
    ASSERT_EQ(s.kind, Outcome::Kind::respond);
    EXPECT_EQ(s.error.status, c.status);
    EXPECT_EQ(r_.denial, c.denial);
  }
  // Without a destination parameter (the receiving server could not bind it to itself).
  request("GET", "/_matrix/federation/v1/state_ids/%21r%3Agood.example", "", "");
  HeaderField& h = http_.headers.add();
  h.name = "Authorization";
  h.value = R"(X-Matrix origin="core.example",key="ed25519:c1",sig="AAAA")";
  ASSERT_EQ(classify_request(r_, http_).kind, Outcome::Kind::proceed);
  Outcome s = drive(authentication());
  EXPECT_EQ(s.error.status, 401);
  EXPECT_EQ(r_.denial, "xmatrix_destination_missing");
}

TEST_F(OutboundPhasesTest, PolicyJudgesTheDestinationInTheOutboundDirection) {
  request("GET", "/_matrix/federation/v1/state_ids/%21r%3Agood.example", "");
  ASSERT_EQ(run_all().kind, Outcome::Kind::proceed);
  EXPECT_EQ(r_.facts.direction, policy::Direction::outbound);
  EXPECT_EQ(*r_.facts.origin, "core.example");
  EXPECT_EQ(r_.facts.destination, "good.example");
  EXPECT_EQ(r_.facts.x_matrix, policy::CheckResult::not_run);
  EXPECT_EQ(r_.decision->rule_id, "out-partners");

  // Allowed inbound, denied outbound: the direction decides.
  request("GET", "/_matrix/federation/v1/user/devices/%40bob%3Agood.example", "");
  Outcome s = run_all();
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 403);
  EXPECT_NE(s.error.reason.find("out-no-devices"), std::string::npos) << s.error.reason;

  // Media: the destination is the media's origin.
  request("GET", "/_matrix/federation/v1/media/download/abc", "");
  ASSERT_EQ(run_all().kind, Outcome::Kind::proceed);
  EXPECT_EQ(r_.facts.server_name, "good.example");

  // Legacy media paths (Synapse's fallback) are the same endpoints towards the destination,
  // whose name the path must carry; inbound they are the explicit-only legacy endpoints.
  request("GET", "/_matrix/media/v3/download/GOOD.example/abc?allow_remote=false", "");
  ASSERT_EQ(run_all().kind, Outcome::Kind::proceed);
  EXPECT_TRUE(r_.route->legacy_media);
  EXPECT_EQ(r_.facts.endpoint, policy::FederationEndpoint::media_download);
  EXPECT_EQ(r_.facts.server_name, "good.example");
  EXPECT_EQ(r_.decision->rule_id, "out-partners");
  request("GET", "/_matrix/media/r0/thumbnail/other.example/abc?width=1", "");
  s = run_all();
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 403);
  EXPECT_EQ(r_.denial, "media_server_not_destination");
  request("GET", "/_matrix/media/v3/download/good.example/abc", "");
  r_.direction = policy::Direction::inbound;
  s = classify_request(r_, http_);
  ASSERT_EQ(s.kind, Outcome::Kind::proceed);
  EXPECT_EQ(r_.route->endpoint, policy::FederationEndpoint::media_legacy_download);
  EXPECT_TRUE(r_.route->legacy_media);

  // A destination outside every federation.
  request("GET", "/_matrix/federation/v1/version", "", "core.example", "stranger.example");
  r_.destination = "stranger.example";
  s = run_all();
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 403);
  EXPECT_EQ(r_.decision->rule_id, "default");
}

TEST_F(OutboundPhasesTest, SendIsInspectedAsTheCoresData) {
  const JsonObject typing_core =
      *matrix::parse_json(R"({"edu_type":"m.typing","content":{"room_id":"!r:core.example",
          "user_id":"@alice:core.example","typing":true}})")
           ->object_if();
  const JsonObject typing_foreign =
      *matrix::parse_json(R"({"edu_type":"m.typing","content":{"room_id":"!r:core.example",
          "user_id":"@mallory:good.example","typing":true}})")
           ->object_if();
  JsonObject tampered = pdu("m.room.message", "!r:core.example");
  (*tampered["content"].object_if())["body"] = Json("changed");
  // A content verdict (a rule on an item, a failed item check) is stored as denied and answered
  // 200 with an error per PDU, so the Core's queue to this server moves on; a refusal of the
  // transaction itself keeps its 4xx.
  struct Case {
    const char* name;
    std::string body;
    int status;  // 0 = proceeds (forwarded)
    const char* reason;  // the decision's reason (stored), or the denial (refused)
    bool stored;
  };
  const Case cases[] = {
      {"allowed room and types",
       transaction({Json(pdu("m.room.message", "!r:core.example"))}, {Json(typing_core)}), 0, "",
       false},
      {"a room not allowed towards the federation",
       transaction({Json(pdu("m.room.message", "!secret:core.example"))}), 200,
       "transaction_denied_by_content", true},
      {"an EDU naming a user of another server", transaction({}, {Json(typing_foreign)}), 200,
       "edu_origin_binding_check_failed", true},
      {"a PDU whose hash fails", transaction({Json(tampered)}), 200, "pdu_hashes_check_failed",
       true},
      {"a transaction origin that is not the Core",
       R"({"origin":"good.example","origin_server_ts":1,"pdus":[]})", 403,
       "transaction_origin_mismatch", false},
  };
  int txn = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    request("PUT", "/_matrix/federation/v1/send/t" + std::to_string(++txn), c.body);
    Outcome s = run_all();
    if (c.status == 0) {
      EXPECT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
      EXPECT_EQ(decision_action(r_), "forward");
      continue;
    }
    ASSERT_EQ(s.kind, Outcome::Kind::respond);
    EXPECT_EQ(s.error.status, c.status) << s.error.reason;
    EXPECT_EQ(decision_action(r_), "deny");
    if (!c.stored) {
      EXPECT_EQ(r_.denial, c.reason) << s.error.reason;
      EXPECT_FALSE(r_.stored());
      continue;
    }
    EXPECT_EQ(r_.decision->reason, c.reason);
    EXPECT_EQ(s.error.reason, "denied");
    ASSERT_TRUE(r_.stored());
    EXPECT_FALSE(r_.quarantined());
    for (const PduVerdict& v : r_.pdus) {
      EXPECT_NE(s.error.json_body.find(v.event_id), std::string::npos) << s.error.json_body;
    }
    if (!r_.pdus.empty()) {
      EXPECT_NE(s.error.json_body.find("Refused by the sending server's border gateway policy"),
                std::string::npos)
          << s.error.json_body;
    }
    auto stored = services_->quarantine->get(r_.quarantine_id);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((**stored).status, quarantine::EntryStatus::denied);
    EXPECT_EQ((**stored).request.verdict, quarantine::StoredVerdict::deny);
    EXPECT_EQ((**stored).request.body, c.body);
    EXPECT_EQ((**stored).request.reason, c.reason);
  }
}

TEST_F(OutboundPhasesTest, AHeldOutboundTransactionIsStoredAnsweredAndRetriedFromTheStore) {
  const JsonObject poll = pdu("m.poll.start", "!r:core.example");
  const std::string body = transaction({Json(poll)});
  request("PUT", "/_matrix/federation/v1/send/held1", body);
  Outcome s = run_all();
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 200);
  EXPECT_EQ(s.error.reason, "quarantined");
  const std::string event_id = r_.pdus.at(0).event_id;
  EXPECT_NE(s.error.json_body.find(event_id), std::string::npos) << s.error.json_body;
  EXPECT_EQ(decision_action(r_), "quarantine");
  const std::string id = r_.quarantine_id;
  ASSERT_FALSE(id.empty());

  auto stored = services_->quarantine->get(id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  const quarantine::HeldRequest& held = (**stored).request;
  EXPECT_EQ(held.direction, "outbound");
  EXPECT_EQ(held.origin, "core.example");
  EXPECT_EQ(held.destination, "good.example");
  EXPECT_EQ(held.body, body);
  EXPECT_EQ(held.rule_id, "out-hold-polls");

  // The audit record and the counters say the direction.
  RequestOutcome o{"PUT", "127.0.0.1", 200, body.size(), 0, {}};
  audit::AuditRecord a = audit_record(r_, o);
  EXPECT_EQ(a.direction, "outbound");
  EXPECT_EQ(a.origin, "core.example");
  EXPECT_EQ(a.destination, "good.example");
  EXPECT_EQ(a.quarantine_id, id);
  // Decided under the policy file read at start: its digest names it.
  EXPECT_EQ(a.policy_sha256, audit::sha256_hex(kPolicy));
  r_.response_note = "response refused: response_event_failed";
  EXPECT_EQ(audit_record(r_, o).note, "response refused: response_event_failed");
  r_.response_note.clear();
  EXPECT_EQ(peer_label(r_), "good.example");
  record_judged(r_, o);
  const std::string metrics = services_->metrics.serialize();
  EXPECT_NE(metrics.find("bordergate_outbound_decisions_total{peer=\"good.example\","
                         "endpoint=\"send\",decision=\"quarantine\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("bordergate_inbound_decisions_total{"), std::string::npos);

  // The Core retries with the same txnId: the stored answer, nothing stored again.
  request("PUT", "/_matrix/federation/v1/send/held1", body);
  s = run_all();
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 200);
  EXPECT_EQ(r_.quarantine_id, id);
  EXPECT_TRUE(r_.held_before.has_value());
  // The retry's own note replaces the others; the TLS listener is still named after it.
  EXPECT_EQ(audit_record(r_, o).note, "retry of a held transaction");
  r_.listener = "connect_tls";
  EXPECT_EQ(audit_record(r_, o).note, "retry of a held transaction; listener=connect_tls");

  // An inbound transaction with the same origin and txnId is another entry's business.
  auto inbound_lookup = services_->quarantine->lookup("inbound", "core.example", "held1");
  ASSERT_TRUE(inbound_lookup.ok());
  EXPECT_FALSE(inbound_lookup->has_value());
}

// The quarantine store is asked off the loop: decide starts the put and suspends, and the
// request resumes at hold, which answers from the put's result. The Core's retry: recall asks
// the store and suspends, and inspect, where it resumes, answers from the entry found without
// inspecting anything.
TEST_F(OutboundPhasesTest, AHeldTransactionResumesAtHoldAndItsRetryIsAnsweredInInspect) {
  std::vector<std::function<void()>> finished;  // work done off the loop, `done` not yet run
  PhaseEnv e = env();
  e.offload = [&](std::function<void()> work, std::function<void()> done) {
    work();
    finished.push_back(std::move(done));
  };
  auto run_finished = [&] {
    for (std::function<void()>& done : finished) done();
    finished.clear();
  };
  const std::string body = transaction({Json(pdu("m.poll.start", "!r:core.example"))});
  request("PUT", "/_matrix/federation/v1/send/held2", body);
  ASSERT_EQ(classify_request(r_, http_).kind, Outcome::Kind::proceed);
  ASSERT_EQ(drive(authentication()).kind, Outcome::Kind::proceed);
  ASSERT_EQ(authorize_request(r_, http_, e).kind, Outcome::Kind::proceed);
  ASSERT_EQ(recall_request(r_, e).kind, Outcome::Kind::proceed);  // nothing held under this txn
  ASSERT_EQ(inspect_request(r_, http_, e).kind, Outcome::Kind::proceed);  // the Core's key pinned
  ASSERT_EQ(verify_events_request(r_, e).kind, Outcome::Kind::proceed);
  Outcome s = decide_request(r_, http_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::suspend);
  EXPECT_EQ(r_.decision->action, policy::Action::quarantine);
  EXPECT_FALSE(r_.quarantine_result.has_value());  // the put's answer is not in yet
  run_finished();
  EXPECT_EQ(resumed_, 1);
  s = hold_request(r_);
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 200);
  EXPECT_EQ(s.error.reason, "quarantined");
  const std::string id = r_.quarantine_id;
  ASSERT_FALSE(id.empty());

  request("PUT", "/_matrix/federation/v1/send/held2", body);
  ASSERT_EQ(classify_request(r_, http_).kind, Outcome::Kind::proceed);
  ASSERT_EQ(drive(authentication()).kind, Outcome::Kind::proceed);
  ASSERT_EQ(authorize_request(r_, http_, e).kind, Outcome::Kind::proceed);
  ASSERT_EQ(recall_request(r_, e).kind, Outcome::Kind::suspend);
  EXPECT_FALSE(r_.held_before.has_value());
  run_finished();
  EXPECT_EQ(resumed_, 2);
  ASSERT_TRUE(r_.held_before.has_value());
  s = inspect_request(r_, http_, e);
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(s.error.status, 200);
  EXPECT_EQ(r_.quarantine_id, id);
  EXPECT_TRUE((*r_.quarantine_result)->existed);
  EXPECT_TRUE(r_.events.empty());  // nothing inspected
  EXPECT_TRUE(r_.pdus.empty());
  EXPECT_TRUE(finished.empty());  // nothing stored again
}

// A tunnel of the TLS proxy listener sets `listener`: every record of its requests names it,
// after whatever else the note says; without it (the plain listener) nothing changes. Direct
// mode sets it the same way (outbound::audited_listener).
TEST_F(OutboundPhasesTest, TheTlsListenerIsNamedInTheNoteOfEveryRecord) {
  const RequestOutcome o{"GET", "127.0.0.1", 200, 0, 0, {}};
  struct Case {
    const char* name;
    const char* target;
    const char* action;
    const char* plain_note;  // without a listener
  };
  const Case cases[] = {
      {"forwarded", "/_matrix/federation/v1/state_ids/%21r%3Agood.example", "forward", ""},
      {"denied by policy", "/_matrix/federation/v1/user/devices/%40bob%3Agood.example", "deny", ""},
      {"legacy media", "/_matrix/media/v3/download/good.example/abc", "forward",
       "legacy media path (/_matrix/media/v3)"},
      {"denied before policy", "/_matrix/media/r0/download/other.example/abc", "deny",
       "legacy media path (/_matrix/media/r0)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    request("GET", c.target, "");
    run_all();
    EXPECT_EQ(decision_action(r_), c.action);
    EXPECT_EQ(audit_record(r_, o).note, c.plain_note);
    r_.listener = "connect_tls";
    const std::string plain = c.plain_note;
    EXPECT_EQ(audit_record(r_, o).note,
              plain.empty() ? "listener=connect_tls" : plain + "; listener=connect_tls");
    r_.response_note = "response refused: response_event_failed";
    EXPECT_EQ(audit_record(r_, o).note,
              (plain.empty() ? "" : plain + "; ") +
                  "response refused: response_event_failed; listener=connect_tls");
  }
  // reset() (between requests of a connection) forgets it, like the direction.
  r_.reset();
  EXPECT_TRUE(r_.listener.empty());
}

TEST_F(OutboundPhasesTest, MembershipEventsBindToTheRightSides) {
  auto invite = [&](const char* invitee) {
    JsonObject e = *matrix::parse_json(R"({"type":"m.room.member","room_id":"!r:core.example",
        "sender":"@alice:core.example","origin_server_ts":1700000000000,"depth":3,
        "prev_events":["$p"],"auth_events":["$a"],"content":{"membership":"invite"}})")
                        ->object_if();
    e["state_key"] = Json(invitee);
    EXPECT_TRUE(
        matrix::hash_and_sign_event(e, *matrix::find_room_version("10"), "core.example", core_)
            .ok());
    const std::string id = *matrix::compute_event_id(e, *matrix::find_room_version("10"));
    return std::make_pair(
        id, matrix::compact_json(Json(JsonObject{{"room_version", Json("10")},
                                                 {"event", Json(e)},
                                                 {"invite_room_state", Json(JsonArray{})}})));
  };
  auto [id_ok, body_ok] = invite("@bob:good.example");
  request("PUT", "/_matrix/federation/v2/invite/%21r%3Acore.example/" + id_ok, body_ok);
  Outcome s = run_all();
  EXPECT_EQ(s.kind, Outcome::Kind::proceed) << s.error.reason;
  EXPECT_EQ(r_.facts.invite_target, "@bob:good.example");

  // Inviting a user of the Core through another server's tunnel.
  auto [id_local, body_local] = invite("@carol:core.example");
  request("PUT", "/_matrix/federation/v2/invite/%21r%3Acore.example/" + id_local, body_local);
  s = run_all();
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(r_.denial, "invitee_not_local");

  // make_join for a user who is not the Core's.
  request("GET", "/_matrix/federation/v1/make_join/%21r%3Agood.example/%40x%3Agood.example", "");
  s = run_all();
  ASSERT_EQ(s.kind, Outcome::Kind::respond);
  EXPECT_EQ(r_.denial, "user_not_on_origin");
  // Outbound answers never teach the gateway a room version.
  EXPECT_FALSE(wants_core_answer(r_, 200));
}

}  // namespace
}  // namespace bordergate::enforcement
