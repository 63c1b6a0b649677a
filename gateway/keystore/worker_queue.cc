#include "gateway/keystore/worker_queue.h"

#include <uv.h>

namespace bordergate::keystore {

struct WorkerQueue::Handle {
  uv_async_t async{};
  WorkerQueue* owner = nullptr;
};

void Mailbox::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (async_ == nullptr) return;
  tasks_.push_back(std::move(task));
  // Under the lock: the worker cannot close the handle between the check and the send.
  uv_async_send(static_cast<uv_async_t*>(async_));
}

WorkerQueue::WorkerQueue(uv_loop_t* loop)
    : mailbox_(std::make_shared<Mailbox>()), handle_(new Handle) {
  handle_->owner = this;
  handle_->async.data = handle_;
  uv_async_init(loop, &handle_->async, [](uv_async_t* async) {
    auto* handle = static_cast<Handle*>(async->data);
    if (handle->owner != nullptr) handle->owner->drain();
  });
  std::lock_guard lock(mailbox_->mutex_);
  mailbox_->async_ = &handle_->async;
}

WorkerQueue::~WorkerQueue() {
  {
    std::lock_guard lock(mailbox_->mutex_);
    mailbox_->async_ = nullptr;
    mailbox_->tasks_.clear();
  }
  handle_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->async),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void WorkerQueue::drain() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard lock(mailbox_->mutex_);
    tasks.swap(mailbox_->tasks_);
  }
  for (auto& task : tasks) task();
}

}  // namespace bordergate::keystore
