// The per-worker pool of keep-alive connections to Core. Only the worker's
// thread touches it, so it needs no locks; idle connections are reused LIFO
// (the most recently used is the least likely to have been closed by Core).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "gateway/admin/metrics.h"
#include "gateway/proxy/runtime.h"

namespace bordergate {

class UpstreamConnection;

class UpstreamPool {
 public:
  // `last_ok_ms` / `last_failure_ms` (steady clock, read by /readyz) record
  // when Core last answered and when a connection to it last failed.
  UpstreamPool(uv_loop_t* loop, WorkerMetrics& metrics, std::atomic<std::int64_t>& last_ok_ms,
               std::atomic<std::int64_t>& last_failure_ms)
      : loop_(loop),
        metrics_(metrics),
        last_ok_ms_(last_ok_ms),
        last_failure_ms_(last_failure_ms) {}
  ~UpstreamPool() { close_all(); }
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection made under `runtime`, or a new one when `fresh` or
  // none is idle. Idle connections of older snapshots are closed.
  UpstreamConnection* acquire(const std::shared_ptr<const Runtime>& runtime, bool fresh);
  // After a complete exchange: keep it idle if allowed, otherwise close it.
  void release(UpstreamConnection* c, bool keep_alive);
  // An idle connection was closed by Core or timed out.
  void remove_idle(UpstreamConnection* c);
  // Called from the connection's close callback, right before it deletes itself.
  void forget(UpstreamConnection* c);
  void close_all();
  size_t size() const { return all_.size(); }

  WorkerMetrics& metrics() { return metrics_; }
  uv_loop_t* loop() { return loop_; }
  void note_upstream_ok();
  void note_upstream_failure();

 private:
  uv_loop_t* loop_;
  WorkerMetrics& metrics_;
  std::atomic<std::int64_t>& last_ok_ms_;
  std::atomic<std::int64_t>& last_failure_ms_;
  std::vector<UpstreamConnection*> idle_;
  std::unordered_set<UpstreamConnection*> all_;
};

}  // namespace bordergate
