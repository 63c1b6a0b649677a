// SIGHUP together with who sent it. libuv's signal handles say which signal came, not from whom;
// a reload is recorded in the audit chain with the process that asked for it, so SIGHUP gets a
// handler of its own (SA_SIGINFO) that keeps the sender's pid and uid and wakes the loop through
// an async handle (uv_async_send is async-signal-safe). Signals that arrive before the loop runs
// the callback coalesce into one call naming the last sender. One watch per process.
#pragma once

#include <signal.h>
#include <uv.h>

#include <functional>
#include <memory>

#include "gateway/common/result.h"
#include "gateway/net/uv_handle.h"

namespace bordergate {

class SighupWatch {
 public:
  struct Sender {
    int pid = 0;  // 0: the kernel, or a sender the process cannot see
    unsigned uid = 0;
  };
  using Callback = std::function<void(Sender)>;

  // Installs the handler; the callback runs on `loop`'s thread.
  static Result<std::unique_ptr<SighupWatch>> start(uv_loop_t* loop, Callback callback);
  ~SighupWatch();
  SighupWatch(const SighupWatch&) = delete;
  SighupWatch& operator=(const SighupWatch&) = delete;

  // Puts the previous disposition back, then closes the async handle (on the loop's thread;
  // the destructor does it too).
  void close();

 private:
  explicit SighupWatch(Callback callback) : callback_(std::move(callback)) {}
  static void on_async(uv_async_t* handle);

  Callback callback_;
  UvHandle<uv_async_t> async_;
  struct sigaction previous_ {};
  bool installed_ = false;
};

}  // namespace bordergate
