// RAII wrappers for libuv handles. The uv_*_t lives in its own heap box so
// that libuv can keep using it until the close callback, which is where it is
// freed; the wrapper itself is neither copyable nor movable and close() is
// idempotent, so an owner may be destroyed at any time.
#pragma once

#include <uv.h>

#include <utility>

namespace bordergate {

template <class UvT>
class UvHandle {
 public:
  UvHandle() : h_(new UvT{}) {}
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  UvT* get() { return h_; }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(h_); }
  bool active() const { return h_ != nullptr && initialized_; }

  // Call after a successful uv_*_init so close() knows libuv owns the box.
  void mark_initialized() { initialized_ = true; }

  void close() {
    if (h_ == nullptr) return;
    UvT* h = std::exchange(h_, nullptr);
    h->data = nullptr;  // callbacks still queued see no owner
    if (!initialized_) {
      delete h;
      return;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* p) { delete reinterpret_cast<UvT*>(p); });
  }

 private:
  UvT* h_;
  bool initialized_ = false;
};

// A one-shot or repeating timer that calls a member function of its owner.
// The callback target is fixed at construction: no std::function per arm.
class Timer {
 public:
  using Callback = void (*)(void* owner);
  Timer(uv_loop_t* loop, Callback cb, void* owner) : cb_(cb), owner_(owner) {
    if (uv_timer_init(loop, h_.get()) == 0) h_.mark_initialized();
    h_.get()->data = this;
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(uint64_t timeout_ms, uint64_t repeat_ms = 0) {
    if (!h_.active()) return;
    uv_timer_start(h_.get(), &Timer::fire, timeout_ms, repeat_ms);
  }
  void stop() {
    if (h_.active()) uv_timer_stop(h_.get());
  }
  void unref() {
    if (h_.active()) uv_unref(h_.handle());
  }
  void close() { h_.close(); }

 private:
  static void fire(uv_timer_t* t) {
    auto* self = static_cast<Timer*>(t->data);
    if (self != nullptr) self->cb_(self->owner_);
  }
  UvHandle<uv_timer_t> h_;
  Callback cb_;
  void* owner_;
};

}  // namespace bordergate
