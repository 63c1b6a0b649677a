#include "gateway/proxy/server.h"

#include <prometheus/text_serializer.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <optional>
#include <thread>

#include "gateway/common/log.h"
#include "gateway/common/metric_family.h"
#include "gateway/config/config_loader.h"
#include "gateway/enforcement/policy_file.h"
#include "gateway/outbound/proxy_listener.h"

namespace bordergate {
namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// After a failed connection to Core, /readyz reports not ready for this long
// unless Core answers again in between.
constexpr std::int64_t kUpstreamFailureWindowMs = 15000;

constexpr const char* kServingUnchecked =
    "READY=1\nSTATUS=serving UNCHECKED (inbound_enforcement: pass_through)";

// Loud on purpose: an operator (or an auditor reading the log) must not miss that nothing is
// checked. Logged at start and on every reload.
void log_pass_through(const char* when) {
  log_event(LogLevel::warn, "inbound_enforcement_pass_through",
            {{"when", when},
             {"reason",
              "inbound_enforcement: pass_through: federation requests are forwarded to the Core "
              "without X-Matrix authentication, policy, inspection or audit records"}});
}

void log_config_errors(const char* event, const std::vector<ConfigError>& errors) {
  for (const ConfigError& e : errors) {
    log_event(LogLevel::error, event, {{"error", e.to_string()}});
  }
}

bool same_listeners(const Config& a, const Config& b) {
  if (a.federation.size() != b.federation.size() || a.workers != b.workers) return false;
  for (size_t i = 0; i < a.federation.size(); ++i) {
    if (a.federation[i].address != b.federation[i].address ||
        a.federation[i].port != b.federation[i].port) {
      return false;
    }
  }
  return a.admin.enabled == b.admin.enabled && a.admin.address == b.admin.address &&
         a.admin.port == b.admin.port;
}

// The proxy listeners' sockets are opened once at start.
bool same_proxy_listeners(const outbound::OutboundConfig& a, const outbound::OutboundConfig& b) {
  const auto la = outbound::proxy_listen_addresses(a);
  const auto lb = outbound::proxy_listen_addresses(b);
  if (la.size() != lb.size()) return false;
  for (std::size_t i = 0; i < la.size(); ++i) {
    if (la[i].kind != lb[i].kind || la[i].address != lb[i].address || la[i].port != lb[i].port) {
      return false;
    }
  }
  // The TLS listener's certificate, key and minimum version are read again by every reload
  // (build_outbound_settings): only where the listeners are is bound to the sockets.
  return true;
}

}  // namespace

Server::Server(std::string config_path) : config_path_(std::move(config_path)) {
  uv_loop_init(&loop_);
}

Server::~Server() {
  // Normally closed before run() returns; this covers early failures.
  close_main_handles();
  for (auto& w : workers_) {
    w->post(Worker::Stop{});
  }
  workers_.clear();
  admin_.reset();
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
}

Status Server::start() {
  ConfigLoadResult loaded = load_config_file(config_path_);
  if (!loaded.errors.empty()) {
    log_config_errors("config_invalid", loaded.errors);
    return make_error("config_invalid", "the configuration has errors");
  }
  LogLevel level = LogLevel::info;
  parse_log_level(loaded.config->logging.level, level);
  set_log_level(level);
  if (loaded.config->inbound_enforcement == Config::InboundEnforcement::pass_through) {
    log_pass_through("start");
  } else {
    auto services = enforcement::build_enforcement_services(*loaded.config);
    if (!services) {
      log_event(LogLevel::error, "config_invalid", {{"error", services.error().message}});
      return services.error();
    }
    enforcement_ = std::move(services.value());
  }
  if (loaded.config->outbound != nullptr) {
    auto services = build_outbound_services(*loaded.config);
    if (!services) {
      log_event(LogLevel::error, "config_invalid", {{"error", services.error().message}});
      return make_error("config_invalid", services.error().message);
    }
    outbound_ = std::move(services.value());
  }
  body_budget_ = std::make_unique<BodyBudget>(loaded.config->limits.max_buffered_bytes);
  auto rt = build_runtime(loaded.config, enforcement_.get(), body_budget_.get());
  if (!rt) {
    log_event(LogLevel::error, "config_invalid", {{"error", rt.error().message}});
    return make_error("config_invalid", rt.error().message);
  }
  runtime_ = rt.value();
  const Config& c = *runtime_->config;
  unsigned n = c.workers != 0 ? c.workers : std::max(1u, std::thread::hardware_concurrency());
  metrics_ = std::make_unique<Metrics>(n);
  auto federation = Federation::create(c);
  if (!federation) {
    log_event(LogLevel::error, "federation_init_failed", {{"error", federation.error().message}});
    return federation.error();
  }
  federation_ = std::move(*federation);
  if (enforcement_ != nullptr) {
    // Counted from the key store, which holds `keys.pinned` and `keys.pinned_file` together, as
    // config_reloaded counts them.
    log_event(LogLevel::info, "inbound_enforcement",
              {{"policy", c.policy},
               {"policy_sha256", enforcement_->policy->snapshot()->sha256},
               {"pinned_servers", federation_->key_store().pinned_servers()}});
  }
  log_event(LogLevel::info, "key_cache_loaded",
            {{"file", c.key_fetch.cache_file}, {"responses", federation_->persisted_loaded()}});
  metrics_->set_extra_source(
      [f = federation_.get()](std::vector<prometheus::MetricFamily>& out) { f->collect(out); });

  worker_exit_ = std::make_unique<UvHandle<uv_async_t>>();
  if (uv_async_init(&loop_, worker_exit_->get(), &Server::on_worker_exit) == 0) {
    worker_exit_->mark_initialized();
  }
  worker_exit_->get()->data = this;

  // SO_REUSEPORT would let a second instance (same user) silently share the
  // port and take half the traffic: bind each address once exclusively
  // first, so an occupied port is an error as with any other server.
  // The Core's proxy listener goes after the federation ones (Worker::on_connection relies on
  // the order).
  std::vector<std::pair<std::string, std::uint16_t>> addresses;
  for (const ListenerConfig& l : c.federation) addresses.emplace_back(l.address, l.port);
  if (outbound_ != nullptr) {
    // Plain CONNECT, CONNECT behind TLS, direct mode, each when configured (Worker::on_connection
    // maps the indexes back through the same list).
    for (const auto& l : outbound::proxy_listen_addresses(*c.outbound)) {
      addresses.emplace_back(l.address, l.port);
    }
  }
  for (const auto& l : addresses) {
    auto addr = parse_socket_address(l.first, l.second);
    auto fd = addr ? open_listen_socket(addr.value(), false) : Result<int>(addr.error());
    if (!fd) {
      log_event(LogLevel::error, "listen_failed",
                {{"address", l.first}, {"port", l.second}, {"error", fd.error().message}});
      return fd.error();
    }
    ::close(fd.value());
  }
  for (unsigned i = 0; i < n; ++i) {
    std::vector<int> fds;
    for (const auto& [address, port] : addresses) {
      auto addr = parse_socket_address(address, port);
      auto fd = addr ? open_listen_socket(addr.value(), true) : Result<int>(addr.error());
      if (!fd) {
        for (int f : fds) ::close(f);
        log_event(LogLevel::error, "listen_failed",
                  {{"address", address}, {"port", port}, {"error", fd.error().message}});
        return fd.error();
      }
      fds.push_back(fd.value());
    }
    workers_.push_back(std::make_unique<Worker>(i, runtime_, std::move(fds), metrics_->worker(i),
                                                shared_, worker_exit_->get()));
    workers_.back()->set_federation(federation_.get());
    workers_.back()->set_outbound(outbound_.get());
  }

  if (c.admin.enabled) {
    AdminServer::Hooks hooks;
    hooks.ready = [this](std::string& why) { return ready(why); };
    hooks.metrics = [this] {
      std::string text = metrics_->serialize();
      if (enforcement_ != nullptr) text += enforcement::evidence_metrics(*enforcement_);
      if (outbound_ != nullptr) text += outbound_->metrics.serialize();
      text +=
          "# HELP bordergate_inbound_enforcement_pass_through 1 when the gateway forwards "
          "federation requests unchecked (inbound_enforcement: pass_through)\n"
          "# TYPE bordergate_inbound_enforcement_pass_through gauge\n"
          "bordergate_inbound_enforcement_pass_through ";
      text += enforcement_ == nullptr ? "1\n" : "0\n";
      if (body_budget_ != nullptr) {
        using prometheus::MetricType;
        const BodyBudget& b = *body_budget_;
        std::vector<prometheus::MetricFamily> families;
        auto per_kind = [](auto value_of) {
          std::vector<std::pair<std::string, std::uint64_t>> samples;
          for (BufferKind k : {BufferKind::request_body, BufferKind::answer}) {
            samples.emplace_back(std::string(buffer_kind_name(k)), value_of(k));
          }
          return samples;
        };
        append_labelled_samples(
            families, "bordergate_buffered_bytes",
            "Body bytes held in memory, all connections together: request bodies being read, "
            "answers held to be judged",
            MetricType::Gauge, "kind", per_kind([&b](BufferKind k) { return b.in_use(k); }));
        append_single_sample(families, "bordergate_buffered_bytes_limit",
                             "limits.max_buffered_bytes", MetricType::Gauge, b.limit());
        append_labelled_samples(
            families, "bordergate_buffered_bytes_refused_total",
            "Requests refused (503) because a request body or an answer to hold did not fit",
            MetricType::Counter, "kind", per_kind([&b](BufferKind k) { return b.refused(k); }));
        append_single_sample(families, "bordergate_memory_trims_total",
                             "Times free memory was handed back to the system after a spike of "
                             "buffered bodies and answers",
                             MetricType::Counter, b.trims());
        text += prometheus::TextSerializer().Serialize(families);
      }
      return text;
    };
    hooks.inbound_enforcement = enforcement_ == nullptr ? "pass_through" : "policy";
    admin_ = std::make_unique<AdminServer>(&loop_, std::move(hooks));
    auto addr = parse_socket_address(c.admin.address, c.admin.port);
    Status s = addr ? admin_->listen(addr.value()) : Status(addr.error());
    if (!s) {
      log_event(
          LogLevel::error, "listen_failed",
          {{"address", c.admin.address}, {"port", c.admin.port}, {"error", s.error().message}});
      return s;
    }
  }

  for (int signum : {SIGTERM, SIGINT, SIGUSR1}) {
    auto h = std::make_unique<UvHandle<uv_signal_t>>();
    if (uv_signal_init(&loop_, h->get()) == 0) h->mark_initialized();
    h->get()->data = this;
    uv_signal_start(h->get(), &Server::on_signal, signum);
    signals_.push_back(std::move(h));
  }
  auto hup = SighupWatch::start(&loop_, [this](SighupWatch::Sender from) {
    reload("SIGHUP",
           enforcement::describe_pid(from.pid) + ", " + enforcement::describe_uid(from.uid));
  });
  if (!hup) {
    log_event(LogLevel::error, "signal_setup_failed", {{"error", hup.error().message}});
    return hup.error();
  }
  sighup_ = std::move(*hup);
  drain_timer_ = std::make_unique<Timer>(&loop_, &Server::on_drain_deadline, this);

  for (auto& w : workers_) w->start();
  listening_ = true;
  for (const ListenerConfig& l : c.federation) {
    log_event(LogLevel::info, "listening",
              {{"address", l.address}, {"port", l.port}, {"workers", n}});
  }
  if (outbound_ != nullptr) {
    for (const auto& l : outbound::proxy_listen_addresses(*c.outbound)) {
      const char* event = l.kind == outbound::ProxyListener::connect ? "outbound_proxy_listening"
                          : l.kind == outbound::ProxyListener::connect_tls
                              ? "outbound_proxy_tls_listening"
                              : "outbound_direct_listening";
      log_event(
          LogLevel::info, event,
          {{"address", l.address},
           {"port", l.port},
           {"egress_entries", static_cast<unsigned long>(outbound_->settings()->egress.size())}});
    }
  }
  if (c.admin.enabled) {
    log_event(LogLevel::info, "admin_listening",
              {{"address", c.admin.address}, {"port", c.admin.port}});
  }
  sd_notify(0, enforcement_ == nullptr ? kServingUnchecked : "READY=1\nSTATUS=serving");
  return {};
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit (RLIMIT_FSIZE) reached by the audit log or a store is a write error the
  // writer handles (fail closed, retry), not a reason to die.
  std::signal(SIGXFSZ, SIG_IGN);
  if (Status s = start(); !s) {
    // A configuration or policy that cannot be used is an input error (2, as for every command);
    // anything else that stops the start (a port taken, a store that cannot open) is 1.
    const std::string& code = s.error().code;
    const bool input =
        code == "config_invalid" || code == "policy_invalid" || code == "policy_server_name";
    return input ? 2 : 1;
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& w : workers_) w->join();
  workers_.clear();
  admin_.reset();
  uv_run(&loop_, UV_RUN_NOWAIT);
  log_event(LogLevel::info, "stopped");
  return 0;
}

void Server::on_signal(uv_signal_t* s, int signum) {
  auto* self = static_cast<Server*>(s->data);
  if (self == nullptr) return;
  if (signum == SIGUSR1) {
    // Log rotation: the audit log reopens its path before its next write.
    if (self->enforcement_ != nullptr && self->enforcement_->audit)
      self->enforcement_->audit->reopen();
    log_event(LogLevel::info, "audit_reopen_requested", {});
    return;
  }
  self->begin_drain();
}

void Server::reload(const std::string& trigger, const std::string& actor) {
  if (draining_) return;
  sd_notify(0, "RELOADING=1");
  log_event(LogLevel::info, "config_reload_started",
            {{"path", config_path_}, {"trigger", trigger}, {"actor", actor}});
  if (enforcement_ == nullptr) log_pass_through("reload");
  ConfigLoadResult loaded = load_config_file(config_path_);
  std::string failure;
  std::string failure_code = "config_refused";  // what the policy_load record names
  // The policy file is read (and digested) once, whatever else is wrong: a refused reload is
  // recorded with the digest of what was refused.
  enforcement::PolicyFile policy_file;
  if (enforcement_ != nullptr && loaded.config != nullptr)
    policy_file = enforcement::load_policy_file(loaded.config->policy);
  if (!loaded.errors.empty()) {
    log_config_errors("config_reload_failed", loaded.errors);
    failure = "the configuration has errors";
  } else if (!same_listeners(*loaded.config, *runtime_->config)) {
    failure = "listener addresses, ports and the worker count only change on restart";
  } else if ((loaded.config->inbound_enforcement == Config::InboundEnforcement::pass_through) !=
             (enforcement_ == nullptr)) {
    failure = "inbound_enforcement (policy or pass_through) only changes on restart";
  } else if ((loaded.config->outbound == nullptr) != (outbound_ == nullptr)) {
    failure = "the outbound proxy is switched on or off only on restart";
  } else if (loaded.config->outbound != nullptr && runtime_->config->outbound != nullptr &&
             !same_proxy_listeners(*loaded.config->outbound, *runtime_->config->outbound)) {
    failure = "the outbound proxy's listener addresses and ports only change on restart";
  }
  std::shared_ptr<const Runtime> next;
  std::shared_ptr<const policy::Policy> next_policy;
  std::optional<keystore::PinnedKeys> next_pinned;
  std::shared_ptr<const OutboundSettings> next_outbound;
  if (failure.empty() && outbound_ != nullptr) {
    // The whole outbound section is built again (interception CA, credentials file, egress list,
    // proxy certificate ...): connections accepted after the swap use it.
    auto settings = build_outbound_settings(*loaded.config);
    if (settings)
      next_outbound = std::move(*settings);
    else
      failure = settings.error().message;
  }
  if (failure.empty()) {
    auto pinned = federation_->prepare_reload(*loaded.config);
    if (pinned)
      next_pinned = std::move(*pinned);
    else
      failure = pinned.error().message;
  }
  if (failure.empty() && enforcement_ != nullptr) {
    // The policy is validated completely before anything is swapped; on any error the old
    // configuration and the old policy both stay.
    auto p = enforcement::load_policy_for(policy_file, loaded.config->server_name);
    if (p) {
      next_policy = std::move(p.value());
    } else {
      failure_code = p.error().code;
      failure = p.error().message;
    }
  }
  if (failure.empty()) {
    body_budget_->set_limit(loaded.config->limits.max_buffered_bytes);
    auto rt = build_runtime(loaded.config, enforcement_.get(), body_budget_.get());
    if (rt)
      next = rt.value();
    else
      failure = rt.error().message;
  }
  if (enforcement_ != nullptr) {
    enforcement::PolicyLoadEvent event;
    event.trigger = trigger;
    event.actor = actor;
    event.file = loaded.config != nullptr ? loaded.config->policy : enforcement_->policy_path;
    event.sha256 = policy_file.sha256;
    event.loaded = next != nullptr;
    if (next_policy) event.revision = next_policy->revision;
    if (!event.loaded) {
      event.reason = failure_code;
      event.error = failure;
    }
    enforcement_->audit->submit(enforcement::policy_load_record(event));
  }
  if (!next) {
    metrics_->config_reload(false);
    log_event(LogLevel::error, "config_reload_failed",
              {{"error", failure}, {"action", "keeping the running configuration"}});
    sd_notify(0, "READY=1\nSTATUS=serving (last reload failed)");
    return;
  }
  if (next_policy) enforcement_->policy->replace(std::move(next_policy));
  federation_->apply_reload(std::move(*next_pinned));
  if (next_outbound) outbound_->replace(std::move(next_outbound));
  runtime_ = next;
  for (auto& w : workers_) w->post(next);
  LogLevel level = LogLevel::info;
  parse_log_level(next->config->logging.level, level);
  set_log_level(level);
  metrics_->config_reload(true);
  const std::shared_ptr<const policy::Policy> in_force =
      enforcement_ != nullptr ? enforcement_->policy->snapshot() : nullptr;
  log_event(LogLevel::info, "config_reloaded",
            {{"path", config_path_},
             {"pinned_servers", federation_->key_store().pinned_servers()},
             {"policy_sha256", in_force != nullptr ? in_force->sha256 : std::string()}});
  sd_notify(0, enforcement_ == nullptr ? kServingUnchecked : "READY=1\nSTATUS=serving");
}

void Server::begin_drain() {
  if (draining_) {
    log_event(LogLevel::warn, "shutdown_forced", {{"reason", "second signal"}});
    force_stop();
    return;
  }
  draining_ = true;
  listening_ = false;
  sd_notify(0, "STOPPING=1");
  auto timeout = runtime_->config->shutdown.drain_timeout;
  log_event(LogLevel::info, "draining", {{"drain_timeout_ms", static_cast<long>(timeout.count())}});
  for (auto& w : workers_) w->post(Worker::Drain{});
  drain_timer_->start(static_cast<uint64_t>(timeout.count()));
}

void Server::force_stop() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& w : workers_) w->post(Worker::Stop{});
}

void Server::on_drain_deadline(void* p) {
  auto* self = static_cast<Server*>(p);
  log_event(LogLevel::warn, "shutdown_forced", {{"reason", "drain_timeout"}});
  self->force_stop();
}

void Server::on_worker_exit(uv_async_t* a) {
  auto* self = static_cast<Server*>(a->data);
  if (self == nullptr || self->shared_.workers_running.load() != 0) return;
  // Every worker has left its loop; joining also waits for their last
  // uv_async_send to return before the handle is closed.
  for (auto& w : self->workers_) w->join();
  self->close_main_handles();
}

void Server::close_main_handles() {
  for (auto& s : signals_) s->close();
  if (sighup_) sighup_->close();
  if (drain_timer_) drain_timer_->close();
  if (admin_) admin_->close();
  if (worker_exit_) worker_exit_->close();
}

bool Server::ready(std::string& why) const {
  if (draining_) {
    why = "draining";
    return false;
  }
  if (!listening_) {
    why = "not listening";
    return false;
  }
  // Passive health: what the workers saw on real traffic. No synthetic
  // connections to Core.
  // Fail closed: while the audit log cannot take records, new work is refused (503).
  if (enforcement_ != nullptr && enforcement_->audit && enforcement_->audit_fail_closed &&
      !enforcement_->audit->accepting()) {
    why = enforcement_->audit->unavailable_reason();
    return false;
  }
  std::int64_t failed = shared_.last_upstream_failure_ms.load();
  if (failed >= 0 && failed >= shared_.last_upstream_ok_ms.load() &&
      steady_ms() - failed < kUpstreamFailureWindowMs) {
    why = "connections to the homeserver are failing";
    return false;
  }
  return true;
}

}  // namespace bordergate
