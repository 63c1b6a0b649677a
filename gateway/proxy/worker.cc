#include "gateway/proxy/worker.h"

#include <unistd.h>

#include <optional>

#include "gateway/common/log.h"
#include "gateway/proxy/client_connection.h"
#include "gateway/proxy/federation.h"
#include "gateway/proxy/outbound_services.h"

namespace bordergate {
namespace {

// Every request copies the snapshot pointer. Copies of one shared_ptr from
// all workers would bounce its reference count between cores; this alias
// shares only a per-worker count, which holds the real snapshot.
std::shared_ptr<const Runtime> local_alias(std::shared_ptr<const Runtime> runtime) {
  auto holder = std::make_shared<std::shared_ptr<const Runtime>>(std::move(runtime));
  const Runtime* raw = holder->get();
  return std::shared_ptr<const Runtime>(std::move(holder), raw);
}

}  // namespace

Worker::Worker(unsigned index, std::shared_ptr<const Runtime> runtime, std::vector<int> listen_fds,
               WorkerMetrics& metrics, WorkerShared& shared, uv_async_t* on_exit)
    : index_(index),
      runtime_(local_alias(std::move(runtime))),
      listen_fds_(std::move(listen_fds)),
      metrics_(metrics),
      shared_(shared),
      on_exit_(on_exit) {
  uv_loop_init(&loop_);
  async_ = std::make_unique<UvHandle<uv_async_t>>();
  if (uv_async_init(&loop_, async_->get(), &Worker::on_async) == 0) async_->mark_initialized();
  async_->get()->data = this;
  pool_ = std::make_unique<UpstreamPool>(&loop_, metrics_, shared_.last_upstream_ok_ms,
                                         shared_.last_upstream_failure_ms);
  for (size_t i = 0; i < listen_fds_.size(); ++i) {
    auto l = std::make_unique<Listener>();
    l->worker = this;
    l->index = i;
    if (uv_tcp_init(&loop_, l->tcp.get()) == 0) l->tcp.mark_initialized();
    l->tcp.get()->data = l.get();
    listeners_.push_back(std::move(l));
  }
}

Worker::~Worker() {
  join();
  // Normally every handle is closed already; after a failed start they are
  // closed here and the loop is run once so their boxes are freed.
  listeners_.clear();
  worker_federation_.reset();
  async_.reset();
  uv_run(&loop_, UV_RUN_NOWAIT);
  pool_.reset();
  // Handles were closed by the loop before run() returned; just release fds
  // that never made it into libuv.
  for (int fd : listen_fds_) {
    if (fd >= 0) ::close(fd);
  }
  uv_loop_close(&loop_);
}

void Worker::start() {
  shared_.workers_running.fetch_add(1);
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post(Command command) {
  std::lock_guard<std::mutex> lock(mu_);
  // A worker that drained and finished has closed its async handle: a later command (the
  // drain deadline's Stop, a reload) has nothing left to act on and must not touch it.
  if (inbox_closed_) return;
  inbox_.push_back(std::move(command));
  uv_async_send(async_->get());  // safe from any thread; under mu_ so it never races the close
}

void Worker::run() {
  if (federation_ != nullptr) {
    auto wf = WorkerFederation::create(*federation_, &loop_);
    if (wf) {
      worker_federation_ = std::move(*wf);
    } else {
      log_event(LogLevel::error, "federation_worker_failed",
                {{"worker", index_}, {"error", wf.error().message}});
    }
  }
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = *listeners_[i];
    int r = uv_tcp_open(l.tcp.get(), listen_fds_[i]);
    if (r == 0) {
      listen_fds_[i] = -1;  // now owned by the handle
      r = uv_listen(reinterpret_cast<uv_stream_t*>(l.tcp.get()), 1024, &Worker::on_connection);
    }
    if (r != 0) {
      log_event(LogLevel::error, "listen_failed", {{"worker", index_}, {"error", uv_strerror(r)}});
    }
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Everything is closed; run once more so close callbacks free their boxes.
  uv_run(&loop_, UV_RUN_NOWAIT);
  shared_.workers_running.fetch_sub(1);
  uv_async_send(on_exit_);
}

void Worker::on_async(uv_async_t* a) {
  auto* self = static_cast<Worker*>(a->data);
  if (self == nullptr) return;
  std::deque<Command> commands;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    commands.swap(self->inbox_);
  }
  for (Command& c : commands) self->handle(c);
}

void Worker::handle(Command& c) {
  if (auto* rt = std::get_if<std::shared_ptr<const Runtime>>(&c)) {
    runtime_ = local_alias(std::move(*rt));  // new requests use it; running ones keep theirs
    return;
  }
  if (std::holds_alternative<Drain>(c)) {
    if (draining_) return;
    draining_ = true;
    stop_listening();
    for (ClientConnection* conn = connections_; conn != nullptr;) {
      ClientConnection* next = conn->next;
      conn->drain();
      conn = next;
    }
    maybe_finish();
    return;
  }
  // Stop: the drain deadline passed.
  draining_ = true;
  stop_listening();
  for (ClientConnection* conn = connections_; conn != nullptr;) {
    ClientConnection* next = conn->next;
    conn->abort();
    conn = next;
  }
  maybe_finish();
}

void Worker::stop_listening() {
  for (auto& l : listeners_) l->tcp.close();
}

void Worker::maybe_finish() {
  if (!draining_ || connection_count_ > 0 || finished_) return;
  finished_ = true;
  worker_federation_.reset();  // closes its resolver, client and mailbox handles
  pool_->close_all();
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_closed_ = true;
  }
  async_->close();
  // The loop ends once the last handle's close callback has run.
}

void Worker::on_connection(uv_stream_t* server, int status) {
  auto* l = static_cast<Listener*>(server->data);
  if (l == nullptr || status < 0) return;
  Worker* self = l->worker;
  // Listeners after the federation ones: the Core's proxy listeners that are configured, in
  // outbound::proxy_listen_addresses order (Server::start's order).
  std::optional<outbound::ProxyListener> proxy;
  if (self->outbound_ != nullptr) {
    const auto kinds = outbound::proxy_listen_addresses(*self->outbound_->settings()->config);
    const std::size_t first_outbound = self->listeners_.size() - kinds.size();
    if (l->index >= first_outbound) proxy = kinds[l->index - first_outbound].kind;
  }
  auto* conn = new ClientConnection(*self, l->index, proxy ? self->outbound_ : nullptr,
                                    proxy.value_or(outbound::ProxyListener::connect));
  // Linked before accept: a failing accept closes it and unlinks it again.
  conn->next = self->connections_;
  if (self->connections_ != nullptr) self->connections_->prev = conn;
  self->connections_ = conn;
  ++self->connection_count_;
  if (!conn->accept(server)) return;
  if (self->connection_count_ > self->runtime_->config->limits.max_connections) {
    self->metrics_.connection_rejected();
    conn->abort();
  }
}

void Worker::run_off_loop(std::function<void()> work, std::function<void()> done) {
  struct Job {
    uv_work_t req{};
    std::function<void()> work, done;
  };
  auto* job = new Job{{}, std::move(work), std::move(done)};
  job->req.data = job;
  int r = uv_queue_work(
      &loop_, &job->req, [](uv_work_t* w) { static_cast<Job*>(w->data)->work(); },
      [](uv_work_t* w, int) {
        std::unique_ptr<Job> owned(static_cast<Job*>(w->data));
        owned->done();
      });
  if (r != 0) {
    // Never queued (loop closing): do the work here rather than lose it.
    std::unique_ptr<Job> owned(job);
    owned->work();
    owned->done();
  }
}

void Worker::connection_closed(ClientConnection* c) {
  if (c->prev != nullptr)
    c->prev->next = c->next;
  else
    connections_ = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  --connection_count_;
  maybe_finish();
}

}  // namespace bordergate
