// Hands work to a worker's libuv loop from any thread (uv_async_t + a locked queue). The key store
// uses it to deliver a fetch result to every waiting request on the request's own loop.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "gateway/net/uv_handle.h"

namespace bordergate::keystore {

// The thread-safe half, shared by whoever may post (the store keeps one per waiting request).
// Posting after the worker closed its queue silently drops the task: the request is gone anyway.
class Mailbox {
 public:
  void post(std::function<void()> task);

 private:
  friend class WorkerQueue;
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
  void* async_ = nullptr;  // uv_async_t*, null once closed
};

// The loop-thread half: owns the uv_async_t. Create and destroy it on the loop thread; run the
// loop after destroying it so the handle finishes closing.
class WorkerQueue {
 public:
  explicit WorkerQueue(uv_loop_t* loop);
  ~WorkerQueue();
  WorkerQueue(const WorkerQueue&) = delete;
  WorkerQueue& operator=(const WorkerQueue&) = delete;

  const std::shared_ptr<Mailbox>& mailbox() const { return mailbox_; }
  void post(std::function<void()> task) { mailbox_->post(std::move(task)); }

 private:
  void drain();
  std::shared_ptr<Mailbox> mailbox_;
  UvHandle<uv_async_t> async_;  // gateway/net's RAII box: freed in its close callback
};

}  // namespace bordergate::keystore
