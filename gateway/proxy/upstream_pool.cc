#include "gateway/proxy/upstream_pool.h"

#include <algorithm>
#include <chrono>

#include "gateway/proxy/upstream_connection.h"

namespace bordergate {

UpstreamConnection* UpstreamPool::acquire(const std::shared_ptr<const Runtime>& runtime,
                                          bool fresh) {
  while (!fresh && !idle_.empty()) {
    UpstreamConnection* c = idle_.back();
    idle_.pop_back();
    if (c->runtime() == runtime.get()) return c;
    c->close();  // made under an older configuration
  }
  auto* c = new UpstreamConnection(*this, loop_, runtime);
  all_.insert(c);
  return c;
}

void UpstreamPool::release(UpstreamConnection* c, bool keep_alive) {
  std::uint32_t max_idle = c->runtime()->config->upstream.max_idle_connections;
  if (!keep_alive || idle_.size() >= max_idle) {
    c->close();
    return;
  }
  c->park();
  idle_.push_back(c);
}

void UpstreamPool::remove_idle(UpstreamConnection* c) {
  auto it = std::find(idle_.begin(), idle_.end(), c);
  if (it != idle_.end()) idle_.erase(it);
}

void UpstreamPool::forget(UpstreamConnection* c) {
  remove_idle(c);
  all_.erase(c);
}

void UpstreamPool::close_all() {
  idle_.clear();
  // close() only schedules; forget() runs later from the close callback.
  std::vector<UpstreamConnection*> all(all_.begin(), all_.end());
  for (UpstreamConnection* c : all) c->close();
}

namespace {
std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void UpstreamPool::note_upstream_failure() {
  last_failure_ms_.store(steady_now_ms(), std::memory_order_relaxed);
}

void UpstreamPool::note_upstream_ok() {
  auto now = steady_now_ms();
  // Store rarely: a shared cache line written per request would be costly.
  // A failure newer than the last success is always overwritten at once.
  std::int64_t last = last_ok_ms_.load(std::memory_order_relaxed);
  if (now - last > 1000 || last_failure_ms_.load(std::memory_order_relaxed) >= last) {
    last_ok_ms_.store(now, std::memory_order_relaxed);
  }
}

}  // namespace bordergate
