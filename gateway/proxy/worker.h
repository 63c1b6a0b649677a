// A worker thread: its own libuv loop, its own SO_REUSEPORT listening sockets,
// its own upstream pool and connections. The main thread talks to it only by
// posting commands (new config snapshot, drain, stop) through a uv_async.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "gateway/admin/metrics.h"
#include "gateway/net/uv_handle.h"
#include "gateway/proxy/runtime.h"
#include "gateway/proxy/upstream_pool.h"

namespace bordergate {

class ClientConnection;
class Federation;
class WorkerFederation;
class OutboundServices;

struct WorkerShared {
  std::atomic<std::int64_t> last_upstream_ok_ms{0};
  std::atomic<std::int64_t> last_upstream_failure_ms{-1};
  std::atomic<unsigned> workers_running{0};
};

class Worker {
 public:
  struct Drain {};
  struct Stop {};
  using Command = std::variant<std::shared_ptr<const Runtime>, Drain, Stop>;

  Worker(unsigned index, std::shared_ptr<const Runtime> runtime, std::vector<int> listen_fds,
         WorkerMetrics& metrics, WorkerShared& shared, uv_async_t* on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(): the process-wide federation state this worker attaches to (optional).
  void set_federation(Federation* federation) { federation_ = federation; }
  // Before start(): the Core's proxy listener is the last of `listen_fds` when set.
  void set_outbound(OutboundServices* outbound) { outbound_ = outbound; }
  void start();
  void join();
  void post(Command command);  // any thread; dropped once the worker has finished

  // Worker-thread only.
  uv_loop_t* loop() { return &loop_; }
  const std::shared_ptr<const Runtime>& runtime() const { return runtime_; }
  UpstreamPool& pool() { return *pool_; }
  WorkerMetrics& metrics() { return metrics_; }
  bool draining() const { return draining_; }
  std::string& scratch() { return scratch_; }
  unsigned index() const { return index_; }
  // Key store, discovery and outbound HTTPS of this worker; null without a Federation.
  WorkerFederation* federation() { return worker_federation_.get(); }
  void connection_closed(ClientConnection* c);
  // Runs `work` on libuv's thread pool, then `done` on this loop (blocking I/O such as an
  // fsynced quarantine put). The loop does not finish while work is pending.
  void run_off_loop(std::function<void()> work, std::function<void()> done);

 private:
  struct Listener {
    UvHandle<uv_tcp_t> tcp;
    Worker* worker = nullptr;
    size_t index = 0;
  };
  void run();
  static void on_async(uv_async_t* a);
  static void on_connection(uv_stream_t* server, int status);
  void handle(Command& c);
  void stop_listening();
  void maybe_finish();

  unsigned index_;
  std::shared_ptr<const Runtime> runtime_;
  std::vector<int> listen_fds_;
  WorkerMetrics& metrics_;
  WorkerShared& shared_;
  uv_async_t* on_exit_;
  uv_loop_t loop_{};
  std::unique_ptr<UvHandle<uv_async_t>> async_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<UpstreamPool> pool_;
  std::mutex mu_;
  std::deque<Command> inbox_;
  bool inbox_closed_ = false;  // guarded by mu_: the async handle is closed, post() drops
  std::thread thread_;
  ClientConnection* connections_ = nullptr;
  size_t connection_count_ = 0;
  bool draining_ = false;
  bool finished_ = false;
  std::string scratch_;
  Federation* federation_ = nullptr;
  OutboundServices* outbound_ = nullptr;
  std::unique_ptr<WorkerFederation> worker_federation_;
};

}  // namespace bordergate
