#include "gateway/proxy/proxy_tunnel.h"

#include <span>

#include "gateway/common/ascii.h"
#include "gateway/common/log.h"
#include "gateway/http/headers.h"
#include "gateway/inbound/classifier.h"
#include "gateway/inbound/inbound_services.h"
#include "gateway/inbound/room_versions.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/outbound/client_hello.h"
#include "gateway/outbound/connect_admission.h"
#include "gateway/outbound/connect_record.h"
#include "gateway/outbound/connect_target.h"
#include "gateway/outbound/tunnel_binding.h"
#include "gateway/proxy/federation.h"
#include "gateway/proxy/worker.h"
#include "policy/evaluate.h"

namespace bordergate {
namespace {

// Splice backpressure: above this many bytes queued towards one side, the other is not read.
constexpr std::size_t kHighWater = 1 << 20;
// Bytes the Core may send while the splice destination is still being resolved and dialled
// (it waits for the ServerHello, so a real client sends nothing here).
constexpr std::size_t kMaxEarlyBytes = 256 * 1024;
// The ClientHello may span records up to 64 KiB (client_hello.h) plus one record header.
constexpr std::size_t kMaxGateBytes = 64 * 1024 + 16 * 1024 + 5;

constexpr std::string_view kBadHead =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Fields the gateway never passes to the external server: hop-by-hop, framing it recomputes,
// the Host it sets from discovery, and anything addressed to the proxy itself.
bool dropped_towards_peer(const HeaderField& f, const HeaderList& all) {
  static constexpr std::string_view kDropped[] = {"host",
                                                  "content-length",
                                                  "expect",
                                                  "proxy-authorization",
                                                  "proxy-authenticate",
                                                  "x-forwarded-for",
                                                  "x-forwarded-proto",
                                                  "forwarded"};
  for (std::string_view d : kDropped) {
    if (ascii_iequals(f.name, d)) return true;
  }
  return is_hop_by_hop(f.name, all);
}

audit::AuditLog* audit_log(Worker& worker) {
  const auto& rt = worker.runtime();
  return rt && rt->inbound != nullptr ? rt->inbound->audit.get() : nullptr;
}

}  // namespace

ProxyTunnel::ProxyTunnel(Worker& worker, OutboundServices& services, Stream& client, Owner& owner,
                         std::string client_ip)
    : worker_(worker),
      services_(services),
      client_(client),
      owner_(owner),
      client_ip_(std::move(client_ip)),
      dial_timer_(worker.loop(), &ProxyTunnel::on_dial_timeout, this),
      alive_(std::make_shared<ProxyTunnel*>(this)) {
  services_.metrics.connection_opened();
}

ProxyTunnel::~ProxyTunnel() { services_.metrics.connection_closed(); }

void ProxyTunnel::audit(const outbound::ProxyDecisionFacts& facts) {
  services_.metrics.decision(direct_, facts.allowed, facts.reason);
  if (audit::AuditLog* log = audit_log(worker_)) log->submit(outbound::proxy_audit_record(facts));
}

void ProxyTunnel::on_client_bytes(const char* data, size_t len) {
  switch (stage_) {
    case Stage::head: {
      std::size_t consumed = 0;
      auto state = head_parser_.feed(std::string_view(data, len), consumed);
      if (state == outbound::ConnectHeadParser::State::kNeedMore) return;
      if (state == outbound::ConnectHeadParser::State::kError) {
        stage_ = Stage::closed;
        client_.write(kBadHead);
        client_.flush();
        outbound::ProxyDecisionFacts f;
        f.client_ip = client_ip_;
        f.method = head_parser_.head().method;
        f.endpoint = "connect";
        f.rule_id = "default";
        f.reason = "malformed_proxy_request";
        f.status = 400;
        audit(f);
        owner_.tunnel_close(true);
        return;
      }
      answer_head(std::string(data + consumed, len - consumed));
      return;
    }
    case Stage::gate:
      buffered_.append(data, len);
      run_gate();
      return;
    case Stage::resolving:
      buffered_.append(data, len);
      if (buffered_.size() > kMaxEarlyBytes) refuse_tunnel("early_data_too_large");
      return;
    case Stage::splicing:
      owner_.tunnel_activity();
      services_.metrics.spliced(true, len);
      destination_->write(std::string_view(data, len));
      destination_->flush();
      if (destination_->bytes_in_flight() > kHighWater) client_.read_stop();
      return;
    case Stage::intercepted:
    case Stage::closed:
      return;
  }
}

void ProxyTunnel::answer_head(std::string rest) {
  const auto& rt = worker_.runtime();
  policy_ = rt->inbound != nullptr ? rt->inbound->policy->snapshot() : nullptr;
  const outbound::ConnectHead& head = head_parser_.head();
  head_target_ = head.target.substr(0, 255);
  outbound::ProxyRules rules{&*services_.credentials, policy_.get(), &services_.egress,
                             &services_.guard, &services_.delegation};
  outbound::ConnectAnswer a;
  if (policy_ == nullptr) {
    a.status = 503;
    a.reason = "no_policy";
    a.rule_id = "default";
    a.response =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  } else {
    a = outbound::answer_connect(head, rules);
  }
  client_.write(a.response);
  client_.flush();
  outbound::ProxyDecisionFacts f;
  f.client_ip = client_ip_;
  f.method = head.method;
  f.target = head_target_;
  f.parsed = a.target ? &*a.target : nullptr;
  f.endpoint = "connect";
  f.allowed = a.status == 200;
  f.rule_id = a.rule_id;
  f.reason = a.reason;
  f.status = a.status;
  audit(f);
  if (a.status != 200) {
    stage_ = Stage::closed;
    owner_.tunnel_close(true);
    return;
  }
  target_ = std::move(a.target);
  decision_ = std::move(a.decision);
  stage_ = Stage::gate;
  buffered_ = std::move(rest);
  if (!buffered_.empty()) run_gate();
}

void ProxyTunnel::refuse_tunnel(std::string_view reason) {
  stage_ = Stage::closed;
  outbound::ProxyDecisionFacts f;
  f.client_ip = client_ip_;
  f.method = direct_ ? "TLS" : "CONNECT";
  f.target = head_target_;
  f.parsed = target_ ? &*target_ : nullptr;
  f.endpoint = "tunnel";
  f.rule_id = reason == "ssrf_refused" ? "ssrf" : "tunnel_gate";
  f.reason = reason;
  audit(f);
  log_event(LogLevel::info, "outbound_tunnel_closed",
            {{"client", client_ip_}, {"target", head_target_}, {"reason", reason}});
  owner_.tunnel_close(false);
}

void ProxyTunnel::start_direct() {
  direct_ = true;
  stage_ = Stage::gate;
}

void ProxyTunnel::refuse_direct(std::string_view rule_id, std::string_view reason) {
  stage_ = Stage::closed;
  outbound::ProxyDecisionFacts f;
  f.client_ip = client_ip_;
  f.method = "TLS";
  f.target = head_target_;
  f.parsed = target_ ? &*target_ : nullptr;
  f.endpoint = "direct";
  f.rule_id = rule_id;
  f.reason = reason;
  audit(f);
  log_event(LogLevel::info, "outbound_direct_refused",
            {{"client", client_ip_}, {"sni", head_target_}, {"reason", reason}});
  owner_.tunnel_close(false);  // nothing to answer: the Core sees its handshake fail
}

bool ProxyTunnel::admit_direct() {
  auto bytes = std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(buffered_.data()), buffered_.size());
  // The SNI is the only statement of where the Core wants to go: the gate of a delegated tunnel
  // asks exactly what direct mode needs (a ClientHello whose SNI is a DNS name without port; an
  // IP literal is never an SNI, RFC 6066), and plain HTTP is turned away after its first byte.
  outbound::TunnelGateVerdict v = outbound::gate_delegated_tunnel(bytes);
  if (v.server_name) head_target_ = v.server_name->substr(0, 255);
  if (v.action == outbound::TunnelGateVerdict::Action::kNeedMore) {
    if (buffered_.size() > kMaxGateBytes) refuse_direct("tunnel_gate", "client_hello_too_large");
    return false;
  }
  if (v.action == outbound::TunnelGateVerdict::Action::kClose) {
    refuse_direct("tunnel_gate", v.reason);
    return false;
  }
  const std::string& sni = *v.server_name;
  // The Core dialled port 8448 of the name it resolved to this listener (no SRV, no
  // delegation: docs/deployment.md), so the destination is the server name the SNI carries.
  auto target = outbound::parse_connect_target(sni + ":8448");
  if (!target || target->name.is_ip_literal()) {
    refuse_direct("tunnel_gate", "sni_invalid");
    return false;
  }
  const auto& rt = worker_.runtime();
  policy_ = rt->inbound != nullptr ? rt->inbound->policy->snapshot() : nullptr;
  if (policy_ == nullptr) {
    refuse_direct("default", "no_policy");
    return false;
  }
  decision_ = outbound::admit_connect(*policy_, services_.egress, services_.guard, *target);
  target_ = std::move(*target);
  if (decision_.kind != outbound::TunnelKind::kFederation) {
    // Egress (push gateways, previews) goes through the CONNECT listener, whose entries name
    // their ports; direct mode only ever reaches federation members.
    refuse_direct(decision_.rule_id,
                  decision_.allowed() ? "direct_not_federation" : decision_.reason);
    return false;
  }
  outbound::ProxyDecisionFacts f;
  f.client_ip = client_ip_;
  f.method = "TLS";
  f.target = head_target_;
  f.parsed = &*target_;
  f.endpoint = "direct";
  f.allowed = true;
  f.rule_id = decision_.rule_id;
  f.reason = decision_.reason;
  audit(f);
  return true;
}

void ProxyTunnel::on_timeout() {
  if (stage_ == Stage::gate || stage_ == Stage::resolving) refuse_tunnel("tunnel_timeout");
}

void ProxyTunnel::run_gate() {
  if (direct_ && !target_ && !admit_direct()) return;
  if (decision_.kind == outbound::TunnelKind::kPendingDelegation) return run_delegated_gate();
  auto bytes = std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(buffered_.data()), buffered_.size());
  outbound::TunnelGateVerdict v = outbound::gate_tunnel(*target_, bytes);
  if (v.action == outbound::TunnelGateVerdict::Action::kNeedMore) {
    if (buffered_.size() > kMaxGateBytes) refuse_tunnel("client_hello_too_large");
    return;
  }
  if (v.action == outbound::TunnelGateVerdict::Action::kClose) {
    std::string reason = v.reason;
    refuse_tunnel(reason);
    return;
  }
  if (decision_.kind == outbound::TunnelKind::kEgressTunnel) {
    start_splice();
    return;
  }
  auto ctx = services_.minter->context_for(target_->name, std::chrono::system_clock::now());
  if (!ctx) {
    log_event(LogLevel::error, "outbound_leaf_failed", {{"error", ctx.error().message}});
    refuse_tunnel("leaf_unavailable");
    return;
  }
  leaf_context_ = std::move(*ctx);
  stage_ = Stage::intercepted;
  std::string first = std::move(buffered_);
  buffered_.clear();
  owner_.tunnel_start_tls(leaf_context_.get(), first);
}

void ProxyTunnel::resolve_destination(std::function<void(Result<discovery::ResolvedServer>)> done) {
  if (resolved_) return done(*resolved_);
  WorkerFederation* wf = worker_.federation();
  if (wf == nullptr) return done(make_error("no_resolver", "outbound discovery is unavailable"));
  // Federation tunnels resolve the Matrix server name (well-known, SRV, static routes); egress
  // names carry their port, which makes discovery a plain address lookup. The SSRF guard judges
  // every answer either way.
  std::string name = decision_.kind == outbound::TunnelKind::kFederation
                         ? target_->matrix_server_name()
                         : target_->name.authority();
  // A pending-delegation tunnel goes to the member its requests name, never to the CONNECT host.
  if (decision_.kind == outbound::TunnelKind::kPendingDelegation) name = claimed_destination_;
  std::weak_ptr<ProxyTunnel*> alive = alive_;
  wf->resolver().resolve(name, [alive, done = std::move(done)](discovery::Discovery d) {
    auto self = alive.lock();
    if (!self) return;
    if (d.result) (*self)->resolved_ = *d.result;
    done(d.result);
  });
}

void ProxyTunnel::start_splice() {
  stage_ = Stage::resolving;
  resolve_destination([this](Result<discovery::ResolvedServer> r) {
    if (stage_ != Stage::resolving) return;
    if (!r) {
      refuse_tunnel(r.error().code == "ssrf_refused" ? "ssrf_refused" : "destination_unresolved");
      return;
    }
    next_target_ = 0;
    connect_next();
  });
}

void ProxyTunnel::connect_next() {
  if (next_target_ >= resolved_->targets.size()) {
    refuse_tunnel("destination_unreachable");
    return;
  }
  const discovery::ConnectTarget& t = resolved_->targets[next_target_++];
  destination_ = std::make_unique<Stream>(worker_.loop(), *this);
  sockaddr_storage address{};
  t.address.to_sockaddr(t.port, reinterpret_cast<sockaddr*>(&address));
  dial_timer_.start(static_cast<std::uint64_t>(services_.config->connect_timeout.count()));
  if (destination_->connect(reinterpret_cast<sockaddr*>(&address)) != 0) destination_->close();
}

void ProxyTunnel::on_dial_timeout(void* self) {
  auto* t = static_cast<ProxyTunnel*>(self);
  // on_stream_closed tries the next address, as after a refused connect.
  if (t->stage_ == Stage::resolving && t->destination_) t->destination_->close();
}

void ProxyTunnel::on_stream_connected(int status) {
  dial_timer_.stop();
  if (status != 0) {
    destination_->close();  // on_stream_closed tries the next address
    return;
  }
  destination_connected_ = true;
  stage_ = Stage::splicing;
  owner_.tunnel_activity();
  destination_->read_start();
  destination_->write(buffered_);
  destination_->flush();
  buffered_.clear();
  buffered_.shrink_to_fit();
}

void ProxyTunnel::on_stream_data(const char* data, size_t len) {
  owner_.tunnel_activity();
  services_.metrics.spliced(false, len);
  client_.write(std::string_view(data, len));
  client_.flush();
  if (client_.bytes_in_flight() > kHighWater) destination_->read_stop();
}

void ProxyTunnel::on_stream_end(int, bool) {
  destination_->close();
  if (stage_ == Stage::splicing) {
    stage_ = Stage::closed;
    owner_.tunnel_close(true);
  }
}

void ProxyTunnel::on_stream_drained() {
  if (stage_ == Stage::splicing) client_.read_start();
}

void ProxyTunnel::on_client_drained() {
  if (stage_ == Stage::splicing && destination_) destination_->read_start();
}

void ProxyTunnel::on_stream_closed() {
  std::unique_ptr<Stream> gone = std::move(destination_);  // freed after its last callback
  if (stage_ == Stage::resolving && !destination_connected_) {
    connect_next();
    return;
  }
  if (stage_ == Stage::splicing) {
    stage_ = Stage::closed;
    owner_.tunnel_close(true);
  }
}

void ProxyTunnel::on_client_end() {
  stage_ = Stage::closed;
  if (destination_) destination_->close();
}

PhaseResult ProxyTunnel::check_request(RequestContext& ctx) {
  // A request resumed after a suspension (keys, quarantine) continues in the phases.
  if (ctx.next_phase > 0) return run_request_phases(ctx);
  if (decision_.kind == outbound::TunnelKind::kPendingDelegation) {
    return check_delegated_request(ctx);
  }
  ctx.direction = Direction::outbound;
  classify(ctx);  // the coarse metric label (no inbound enforcement for this direction)
  inner_ = InnerDecision{};
  const HttpRequest& r = *ctx.request;
  std::vector<std::string_view> hosts, authorizations;
  for (const HeaderField& f : r.headers) {
    if (ascii_iequals(f.name, "host")) hosts.push_back(f.value);
    if (ascii_iequals(f.name, "authorization")) authorizations.push_back(f.value);
  }
  const bool federation = decision_.kind == outbound::TunnelKind::kFederation;
  // Requests under /_matrix/federation/ are X-Matrix signed; key and well-known fetches are not.
  const bool signed_path = federation && starts_with(r.target, "/_matrix/federation/");
  inner_.endpoint = federation ? "unknown" : "egress";
  // Classified first so that even a binding refusal is audited under its endpoint name.
  Result<inbound::Classification> classified =
      federation ? inbound::classify_outbound_endpoint(r.method, r.target)
                 : Result<inbound::Classification>(make_error("egress", "not federation"));
  if (classified) {
    const inbound::Classification& c = *classified;
    inner_.endpoint = std::string(policy::endpoint_name(c.endpoint));
    inner_.room_id = c.params.room_id;
    inner_.user_id = c.params.user_id;
    inner_.event_id = c.params.event_id;
    inner_.server_name = c.params.server_name;
    inner_.txn_id = c.params.txn_id;
  }
  if (auto failure = outbound::check_tunnel_request(
          *target_, signed_path, services_.core_server_name, hosts, authorizations)) {
    inner_.action = "deny";
    inner_.rule_id = "tunnel_binding";
    inner_.reason = failure->error.code;
    const char* errcode = failure->status == 400   ? "M_UNKNOWN"
                          : failure->status == 401 ? "M_UNAUTHORIZED"
                                                   : "M_FORBIDDEN";
    return PhaseResult::respond(failure->status, errcode, failure->error.message);
  }
  if (!federation) {
    inner_.action = "forward";
    inner_.rule_id = decision_.rule_id;
    inner_.reason = "egress_intercept";
    return PhaseResult::proceed();
  }
  // Federation requests walk the inbound phases with a direction (classify, authenticate:
  // X-Matrix bound to the Core and the tunnel, authorize towards the destination, inspect /send
  // with quarantine); record() then writes their audit record. Binding ran first, so a request
  // resumed after a key wait (next_phase > 0) is never bound twice.
  ctx.inbound.services = worker_.runtime()->inbound;
  ctx.inbound.direction = policy::Direction::outbound;
  ctx.inbound.destination = target_->matrix_server_name();
  inner_ = InnerDecision{};  // recorded by the phases from here on
  return run_request_phases(ctx);
}

void ProxyTunnel::forward(const HttpRequest& request, ForwardDone done) {
  discovery::OutboundRequest out;
  out.method = request.method;
  out.target = request.target;
  out.body = request.body;
  for (const HeaderField& f : request.headers) {
    if (!dropped_towards_peer(f, request.headers)) out.headers.push_back({f.name, f.value});
  }
  out.max_body_bytes = services_.config->max_response_bytes;
  out.connect_timeout = services_.config->connect_timeout;
  out.total_timeout = worker_.runtime()->config->upstream.response_timeout;
  std::weak_ptr<ProxyTunnel*> alive = alive_;
  resolve_destination([this, alive, out = std::move(out),
                       done = std::move(done)](Result<discovery::ResolvedServer> r) mutable {
    if (!r) return done(r.error());
    out.targets = r->targets;
    out.tls_name = r->tls_name;
    out.tls_ip = r->tls_ip;
    out.host_header = r->host_header;
    WorkerFederation* wf = worker_.federation();
    wf->client().send(std::move(out), [alive, done = std::move(done)](
                                          Result<discovery::OutboundResponse> response) {
      if (alive.expired()) return;
      done(std::move(response));
    });
  });
}

// Everything one response check reads, owned by the job: the check may run on the thread pool
// while the connection that asked goes away. Only process-wide, thread-safe state is borrowed:
// the inbound services' room_versions (mutex) and the key store's cache (sharded mutexes),
// both alive until the worker loops have finished, which waits for queued work.
struct ProxyTunnel::AnswerJob {
  policy::FederationEndpoint endpoint = policy::FederationEndpoint::version;
  int api_version = 1;
  bool legacy_media = false;
  std::string room_id, user_id, event_id, destination, core_server_name;
  std::optional<matrix::Json> sent_event;
  std::optional<policy::MediaPolicy> media;
  std::shared_ptr<const discovery::OutboundResponse> answer;
  std::string content_type;
  inbound::RoomVersions* room_versions = nullptr;
  keystore::ServerKeyStore* keys = nullptr;

  outbound::ResponseCheck run(bool keys_awaited) const {
    outbound::ResponseCheckInput in;
    in.asked.endpoint = endpoint;
    in.asked.api_version = api_version;
    in.asked.legacy_media = legacy_media;
    in.asked.room_id = room_id;
    in.asked.user_id = user_id;
    in.asked.event_id = event_id;
    in.asked.destination = destination;
    in.asked.core_server_name = core_server_name;
    if (sent_event) in.asked.sent_event = sent_event->object_if();
    in.answer.status = answer->status;
    in.answer.content_type = content_type;
    in.answer.body = answer->body;
    inbound::RoomVersions* versions = room_versions;
    in.room_versions = [versions](std::string_view room) -> const matrix::RoomVersionRules* {
      return versions != nullptr ? versions->find(room) : nullptr;
    };
    in.media = media ? &*media : nullptr;
    in.keys_awaited = keys_awaited;
    if (keys == nullptr) {
      // No key store on this worker (its federation state failed to start): nothing verifies.
      return outbound::check_response(
          in, [](std::string_view, std::string_view, std::int64_t) -> Result<matrix::VerifyKey> {
            return make_error("key_unavailable", "no key store on this worker");
          });
    }
    return outbound::check_response(in, keys->cached_lookup());
  }
};

namespace {

// Answers at least this large are checked on the thread pool. A 10,000-member send_join costs
// about 0.8 s (release), some 80 us per event, so 16 KiB (some 20 events) is a stall of about
// 2 ms; a job's trip to the pool and back (two wakeups) is far below that. Not benchmarked.
constexpr std::size_t kOffLoopAnswerBytes = 16 * 1024;

}  // namespace

void ProxyTunnel::run_answer_job(std::shared_ptr<const AnswerJob> job, bool keys_awaited,
                                 AnswerDone done) {
  if (job->answer->body.size() < kOffLoopAnswerBytes) return done(job->run(keys_awaited));
  auto result = std::make_shared<outbound::ResponseCheck>();
  std::weak_ptr<ProxyTunnel*> alive = alive_;
  worker_.run_off_loop([job, keys_awaited, result] { *result = job->run(keys_awaited); },
                       [alive, result, done = std::move(done)] {
                         if (alive.expired()) return;
                         done(std::move(*result));
                       });
}

void ProxyTunnel::check_answer(RequestContext& ctx,
                               std::shared_ptr<const discovery::OutboundResponse> answer,
                               AnswerDone done) {
  const inbound::InboundRequest& r = ctx.inbound;
  if (r.services == nullptr || !r.route || !outbound::response_needs_check(r.route->endpoint)) {
    outbound::ResponseCheck unchecked;
    unchecked.reason = "response_unchecked";
    return done(std::move(unchecked));
  }
  auto job = std::make_shared<AnswerJob>();
  job->endpoint = r.route->endpoint;
  job->api_version = r.route->api_version;
  job->legacy_media = r.route->legacy_media;
  job->room_id = r.route->params.room_id;
  job->user_id = r.route->params.user_id;
  job->event_id = r.route->params.event_id;
  job->destination = r.destination;
  job->core_server_name = r.services->server_name;
  if (r.route->endpoint == policy::FederationEndpoint::invite && r.body) {
    // v1 sends the event as the body, v2 wraps it as {"event": ...}.
    const matrix::Json* event = r.route->api_version >= 2 ? r.body->find("event") : &*r.body;
    if (event != nullptr) job->sent_event = *event;
  }
  if (r.decision && r.decision->settings.media != nullptr) job->media = *r.decision->settings.media;
  job->answer = answer;
  if (auto type = discovery::find_header(answer->headers, "content-type")) {
    job->content_type = std::string(*type);
  }
  job->room_versions = r.services->room_versions.get();
  job->keys = ctx.keys;
  std::weak_ptr<ProxyTunnel*> alive = alive_;
  RequestContext* request = &ctx;  // alive while this tunnel is (the connection owns both)
  run_answer_job(
      job, false, [alive, job, request, done = std::move(done)](outbound::ResponseCheck c) mutable {
        auto self = alive.lock();
        if (!self) return;
        if (c.action != outbound::ResponseAction::need_keys) return done(std::move(c));
        if (request->keys == nullptr) return (*self)->run_answer_job(job, true, std::move(done));
        // Await every missing key through the key store (answers arrive on this loop), then check
        // again with missing keys counting as failures.
        struct Pending {
          std::size_t left;
          AnswerDone done;
        };
        auto pending = std::make_shared<Pending>(Pending{c.missing_keys.size(), std::move(done)});
        for (const inbound::KeyNeed& need : c.missing_keys) {
          request->keys->get_key(need.server, need.key_id, need.valid_at_ms, request->mailbox,
                                 [alive, pending, job](Result<matrix::VerifyKey>) {
                                   auto tunnel = alive.lock();
                                   if (!tunnel || --pending->left > 0) return;
                                   (*tunnel)->run_answer_job(job, true, std::move(pending->done));
                                 });
        }
      });
}

void ProxyTunnel::audit_request(const RequestContext& ctx) {
  // No decision taken here (the phases recorded it, or the Core went away first).
  if (inner_.action.empty() || ctx.inbound.services != nullptr) return;
  audit::AuditRecord rec;
  rec.direction = "outbound";
  rec.origin = services_.core_server_name;
  rec.destination =
      claimed_destination_.empty() ? target_->matrix_server_name() : claimed_destination_;
  rec.server_name = target_->name.authority();
  rec.remote_addr = client_ip_;
  rec.method = ctx.request->method;
  rec.endpoint = inner_.endpoint;
  rec.room_id = inner_.room_id;
  rec.user_id = inner_.user_id;
  rec.event_id = inner_.event_id;
  rec.txn_id = inner_.txn_id;
  rec.action = inner_.action;
  rec.rule_id = inner_.rule_id;
  rec.reason = inner_.reason;
  if (ctx.status != 0) rec.status = ctx.status;
  rec.request_bytes = ctx.request->body.size();
  rec.response_bytes = ctx.response_bytes;
  rec.latency_us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::steady_clock::now() - ctx.started)
                                                  .count());
  if (audit::AuditLog* log = audit_log(worker_)) log->submit(rec);
  inner_ = InnerDecision{};
}

}  // namespace bordergate
