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

ProxyTunnel::ProxyTunnel(Worker& worker, OutboundServices& services,
                         std::shared_ptr<const OutboundSettings> settings, Stream& client,
                         Owner& owner, std::string client_ip, outbound::ProxyListener listener)
    : worker_(worker),
      services_(services),
      settings_(std::move(settings)),
      client_(client),
      owner_(owner),
      client_ip_(std::move(client_ip)),
      listener_(listener),
      dial_timer_(worker.loop(), &ProxyTunnel::on_dial_timeout, this),
      alive_(std::make_shared<ProxyTunnel*>(this)) {
  services_.metrics.connection_opened();
}

ProxyTunnel::~ProxyTunnel() { services_.metrics.connection_closed(); }

void ProxyTunnel::audit(const outbound::ProxyDecisionFacts& facts) {
  services_.metrics.decision(listener_, facts.allowed, facts.reason);
  audit::AuditLog* log = audit_log(worker_);
  if (log == nullptr) return;
  audit::AuditRecord record = outbound::proxy_audit_record(facts);
  note_listener(record);
  log->submit(record);
}

void ProxyTunnel::note_listener(audit::AuditRecord& record) const {
  // The plain listener's records stay as they were; the others say where the connection came in.
  const std::string_view name = outbound::audited_listener(listener_);
  if (!name.empty()) audit::append_note(record.note, "listener=" + std::string(name));
}

void ProxyTunnel::on_proxy_tls_failed(std::string_view error) {
  stage_ = Stage::closed;
  outbound::ProxyDecisionFacts f;
  f.client_ip = client_ip_;
  f.method = "TLS";
  f.endpoint = "proxy_tls";
  f.rule_id = "proxy_tls";
  f.reason = "proxy_tls_failed";
  audit(f);
  log_event(LogLevel::info, "outbound_proxy_tls_failed",
            {{"client", client_ip_}, {"error", std::string(error.substr(0, 255))}});
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
  outbound::ProxyRules rules{&*settings_->credentials, policy_.get(), &settings_->egress,
                             &settings_->guard, &settings_->delegation};
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
  auto ctx = settings_->minter->context_for(target_->name, std::chrono::system_clock::now());
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
  dial_timer_.start(static_cast<std::uint64_t>(settings_->config->connect_timeout.count()));
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
          *target_, signed_path, settings_->core_server_name, hosts, authorizations)) {
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
  ctx.inbound.listener = outbound::audited_listener(listener_);
  inner_ = InnerDecision{};  // recorded by the phases from here on
  return run_request_phases(ctx);
}

void ProxyTunnel::refuse_unread(RequestContext& ctx, std::string_view reason,
                                std::string_view detail) {
  ctx.direction = Direction::outbound;
  inner_ = InnerDecision{};
  inner_.endpoint = "unrecognized";
  inner_.action = "deny";
  inner_.reason = std::string(reason);
  inner_.note = std::string(detail);
}

void ProxyTunnel::forward(const HttpRequest& request, ForwardDone done) {
  discovery::OutboundRequest out;
  out.method = request.method;
  out.target = request.target;
  out.body = request.body;
  for (const HeaderField& f : request.headers) {
    if (!dropped_towards_peer(f, request.headers)) out.headers.push_back({f.name, f.value});
  }
  out.max_body_bytes = settings_->config->max_response_bytes;
  out.connect_timeout = settings_->config->connect_timeout;
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

void ProxyTunnel::audit_request(const RequestContext& ctx) {
  // No decision taken here (the phases recorded it, or the Core went away first).
  if (inner_.action.empty() || ctx.inbound.services != nullptr) return;
  audit::AuditRecord rec;
  rec.direction = "outbound";
  rec.origin = settings_->core_server_name;
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
  rec.note = inner_.note;
  note_listener(rec);
  if (audit::AuditLog* log = audit_log(worker_)) log->submit(rec);
  inner_ = InnerDecision{};
}

}  // namespace bordergate
