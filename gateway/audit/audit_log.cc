#include "gateway/audit/audit_log.h"

#include <vector>

#include "gateway/common/log.h"

namespace bordergate::audit {

Result<std::unique_ptr<AuditLog>> AuditLog::open(AuditLogOptions options) {
  if (options.queue_capacity == 0) options.queue_capacity = 1;
  Result<std::unique_ptr<AuditFile>> file = AuditFile::open(options.path);
  if (!file) return file.error();
  // Resume (or start) the chain now, so a broken tail fails start-up instead
  // of the first request.
  Result<size_t> first = (*file)->append({}, true);
  if (!first) return first.error();
  auto log = std::unique_ptr<AuditLog>(new AuditLog(std::move(options), std::move(*file)));
  log->written_ = *first;
  log->last_seq_ = log->file_->head().next_seq - 1;
  log->thread_ = std::thread([raw = log.get()] { raw->run(); });
  return log;
}

AuditLog::AuditLog(AuditLogOptions options, std::unique_ptr<AuditFile> file)
    : options_(std::move(options)), file_(std::move(file)) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  has_work_.notify_all();
  has_room_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool AuditLog::submit(const AuditRecord& record) {
  std::string members;
  members.reserve(512);
  append_record_members(members, record);
  if (members.size() > kMaxRecordBytes) {
    // Keep every line verifiable (the verifier reads lines up to 1 MiB): drop
    // the lists and free text, say so, keep the decision itself.
    AuditRecord reduced = record;
    reduced.event_ids.clear();
    reduced.event_types.clear();
    reduced.edu_types.clear();
    reduced.answer_event_ids.clear();
    reduced.answer_event_types.clear();
    reduced.answer_event_verdicts.clear();
    reduced.note = "record too large (" + std::to_string(members.size()) +
                   " bytes): event lists and note left out";
    members.clear();
    append_record_members(members, reduced);
  }
  std::unique_lock lock(mu_);
  if (queue_.size() >= options_.queue_capacity && !stopping_) {
    blocked_.fetch_add(1, std::memory_order_relaxed);
    has_room_.wait_for(lock, options_.enqueue_timeout,
                       [&] { return stopping_ || queue_.size() < options_.queue_capacity; });
  }
  if (stopping_ || queue_.size() >= options_.queue_capacity) {
    ++unreported_drops_;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  queue_.push_back(std::move(members));
  ++submitted_;
  // A writer gathering a batch wakes by itself; waking it per record would cost a context switch
  // each (the futex wake is skipped entirely when nobody waits).
  const bool wake = writer_idle_ || queue_.size() >= full_batch();
  lock.unlock();
  if (wake) has_work_.notify_one();
  return true;
}

void AuditLog::reopen() {
  {
    std::lock_guard lock(mu_);
    reopen_ = true;
  }
  has_work_.notify_one();
}

void AuditLog::flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = submitted_;
  ++flush_waiters_;
  has_work_.notify_one();
  progressed_.wait(lock, [&] { return done_ >= target || (stopping_ && queue_.empty()); });
  --flush_waiters_;
}

AuditStats AuditLog::stats() const {
  AuditStats s;
  s.records_written = written_.load(std::memory_order_relaxed);
  s.records_dropped = dropped_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.submit_blocked = blocked_.load(std::memory_order_relaxed);
  s.last_seq = last_seq_.load(std::memory_order_relaxed);
  s.queue_capacity = options_.queue_capacity;
  std::lock_guard lock(mu_);
  s.queue_depth = queue_.size();
  return s;
}

void AuditLog::run() {
  using Clock = std::chrono::steady_clock;
  const bool sync_each = options_.fsync.kind == FsyncPolicy::Kind::every_batch;
  const bool sync_interval = options_.fsync.kind == FsyncPolicy::Kind::interval;
  Clock::time_point last_sync = Clock::now();
  Clock::time_point next_write = last_sync;  // batch_interval after the last write
  bool dirty = false;
  std::vector<std::string> batch;
  for (;;) {
    std::uint64_t drops = 0;
    bool reopen = false;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      auto urgent = [&] {
        return stopping_ || reopen_ || unreported_drops_ || queue_.size() >= full_batch() ||
               (flush_waiters_ > 0 && !queue_.empty());
      };
      for (;;) {
        if (urgent()) break;
        const Clock::time_point now = Clock::now();
        if (!queue_.empty()) {
          if (now >= next_write) break;
          has_work_.wait_until(lock, next_write);  // gathering: submits do not wake us
          continue;
        }
        const Clock::time_point sync_due = last_sync + options_.fsync.interval;
        if (dirty && sync_interval && now >= sync_due) break;  // nothing to write; sync below
        writer_idle_ = true;
        if (dirty && sync_interval) {
          has_work_.wait_until(lock, sync_due);
        } else {
          has_work_.wait(lock);
        }
        writer_idle_ = false;
      }
      // Take at most a bounded batch so one write stays reasonable.
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      drops = unreported_drops_;
      unreported_drops_ = 0;
      reopen = reopen_;
      reopen_ = false;
      stopping = stopping_ && queue_.empty();
    }
    has_room_.notify_all();
    if (reopen) file_->request_reopen();
    const size_t user_records = batch.size();
    if (drops) {
      AuditRecord lost;
      lost.type = "records_dropped";
      lost.note = std::to_string(drops) + " records were dropped: the audit queue stayed full";
      std::string m;
      append_record_members(m, lost);
      batch.insert(batch.begin(), std::move(m));
    }
    if (!batch.empty() || reopen) {
      for (;;) {
        Result<size_t> r = file_->append(batch, sync_each);
        next_write = Clock::now() + options_.batch_interval;
        if (r) {
          written_.fetch_add(*r, std::memory_order_relaxed);
          last_seq_.store(file_->head().next_seq - 1, std::memory_order_relaxed);
          dirty = !sync_each;
          if (sync_each) last_sync = Clock::now();
          break;
        }
        write_errors_.fetch_add(1, std::memory_order_relaxed);
        log_event(LogLevel::error, "audit_write_failed",
                  {{"path", options_.path}, {"error", r.error().message}});
        // Keep the batch and retry: producers block behind the full queue,
        // which is the backpressure the log promises. Give up only at shutdown.
        std::unique_lock lock(mu_);
        if (stopping_) {
          dropped_.fetch_add(user_records, std::memory_order_relaxed);
          break;
        }
        has_work_.wait_for(lock, options_.retry_delay, [&] { return stopping_; });
      }
      batch.clear();
      {
        std::lock_guard lock(mu_);
        done_ += user_records;
      }
      progressed_.notify_all();
    }
    if (dirty &&
        (stopping || (sync_interval && Clock::now() - last_sync >= options_.fsync.interval))) {
      if (Status s = file_->sync(); !s) write_errors_.fetch_add(1, std::memory_order_relaxed);
      last_sync = Clock::now();
      dirty = false;
    }
    if (stopping) {
      log_event(LogLevel::info, "audit_log_closed",
                {{"path", options_.path},
                 {"last_seq", static_cast<unsigned long long>(file_->head().next_seq - 1)},
                 {"head", file_->head().last_hash}});
      progressed_.notify_all();
      return;
    }
  }
}

}  // namespace bordergate::audit
