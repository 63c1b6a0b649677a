// Both directions through the one pipeline, without a socket: a RequestFlow over a real policy
// file, key store, quarantine and audit log, with a fake upstream that answers what each test
// scripts and a fake client that writes down what the connection would have sent. An inbound
// request and a request inside an outbound tunnel (admitted by TunnelRequests) take the same
// phases; what differs is data: the admission, the direction, the upstream.
#include "gateway/proxy/request_flow.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/enforcement/record.h"
#include "gateway/enforcement/services.h"
#include "gateway/keystore/worker_queue.h"
#include "gateway/matrix/base64.h"
#include "gateway/matrix/event.h"
#include "gateway/matrix/xmatrix.h"
#include "gateway/outbound/connect_admission.h"
#include "gateway/outbound/connect_target.h"
#include "gateway/proxy/tunnel_requests.h"
#include "tests/unit/enforcement/test_key_store.h"
#include "tests/unit/keystore/fake_fetcher.h"

namespace bordergate {
namespace {

using matrix::Json;
using matrix::JsonArray;
using matrix::JsonObject;

// An inbound request the origin must sign (X-Matrix), and what the Core answers it.
constexpr const char* kStateIds = "/_matrix/federation/v1/state_ids/%21room%3Acore.example";

constexpr const char* kPolicy = R"(version: 1
server_name: core.example
default: deny
defaults:
  media:
    allowed: true
    max_bytes: 1KiB
federations:
  partners:
    servers: [good.example]
rules:
  - id: partners
    federation: partners
    direction: both
    endpoints: ["@all"]
    action: allow
  - id: partners-no-polls
    federation: partners
    direction: both
    event_types: [m.poll.start]
    action: deny
)";

// The upstream of a test: keeps what it was sent; the test answers through sink().
class FakeUpstream final : public Upstream {
 public:
  void send(RequestContext& ctx, AnswerSink& sink) override {
    sent.push_back(ctx.request->method + " " + ctx.request->target);
    sink_ = &sink;
  }
  void cancel() override {
    ++cancelled;
    sink_ = nullptr;
  }
  void pause_reading() override { ++paused; }

  AnswerSink& sink() { return *sink_; }
  bool has_exchange() const { return sink_ != nullptr; }
  void answer(int status, std::string body, std::string content_type = "application/json") {
    HttpResponseHead head;
    head.status = status;
    HeaderField& f = head.headers.add();
    f.name = "Content-Type";
    f.value = std::move(content_type);
    head.content_length = body.size();
    sink_->on_answer_head(head);
    if (sink_ == nullptr) return;  // refused at the head
    sink_->on_answer_body(body.data(), body.size());
    if (sink_ == nullptr) return;
    sink_->on_answer_batch_end();
    sink_->on_answer_complete();
  }

  // As an upstream that reads answers whole (the outbound HTTPS client): a head without a
  // declared length, then the body with its charge to the buffer budget, in one piece.
  void answer_whole(int status, std::string body, BudgetLease lease) {
    HttpResponseHead head;
    head.status = status;
    sink_->on_answer_head(head);
    if (sink_ == nullptr) return;
    sink_->on_answer_whole_body(std::move(body), std::move(lease));
    if (sink_ == nullptr) return;
    sink_->on_answer_complete();
  }

  std::vector<std::string> sent;
  int cancelled = 0;
  int paused = 0;

 private:
  AnswerSink* sink_ = nullptr;
};

// What the connection would have written, one line per call.
class FakeClient final : public RequestFlow::Client {
 public:
  void answer_error(const GatewayError& e, bool close_after) override {
    log.push_back("error " + std::to_string(e.status) + " " + e.errcode +
                  (close_after ? " close" : ""));
    error = e;
  }
  void answer_head(const HttpResponseHead& head) override {
    log.push_back("head " + std::to_string(head.status));
  }
  void answer_body(std::string_view data) override { body += data; }
  void answer_flush() override { log.push_back("flush"); }
  void answer_end() override { log.push_back("end"); }
  void answer_whole(const HttpResponseHead& head, std::shared_ptr<const std::string> data,
                    BudgetLease lease) override {
    log.push_back("whole " + std::to_string(head.status));
    body = *data;
    held_charge = lease.held();
  }
  void answer_cut() override { log.push_back("cut"); }
  void awaiting_keys(bool waiting) override { log.push_back(waiting ? "keys" : "keys done"); }

  std::vector<std::string> log;
  std::string body;
  std::uint64_t held_charge = 0;  // what the held answer's lease carried to the client
  GatewayError error;
};

class RequestFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("bg-flow-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << kPolicy;
    Config c;
    c.server_name = "core.example";
    c.keys.pinned["core.example"][core_.key_id()] = matrix::base64_encode(core_.verify_key().bytes);
    c.keys.pinned["good.example"][good_.key_id()] = matrix::base64_encode(good_.verify_key().bytes);
    c.policy = (dir_ / "policy.yaml").string();
    c.state_dir = dir_.string();
    c.audit.path = (dir_ / "audit.log").string();
    c.quarantine.path = (dir_ / "quarantine.db").string();
    auto s = enforcement::build_enforcement_services(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    services_ = std::move(s.value());
    auto keys = enforcement::testing::key_store_for(c.keys, fetcher_);
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    keys_ = std::move(keys.value());
    uv_loop_init(&loop_);
    queue_ = std::make_unique<keystore::WorkerQueue>(&loop_);
    auto rt = std::make_shared<Runtime>();
    rt->enforcement = services_.get();
    rt->limits.budget = &budget_;
    runtime_ = rt;

    ctx_.request = &http_;
    ctx_.client_ip = &client_ip_;
    ctx_.keys = keys_.get();
    ctx_.mailbox = queue_->mailbox();
    ctx_.resume = [this] { flow_.resume(); };
    ctx_.offload = [this](std::function<void()> work, std::function<void()> done) {
      work();  // the test's thread pool: done runs after the phase returned, on this thread
      offloaded_.push_back(std::move(done));
    };
  }
  void TearDown() override {
    queue_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    keys_.reset();
    services_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The Core's tunnel to `target`, admitted as the front would have admitted it; `resolver`
  // stands in for the worker's discovery.
  void open_tunnel(outbound::TunnelKind kind, const char* target = "good.example:8448",
                   TunnelDestination::Resolver resolver = {}) {
    auto settings = std::make_shared<OutboundSettings>();
    settings->core_server_name = "core.example";
    destination_ =
        std::make_shared<TunnelDestination>(settings, "127.0.0.1", outbound::ProxyListener::connect,
                                            std::move(resolver), services_.get());
    outbound::ConnectDecision decision;
    decision.kind = kind;
    decision.rule_id =
        kind == outbound::TunnelKind::kEgressIntercept ? "egress:push.example" : "partners";
    destination_->admit(services_->policy->snapshot(), *outbound::parse_connect_target(target),
                        decision);
    admission_ = std::make_unique<TunnelRequests>(destination_);
    ctx_.admission = admission_.get();
  }

  // A request read whole: signed by `origin` (key) for `destination` when origin is set.
  void request(const char* method, std::string target, std::string body, const char* origin,
               const char* destination, const matrix::SigningKey* key, const char* host = "") {
    ctx_.reset();
    ctx_.request = &http_;
    ctx_.runtime = runtime_;
    ctx_.started = std::chrono::steady_clock::now();
    http_ = HttpRequest{};
    http_.method = method;
    http_.target = std::move(target);
    http_.body = std::move(body);
    if (*host != '\0') {
      HeaderField& h = http_.headers.add();
      h.name = "Host";
      h.value = host;
    }
    if (key != nullptr) {
      std::optional<Json> content;
      if (!http_.body.empty()) content = *matrix::parse_json(http_.body);
      HeaderField& h = http_.headers.add();
      h.name = "Authorization";
      h.value = *matrix::sign_xmatrix(method, http_.target, origin, destination,
                                      content ? &*content : nullptr, *key);
    }
    client_ = FakeClient{};
  }

  // Runs the flow until it waits for the upstream or answered.
  void start() {
    flow_.start();
    for (int i = 0; i < 200 && flow_.state() == RequestFlow::State::phases; ++i) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::vector<std::function<void()>> done;
      done.swap(offloaded_);
      for (std::function<void()>& d : done) d();
    }
  }

  // The decision records written so far.
  std::vector<JsonObject> audit() {
    services_->audit->flush();
    std::ifstream in(dir_ / "audit.log");
    std::vector<JsonObject> out;
    for (std::string line; std::getline(in, line);) {
      auto j = matrix::parse_json(line);
      if (j && j->is_object() && field(*j->object_if(), "type") == "decision") {
        out.push_back(*j->object_if());
      }
    }
    return out;
  }
  static std::string field(const JsonObject& o, const char* name) {
    auto it = o.find(name);
    if (it == o.end()) return "";
    if (const std::string* s = it->second.string_if()) return *s;
    if (auto n = it->second.int_if()) return std::to_string(*n);
    return "?";
  }

  std::string pdu_transaction(const char* type, const char* origin, const matrix::SigningKey& key) {
    JsonObject e = *matrix::parse_json(R"({"origin_server_ts":1700000000000,"depth":3,
        "prev_events":["$p"],"auth_events":["$a"],"content":{"body":"x"}})")
                        ->object_if();
    e["sender"] = Json("@alice:" + std::string(origin));
    e["type"] = Json(type);
    e["room_id"] = Json("!room:core.example");
    EXPECT_TRUE(matrix::hash_and_sign_event(e, *matrix::find_room_version("10"), origin, key).ok());
    return matrix::compact_json(Json(JsonObject{{"origin", Json(origin)},
                                                {"origin_server_ts", Json(std::int64_t{1})},
                                                {"pdus", Json(JsonArray{Json(std::move(e))})}}));
  }

  matrix::SigningKey core_ = matrix::SigningKey::generate("c1");
  matrix::SigningKey good_ = matrix::SigningKey::generate("g1");
  matrix::SigningKey stranger_ = matrix::SigningKey::generate("s1");
  std::filesystem::path dir_;
  std::unique_ptr<enforcement::EnforcementServices> services_;
  keystore::testing::FakeFetcher fetcher_;
  std::unique_ptr<keystore::ServerKeyStore> keys_;
  uv_loop_t loop_{};
  std::unique_ptr<keystore::WorkerQueue> queue_;
  BodyBudget budget_{64 << 20};  // limits.max_buffered_bytes
  std::shared_ptr<const Runtime> runtime_;
  std::shared_ptr<TunnelDestination> destination_;
  std::unique_ptr<TunnelRequests> admission_;
  HttpRequest http_;
  std::string client_ip_ = "127.0.0.1";
  RequestContext ctx_;
  FakeUpstream upstream_;
  FakeClient client_;
  std::vector<std::function<void()>> offloaded_;  // `done` of work offloaded, not yet run
  RequestFlow flow_{ctx_, upstream_, client_};
  Metrics metrics_{1};
};

TEST_F(RequestFlowTest, AnInboundRequestWalksThePhasesAndStreamsTheCoresAnswer) {
  request("GET", kStateIds, "", "good.example", "core.example", &good_);
  start();
  ASSERT_EQ(flow_.state(), RequestFlow::State::exchanging)
      << ::testing::PrintToString(client_.log) << " " << client_.error.reason;
  EXPECT_EQ(upstream_.sent, std::vector<std::string>{std::string("GET ") + kStateIds});
  EXPECT_EQ(ctx_.phase, Phase::forward);
  EXPECT_EQ(ctx_.direction(), Direction::inbound);
  EXPECT_EQ(ctx_.judged.origin, "good.example");
  upstream_.answer(200, R"({"auth_chain_ids":[],"pdu_ids":[]})");
  EXPECT_EQ(client_.log, (std::vector<std::string>{"head 200", "flush", "end"}));
  EXPECT_EQ(client_.body, R"({"auth_chain_ids":[],"pdu_ids":[]})");
  EXPECT_EQ(flow_.state(), RequestFlow::State::answered);
  flow_.record(metrics_.worker(0));
  EXPECT_EQ(flow_.state(), RequestFlow::State::idle);
  const auto records = audit();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(field(records[0], "direction"), "inbound");
  EXPECT_EQ(field(records[0], "endpoint"), "state_ids");
  EXPECT_EQ(field(records[0], "origin"), "good.example");
  EXPECT_EQ(field(records[0], "action"), "forward");
  EXPECT_EQ(field(records[0], "status"), "200");
}

TEST_F(RequestFlowTest, RefusalsAreAnsweredByTheGatewayWithTheirSource) {
  struct Case {
    const char* name;
    const char* origin;
    const matrix::SigningKey* key;
    std::string body;
    int status;
    const char* errcode;
    const char* outcome;
  };
  const Case cases[] = {
      {"no X-Matrix", "", nullptr, "", 401, "M_UNAUTHORIZED", "denied"},
      {"a server outside every federation", "stranger.example", &stranger_, "", 401,
       "M_UNAUTHORIZED", "denied"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fetcher_.direct.insert_or_assign("stranger.example",
                                     Result<std::string>(make_error("connect_failed", "no")));
    const bool send = !c.body.empty();
    request(send ? "PUT" : "GET", send ? "/_matrix/federation/v1/send/t1" : kStateIds, c.body,
            c.origin, "core.example", c.key);
    start();
    ASSERT_EQ(flow_.state(), RequestFlow::State::answered);
    ASSERT_FALSE(client_.log.empty());
    EXPECT_EQ(client_.log.back().substr(0, 5), "error") << ::testing::PrintToString(client_.log);
    EXPECT_EQ(client_.error.status, c.status) << client_.error.reason;
    EXPECT_STREQ(client_.error.errcode, c.errcode);
    EXPECT_STREQ(ctx_.outcome, c.outcome);
    EXPECT_TRUE(upstream_.sent.empty());
    flow_.record(metrics_.worker(0));
  }
}

TEST_F(RequestFlowTest, CoreFailuresMapToTheirAnswerInOneTable) {
  struct Case {
    Failure failure;
    int status;
    const char* text;
  };
  const Case cases[] = {
      {Failure::core_refused, 502, "The homeserver refused the connection"},
      {Failure::core_response_timeout, 504, "Timed out waiting for the homeserver"},
      {Failure::core_tls, 502, "TLS with the homeserver failed"},
  };
  for (const Case& c : cases) {
    request("GET", kStateIds, "", "good.example", "core.example", &good_);
    start();
    ASSERT_TRUE(upstream_.has_exchange());
    upstream_.sink().on_answer_failed(UpstreamFailure{c.failure, "code", "detail"});
    ASSERT_EQ(client_.log.size(), 1u);
    EXPECT_EQ(client_.error.status, c.status);
    EXPECT_EQ(client_.error.reason, c.text);
    EXPECT_EQ(client_.error.source, ErrorSource::core);
    EXPECT_STREQ(ctx_.outcome, "upstream_error");
    flow_.record(metrics_.worker(0));
    upstream_.sent.clear();
  }
}

TEST_F(RequestFlowTest, AFailureAfterPartOfTheAnswerCutsTheConnection) {
  request("GET", kStateIds, "", "good.example", "core.example", &good_);
  start();
  HttpResponseHead head;
  head.status = 200;
  upstream_.sink().on_answer_head(head);
  upstream_.sink().on_answer_body("{", 1);
  upstream_.sink().on_answer_failed(UpstreamFailure{Failure::core_reset, "reset", "gone"});
  EXPECT_EQ(client_.log, (std::vector<std::string>{"head 200", "cut"}));
  EXPECT_STREQ(ctx_.outcome, "upstream_error");
}

TEST_F(RequestFlowTest, MediaTheCoreAnswersIsHeldAndJudgedWhole) {
  const std::string target = "/_matrix/federation/v1/media/download/abc";
  const std::string type = "multipart/mixed; boundary=b0";
  const auto multipart = [](std::size_t bytes) {
    return "--b0\r\nContent-Type: application/json\r\n\r\n{}\r\n--b0\r\n"
           "Content-Type: text/plain\r\n\r\n" +
           std::string(bytes, 'x') + "\r\n--b0--\r\n";
  };
  // Within the policy's 1 KiB: held, judged, then sent whole with the gateway's framing.
  request("GET", target, "", "good.example", "core.example", &good_);
  start();
  upstream_.answer(200, multipart(1000), type);
  EXPECT_EQ(client_.log, (std::vector<std::string>{"whole 200"}));
  EXPECT_EQ(client_.body, multipart(1000));
  flow_.record(metrics_.worker(0));

  // One byte over: refused whole, nothing of it sent.
  request("GET", target, "", "good.example", "core.example", &good_);
  start();
  upstream_.answer(200, multipart(1025), type);
  ASSERT_EQ(client_.log.size(), 1u) << ::testing::PrintToString(client_.log);
  EXPECT_EQ(client_.error.status, 413);
  EXPECT_STREQ(client_.error.errcode, "M_TOO_LARGE");
  EXPECT_EQ(client_.error.source, ErrorSource::policy);
  EXPECT_STREQ(ctx_.outcome, "denied");
  flow_.record(metrics_.worker(0));

  // Announced beyond what is ever held for 1 KiB (the limit plus 64 KiB of multipart
  // framing): refused at the head, the exchange given up.
  request("GET", target, "", "good.example", "core.example", &good_);
  start();
  upstream_.answer(200, std::string(1024 + 64 * 1024 + 1, 'x'), type);
  ASSERT_EQ(client_.log.size(), 1u) << ::testing::PrintToString(client_.log);
  EXPECT_EQ(client_.error.status, 413);
  EXPECT_EQ(upstream_.cancelled, 1);
  flow_.record(metrics_.worker(0));

  // Without a length it outgrows the limit while it is held: nothing was sent before.
  request("GET", target, "", "good.example", "core.example", &good_);
  start();
  HttpResponseHead head;
  head.status = 200;
  upstream_.sink().on_answer_head(head);
  EXPECT_EQ(flow_.state(), RequestFlow::State::holding);
  const std::string chunk(40 * 1024, 'x');
  upstream_.sink().on_answer_body(chunk.data(), chunk.size());
  EXPECT_TRUE(client_.log.empty());
  upstream_.sink().on_answer_body(chunk.data(), chunk.size());
  ASSERT_EQ(client_.log.size(), 1u);
  EXPECT_EQ(client_.error.status, 413);
  EXPECT_EQ(upstream_.cancelled, 2);
}

TEST_F(RequestFlowTest, OutboundRequestIsAdmittedJudgedAndItsAnswerHeldWhole) {
  open_tunnel(outbound::TunnelKind::kFederation);
  request("PUT", "/_matrix/federation/v1/send/t1",
          pdu_transaction("m.room.message", "core.example", core_), "core.example", "good.example",
          &core_, "good.example");
  start();
  ASSERT_EQ(flow_.state(), RequestFlow::State::exchanging)
      << ::testing::PrintToString(client_.log) << " " << client_.error.reason;
  EXPECT_EQ(ctx_.direction(), Direction::outbound);
  EXPECT_EQ(ctx_.judged.destination, "good.example");
  EXPECT_TRUE(ctx_.enforcing());
  upstream_.answer(200, R"({"pdus":{}})");
  // An external server's answer reaches the Core only whole, after check_answer.
  EXPECT_EQ(client_.log, (std::vector<std::string>{"whole 200"}));
  EXPECT_EQ(client_.body, R"({"pdus":{}})");
  flow_.record(metrics_.worker(0));
  const auto records = audit();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(field(records[0], "direction"), "outbound");
  EXPECT_EQ(field(records[0], "endpoint"), "send");
  EXPECT_EQ(field(records[0], "destination"), "good.example");
  EXPECT_EQ(field(records[0], "action"), "forward");
}

TEST_F(RequestFlowTest, AnExternalAnswerReadWholeIsTakenOverWithItsChargeNotCopied) {
  open_tunnel(outbound::TunnelKind::kFederation);
  request("PUT", "/_matrix/federation/v1/send/t1",
          pdu_transaction("m.room.message", "core.example", core_), "core.example", "good.example",
          &core_, "good.example");
  start();
  ASSERT_EQ(flow_.state(), RequestFlow::State::exchanging);
  // The client that read the answer charged it; the flow holds it without a second charge (an
  // answer over half the budget would otherwise be refused for counting twice).
  const std::string body = R"({"pdus":{}})" + std::string(40 << 20, ' ');
  BudgetLease lease(&budget_, BufferKind::answer);
  ASSERT_TRUE(lease.grow_to(body.size()));
  upstream_.answer_whole(200, body, std::move(lease));
  EXPECT_EQ(client_.log, (std::vector<std::string>{"whole 200"}));
  EXPECT_EQ(client_.body.size(), body.size());
  EXPECT_EQ(client_.held_charge, body.size());  // carried to the client, which sends it
  EXPECT_EQ(budget_.in_use(), 0u);              // and gives it back once the lease ends
  EXPECT_EQ(budget_.refused(), 0u);
}

// A content verdict on /send, in either direction: the transaction is stored (off the loop, the
// request suspends) and answered 200 with an error for its PDU, never forwarded.
TEST_F(RequestFlowTest, AContentVerdictOnSendIsStoredAndAnswered200InBothDirections) {
  struct Case {
    const char* name;
    bool outbound;
  };
  for (const Case& c : {Case{"inbound", false}, Case{"outbound", true}}) {
    SCOPED_TRACE(c.name);
    client_ = FakeClient{};
    if (c.outbound) {
      open_tunnel(outbound::TunnelKind::kFederation);
      request("PUT", "/_matrix/federation/v1/send/t2",
              pdu_transaction("m.poll.start", "core.example", core_), "core.example",
              "good.example", &core_, "good.example");
    } else {
      request("PUT", "/_matrix/federation/v1/send/t2",
              pdu_transaction("m.poll.start", "good.example", good_), "good.example",
              "core.example", &good_);
    }
    start();
    ASSERT_EQ(flow_.state(), RequestFlow::State::answered);
    ASSERT_FALSE(client_.log.empty());
    EXPECT_EQ(client_.log.back(), "error 200 M_UNKNOWN") << ::testing::PrintToString(client_.log);
    EXPECT_EQ(client_.error.status, 200);
    EXPECT_EQ(client_.error.source, ErrorSource::policy);
    EXPECT_EQ(client_.error.reason, "denied");
    EXPECT_NE(client_.error.json_body.find("\"error\":\"Refused by the"), std::string::npos)
        << client_.error.json_body;
    EXPECT_TRUE(upstream_.sent.empty());
    ASSERT_TRUE(ctx_.judged.stored());
    EXPECT_EQ(enforcement::decision_action(ctx_.judged), "deny");
    EXPECT_EQ(ctx_.judged.decision->rule_id, "partners-no-polls");
    auto entry = services_->quarantine->get(ctx_.judged.quarantine_id);
    ASSERT_TRUE(entry.ok() && entry->has_value());
    EXPECT_EQ((**entry).status, quarantine::EntryStatus::denied);
    EXPECT_EQ((**entry).request.direction, c.name);
    flow_.record(metrics_.worker(0));
  }
}

TEST_F(RequestFlowTest, TheTunnelBindingRefusesBeforeAnyPolicyAndIsAudited) {
  open_tunnel(outbound::TunnelKind::kFederation);
  request("GET", "/_matrix/federation/v1/version", "", "core.example", "good.example", &core_,
          "other.example");
  start();
  ASSERT_EQ(client_.log, (std::vector<std::string>{"error 403 M_FORBIDDEN"}));
  EXPECT_FALSE(ctx_.enforcing());
  EXPECT_TRUE(upstream_.sent.empty());
  ctx_.status = 403;
  flow_.record(metrics_.worker(0));
  const auto records = audit();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(field(records[0], "direction"), "outbound");
  EXPECT_EQ(field(records[0], "endpoint"), "version");
  EXPECT_EQ(field(records[0], "rule_id"), "tunnel_binding");
  EXPECT_EQ(field(records[0], "reason"), "host_mismatch");
  EXPECT_EQ(field(records[0], "origin"), "core.example");
  EXPECT_EQ(field(records[0], "server_name"), "good.example:8448");
}

TEST_F(RequestFlowTest, EgressIsForwardedUnjudgedAndRecorded) {
  open_tunnel(outbound::TunnelKind::kEgressIntercept, "push.example:443");
  request("POST", "/_matrix/push/v1/notify", R"({"notification":{}})", "", "", nullptr,
          "push.example");
  start();
  ASSERT_EQ(upstream_.sent, std::vector<std::string>{"POST /_matrix/push/v1/notify"});
  EXPECT_FALSE(ctx_.enforcing());
  upstream_.answer(200, "{}");
  EXPECT_EQ(client_.log, (std::vector<std::string>{"whole 200"}));
  flow_.record(metrics_.worker(0));
  const auto records = audit();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(field(records[0], "endpoint"), "egress");
  EXPECT_EQ(field(records[0], "reason"), "egress_intercept");
  EXPECT_EQ(field(records[0], "rule_id"), "egress:push.example");
}

TEST_F(RequestFlowTest, ARemoteAnswerThatFailsItsCheckIsRefusedAsTheRemotesFault) {
  open_tunnel(outbound::TunnelKind::kFederation);
  const std::string target =
      "/_matrix/federation/v1/make_join/%21room%3Agood.example/"
      "%40alice%3Acore.example?ver=10";
  request("GET", target, "", "core.example", "good.example", &core_, "good.example");
  start();
  ASSERT_TRUE(upstream_.has_exchange()) << ::testing::PrintToString(client_.log);
  upstream_.answer(200, "not json");
  ASSERT_EQ(client_.log.size(), 1u) << ::testing::PrintToString(client_.log);
  EXPECT_EQ(client_.error.status, 502);
  EXPECT_EQ(client_.error.source, ErrorSource::remote);
  EXPECT_STREQ(ctx_.outcome, "upstream_error");
  EXPECT_EQ(ctx_.judged.denial, "response_malformed");
}

TEST_F(RequestFlowTest, RemoteFailuresMapToTheirAnswerInOneTable) {
  open_tunnel(outbound::TunnelKind::kFederation);
  struct Case {
    Failure failure;
    int status;
  } cases[] = {{Failure::remote_unreachable, 502},
               {Failure::remote_timeout, 504},
               {Failure::remote_too_large, 502}};
  for (const Case& c : cases) {
    request("GET", "/_matrix/federation/v1/version", "", "core.example", "good.example", &core_,
            "good.example");
    start();
    ASSERT_TRUE(upstream_.has_exchange());
    upstream_.sink().on_answer_failed(UpstreamFailure{c.failure, "code", "detail"});
    EXPECT_EQ(client_.error.status, c.status);
    EXPECT_EQ(client_.error.source, ErrorSource::remote);
    flow_.record(metrics_.worker(0));
  }
}

TEST_F(RequestFlowTest, AKeyWaitThatRunsOutIsAnsweredWithoutTheKeys) {
  // An unpinned server whose key fetch never answers: the wait is cut as the connection's
  // key-wait timer would.
  fetcher_.hold = true;
  request("GET", kStateIds, "", "stranger.example", "core.example", &stranger_);
  flow_.start();
  ASSERT_EQ(flow_.state(), RequestFlow::State::phases);
  EXPECT_EQ(client_.log, std::vector<std::string>{"keys"});
  flow_.key_wait_expired();
  ASSERT_EQ(client_.log.size(), 2u) << ::testing::PrintToString(client_.log);
  EXPECT_EQ(client_.error.status, 401);
  EXPECT_EQ(ctx_.judged.denial, "key_fetch_timeout");
  fetcher_.hold = false;
  fetcher_.release();
  flow_.record(metrics_.worker(0));
  ctx_.reset();  // the request ends: the late key answer resumes nothing
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(client_.log.size(), 2u);
}

// A pending-delegation tunnel (the Core CONNECTed to a host the operator listed) serves one
// federation member, the one its first request names, and only once the gateway's own discovery
// of that member leads to this tunnel; a binding that fails kills the tunnel.
TEST_F(RequestFlowTest, ADelegatedTunnelIsBoundByItsFirstRequest) {
  // Discovery that fails, and says what it was asked.
  std::vector<std::string> resolved;
  const auto failing = [&](std::string_view name, std::function<void(discovery::Discovery)> done) {
    resolved.emplace_back(name);
    done(discovery::Discovery{make_error("srv_failed", "no such name"), {}, 0});
  };
  open_tunnel(outbound::TunnelKind::kPendingDelegation, "matrix.host.example:8448", failing);
  destination_->sni = "matrix.host.example";
  // Not a member of any federation: refused, and the tunnel closes after the answer.
  request("GET", "/_matrix/federation/v1/version", "", "core.example", "stranger.example", &core_,
          "matrix.host.example");
  start();
  ASSERT_EQ(client_.log, (std::vector<std::string>{"error 403 M_FORBIDDEN close"}));
  EXPECT_NE(client_.error.reason.find("destination_not_member"), std::string::npos);
  EXPECT_TRUE(resolved.empty());
  flow_.record(metrics_.worker(0));
  // The same tunnel refuses whatever comes after, even for a member.
  request("GET", "/_matrix/federation/v1/version", "", "core.example", "good.example", &core_,
          "matrix.host.example");
  start();
  EXPECT_EQ(client_.log, (std::vector<std::string>{"error 403 M_FORBIDDEN close"}));
  flow_.record(metrics_.worker(0));

  // A member whose discovery fails: the request waited for it, then the tunnel is dead (502).
  open_tunnel(outbound::TunnelKind::kPendingDelegation, "matrix.host.example:8448", failing);
  destination_->sni = "matrix.host.example";
  request("GET", "/_matrix/federation/v1/version", "", "core.example", "good.example", &core_,
          "matrix.host.example");
  start();
  EXPECT_EQ(resolved, std::vector<std::string>{"good.example"});
  ASSERT_EQ(client_.log, (std::vector<std::string>{"error 502 M_UNKNOWN close"}));
  EXPECT_NE(client_.error.reason.find("destination_unresolved"), std::string::npos);
  EXPECT_TRUE(upstream_.sent.empty());
  ctx_.status = 502;
  flow_.record(metrics_.worker(0));
  const auto records = audit();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(field(records[2], "rule_id"), "delegation_binding");
  EXPECT_EQ(field(records[2], "reason"), "destination_unresolved");
  EXPECT_EQ(field(records[2], "destination"), "good.example");
  EXPECT_EQ(field(records[2], "server_name"), "matrix.host.example:8448");
}

}  // namespace
}  // namespace bordergate
