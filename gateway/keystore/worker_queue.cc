#include "gateway/keystore/worker_queue.h"

#include <uv.h>

namespace bordergate::keystore {

void Mailbox::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (async_ == nullptr) return;
  tasks_.push_back(std::move(task));
  // Under the lock: the worker cannot close the handle between the check and the send.
  uv_async_send(static_cast<uv_async_t*>(async_));
}

WorkerQueue::WorkerQueue(uv_loop_t* loop) : mailbox_(std::make_shared<Mailbox>()) {
  if (uv_async_init(loop, async_.get(), [](uv_async_t* async) {
        if (auto* self = static_cast<WorkerQueue*>(async->data)) self->drain();
      }) == 0) {
    async_.mark_initialized();
  }
  async_.get()->data = this;
  std::lock_guard lock(mailbox_->mutex_);
  if (async_.active()) mailbox_->async_ = async_.get();
}

WorkerQueue::~WorkerQueue() {
  {
    std::lock_guard lock(mailbox_->mutex_);
    mailbox_->async_ = nullptr;
    mailbox_->tasks_.clear();
  }
  async_.close();  // detaches us from late callbacks; the box is freed once libuv is done
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
