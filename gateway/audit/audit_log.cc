#include "gateway/audit/audit_log.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include "gateway/common/log.h"

namespace bordergate::audit {

namespace {

// The gateway that writes a log names itself in "<log>.writer" while it runs and removes it when
// it closes the log cleanly. Found at start naming a process that is gone, it says the last
// writer was killed or crashed with records still queued in memory.
std::string writer_marker(const std::string& path) { return path + ".writer"; }

std::optional<long> read_writer_marker(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return pid;
}

bool process_gone(long pid) { return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

void write_writer_marker(const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ::getpid() << '\n';
    if (!out) return;  // then a crash goes unnoticed: the log itself is unaffected
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(AuditLogOptions options) {
  if (options.queue_capacity == 0) options.queue_capacity = 1;
  Result<std::unique_ptr<AuditFile>> file = AuditFile::open(options.path);
  if (!file) return file.error();
  // A previous gateway that did not close the log: its queued records never reached the disk.
  // Say so in the chain, where audit verify reports it as a possible gap.
  std::vector<std::string> first_records;
  const std::string marker = writer_marker(options.path);
  if (std::optional<long> previous = read_writer_marker(marker);
      previous && *previous != ::getpid() && process_gone(*previous)) {
    AuditRecord unclean;
    unclean.type = "unclean_shutdown";
    unclean.note = "the previous writer (pid " + std::to_string(*previous) +
                   ") ended without closing the log (killed or crashed): records it had queued "
                   "but not written are missing (at most " +
                   std::to_string(options.queue_capacity) + ")";
    std::string m;
    append_record_members(m, unclean);
    first_records.push_back(std::move(m));
    log_event(LogLevel::warn, "audit_unclean_shutdown",
              {{"path", options.path}, {"previous_pid", *previous}});
  }
  // Resume (or start) the chain now, so a broken tail fails start-up instead
  // of the first request.
  Result<size_t> first = (*file)->append(first_records, true);
  if (!first) return first.error();
  write_writer_marker(marker);
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

void AuditLog::Ticket::release() {
  if (count_ != nullptr) count_->fetch_sub(1, std::memory_order_relaxed);
  count_.reset();
  log_ = nullptr;
}

AuditLog::Ticket AuditLog::reserve() {
  std::lock_guard lock(mu_);
  if (stopping_ || failing_ || queue_.size() + reserved_->load() >= options_.queue_capacity) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return Ticket();
  }
  reserved_->fetch_add(1, std::memory_order_relaxed);
  return Ticket(this, reserved_);
}

bool AuditLog::accepting() const {
  std::lock_guard lock(mu_);
  return !stopping_ && !failing_ && queue_.size() + reserved_->load() < options_.queue_capacity;
}

std::string AuditLog::unavailable_reason() const {
  std::lock_guard lock(mu_);
  if (stopping_) return "audit log closing";
  if (failing_) return "audit log write failing: " + failure_;
  if (queue_.size() + reserved_->load() >= options_.queue_capacity) return "audit queue full";
  return {};
}

void AuditLog::note_drop(std::uint64_t n, const char* why) {
  const auto now = std::chrono::system_clock::now();
  if (unreported_drops_ == 0) {
    first_drop_ = now;
    drop_reason_ = why;
  }
  last_drop_ = now;
  unreported_drops_ += n;
  dropped_.fetch_add(n, std::memory_order_relaxed);
}

bool AuditLog::submit(const AuditRecord& record, Ticket* ticket) {
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
    reduced.facts.clear();
    reduced.note = "record too large (" + std::to_string(members.size()) +
                   " bytes): event lists, facts and note left out";
    members.clear();
    append_record_members(members, reduced);
  }
  std::unique_lock lock(mu_);
  const bool reserved = ticket != nullptr && ticket->log_ == this && ticket->count_ != nullptr;
  if (reserved) ticket->release();  // the place the ticket held becomes the record's
  if (stopping_ || (!reserved && queue_.size() + reserved_->load() >= options_.queue_capacity)) {
    note_drop(1, stopping_ ? "the audit log was closing" : "the audit queue was full");
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
  s.reservations_refused = refused_.load(std::memory_order_relaxed);
  s.last_seq = last_seq_.load(std::memory_order_relaxed);
  s.queue_capacity = options_.queue_capacity;
  std::lock_guard lock(mu_);
  s.queue_depth = queue_.size();
  s.reserved = reserved_->load();
  s.accepting = !stopping_ && !failing_ && queue_.size() + s.reserved < options_.queue_capacity;
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
  // Set when a write fails after shutdown began: retries end there, for every batch left.
  std::optional<Clock::time_point> give_up_at;
  for (;;) {
    std::uint64_t drops = 0;
    std::string drop_note;
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
      if (drops) {
        drop_note = std::to_string(drops) + (drops == 1 ? " record was" : " records were") +
                    " lost between " + format_time(first_drop_) + " and " +
                    format_time(last_drop_) + " after seq " +
                    std::to_string(file_->head().next_seq - 1) + ": " + drop_reason_;
      }
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
      lost.note = std::move(drop_note);
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
          bool recovered = false;
          {
            std::lock_guard lock(mu_);
            recovered = std::exchange(failing_, false);
          }
          if (recovered) {
            log_event(LogLevel::info, "audit_write_recovered",
                      {{"path", options_.path},
                       {"last_seq", static_cast<unsigned long long>(file_->head().next_seq - 1)}});
          }
          break;
        }
        write_errors_.fetch_add(1, std::memory_order_relaxed);
        log_event(LogLevel::error, "audit_write_failed",
                  {{"path", options_.path}, {"error", r.error().message}});
        // Keep the batch and retry. Meanwhile reserve() says no, so the gateway refuses new
        // work instead of carrying out decisions it cannot record. At shutdown the retries are
        // bounded (shutdown_retry); what the disk still does not take is lost, and said so.
        std::unique_lock lock(mu_);
        failing_ = true;
        failure_ = r.error().message;
        if (stopping_) {
          if (!give_up_at) give_up_at = Clock::now() + options_.shutdown_retry;
          if (Clock::now() >= *give_up_at) {
            dropped_.fetch_add(user_records, std::memory_order_relaxed);
            lock.unlock();
            log_event(LogLevel::error, "audit_records_lost",
                      {{"path", options_.path},
                       {"records", static_cast<unsigned long long>(user_records)},
                       {"after_seq", static_cast<unsigned long long>(file_->head().next_seq - 1)},
                       {"error", r.error().message}});
            break;
          }
        }
        has_work_.wait_for(lock, options_.retry_delay);
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
      // Closed cleanly: the next start has nothing to report (unless another gateway wrote the
      // marker since, which keeps it).
      if (read_writer_marker(writer_marker(options_.path)) == ::getpid()) {
        std::remove(writer_marker(options_.path).c_str());
      }
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
