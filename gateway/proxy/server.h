// The process: loads the configuration, starts the workers and the admin
// listener, and turns signals into actions on the main thread's loop:
// SIGHUP reloads (an invalid file keeps the running snapshot), SIGTERM/SIGINT
// drain gracefully within shutdown.drain_timeout, a second one stops at once.
// Talks to systemd with sd_notify (READY=1, RELOADING=1, STOPPING=1).
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gateway/admin/admin_server.h"
#include "gateway/admin/metrics.h"
#include "gateway/enforcement/services.h"
#include "gateway/net/stream.h"
#include "gateway/net/uv_handle.h"
#include "gateway/proxy/federation.h"
#include "gateway/proxy/outbound_services.h"
#include "gateway/proxy/runtime.h"
#include "gateway/proxy/sighup.h"
#include "gateway/proxy/worker.h"

namespace bordergate {

class Server {
 public:
  explicit Server(std::string config_path);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until drained; returns the process exit status.
  int run();

 private:
  static void on_signal(uv_signal_t* s, int signum);
  static void on_worker_exit(uv_async_t* a);
  static void on_drain_deadline(void* self);
  Status start();
  // `trigger` and `actor` go into the audit chain's policy_load record.
  void reload(const std::string& trigger, const std::string& actor);
  void begin_drain();
  void force_stop();
  void close_main_handles();
  bool ready(std::string& why) const;

  std::string config_path_;
  uv_loop_t loop_{};
  std::shared_ptr<const Runtime> runtime_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Federation> federation_;  // outlives the workers (declared before them)
  // Declared before the workers: destroyed after them (key callbacks run on their loops).
  std::unique_ptr<enforcement::EnforcementServices> enforcement_;
  std::unique_ptr<OutboundServices> outbound_;  // the Core's proxy listener (null: disabled)
  // Request bodies buffered by every worker (limits.max_buffered_bytes); outlives the workers.
  std::unique_ptr<BodyBudget> body_budget_;
  WorkerShared shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<AdminServer> admin_;
  std::vector<std::unique_ptr<UvHandle<uv_signal_t>>> signals_;
  std::unique_ptr<SighupWatch> sighup_;
  std::unique_ptr<UvHandle<uv_async_t>> worker_exit_;
  std::unique_ptr<Timer> drain_timer_;
  bool draining_ = false;
  bool stopping_ = false;
  std::atomic<bool> listening_{false};
};

}  // namespace bordergate
