#include "gateway/proxy/sighup.h"

#include <atomic>
#include <cerrno>
#include <cstring>

namespace bordergate {
namespace {

// Written by the handler, read on the loop: lock-free atomics are async-signal-safe.
std::atomic<uv_async_t*> g_async{nullptr};
std::atomic<int> g_sender_pid{0};
std::atomic<unsigned> g_sender_uid{0};
static_assert(std::atomic<uv_async_t*>::is_always_lock_free);
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_sighup(int, siginfo_t* info, void*) {
  const int saved_errno = errno;
  g_sender_pid.store(info != nullptr ? static_cast<int>(info->si_pid) : 0,
                     std::memory_order_relaxed);
  g_sender_uid.store(info != nullptr ? static_cast<unsigned>(info->si_uid) : 0,
                     std::memory_order_relaxed);
  if (uv_async_t* a = g_async.load(std::memory_order_acquire)) uv_async_send(a);
  errno = saved_errno;
}

}  // namespace

Result<std::unique_ptr<SighupWatch>> SighupWatch::start(uv_loop_t* loop, Callback callback) {
  std::unique_ptr<SighupWatch> w(new SighupWatch(std::move(callback)));
  if (int rc = uv_async_init(loop, w->async_.get(), &SighupWatch::on_async); rc != 0)
    return make_error("sighup_init", std::string("uv_async_init: ") + uv_strerror(rc));
  w->async_.mark_initialized();
  w->async_.get()->data = w.get();
  uv_async_t* expected = nullptr;
  if (!g_async.compare_exchange_strong(expected, w->async_.get()))
    return make_error("sighup_init", "SIGHUP is already watched in this process");
  struct sigaction action {};
  action.sa_sigaction = &on_sighup;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGHUP, &action, &w->previous_) != 0) {
    g_async.store(nullptr);
    return make_error("sighup_init", std::string("sigaction: ") + std::strerror(errno));
  }
  w->installed_ = true;
  return w;
}

SighupWatch::~SighupWatch() { close(); }

void SighupWatch::close() {
  if (installed_) {
    // The handler must never see a closed handle: restore first, then unpublish.
    sigaction(SIGHUP, &previous_, nullptr);
    installed_ = false;
    g_async.store(nullptr, std::memory_order_release);
  }
  async_.close();
}

void SighupWatch::on_async(uv_async_t* handle) {
  auto* self = static_cast<SighupWatch*>(handle->data);
  if (self == nullptr) return;
  self->callback_(Sender{g_sender_pid.load(std::memory_order_relaxed),
                         g_sender_uid.load(std::memory_order_relaxed)});
}

}  // namespace bordergate
