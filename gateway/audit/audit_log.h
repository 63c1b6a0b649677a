// The gateway's audit log writer. Workers on any thread submit records; one
// dedicated thread seals them into the hash chain and does all file I/O, so an
// event loop never waits for the disk, and submitting never blocks.
//
// Fail closed: a request the gateway will have to record first reserves a place in the bounded
// queue (reserve()). While the log cannot take records (the last write failed: disk full, I/O
// error; or the queue and the reservations fill it) reserve() says no, and the gateway refuses
// the request (503) instead of carrying out a decision it cannot record; readiness says why. It
// recovers by itself once a write succeeds again. A record that is lost all the same (a
// submit without a reservation to a full queue, the operator's on_failure: forward, or records
// the disk would not take at shutdown) is never silent: it is counted, and a records_dropped
// line in the chain says how many, after which seq, between which times and why.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "gateway/audit/audit_file.h"
#include "gateway/audit/audit_record.h"
#include "gateway/common/result.h"

namespace bordergate::audit {

struct FsyncPolicy {
  enum class Kind { every_batch, interval, never };
  Kind kind = Kind::interval;
  std::chrono::milliseconds interval{100};
};

struct AuditLogOptions {
  std::string path;
  FsyncPolicy fsync;
  std::size_t queue_capacity = 65536;          // records, reservations included
  std::chrono::milliseconds retry_delay{200};  // after a failed write
  // At shutdown, how long the writer keeps retrying records the disk does not take before it
  // gives them up (counted, logged as audit_records_lost with their number).
  std::chrono::milliseconds shutdown_retry{5000};
  // While records keep coming, at most one write per batch_interval: the records of that time go
  // out as one batch (one write(2), one chain-head update), instead of the writer thread waking
  // for every record or two and competing with the event loops for the CPU. The first record
  // after a quiet spell is written at once; flush(), reopen() and a full batch do not wait.
  std::chrono::microseconds batch_interval{2000};
};

// Counters for the admin metrics (see audit_metrics.h); read at any time.
struct AuditStats {
  std::uint64_t records_written = 0;  // lines in the chain, bookkeeping included
  std::uint64_t records_dropped = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t reservations_refused = 0;  // reserve() said no: the request was refused
  std::uint64_t queue_depth = 0;
  std::uint64_t reserved = 0;  // places held for requests not yet recorded
  std::uint64_t queue_capacity = 0;
  std::uint64_t last_seq = 0;
  bool accepting = true;  // reserve() would succeed now
};

class AuditLog {
 public:
  // A record whose line would exceed this loses its event lists and note.
  static constexpr std::size_t kMaxRecordBytes = 256 * 1024;
  // Records per write at most.
  static constexpr std::size_t kMaxBatch = 1024;

  // Opens the file; the chain resumes from its last line (or from the
  // sidecar after a rotation, or starts with chain_start).
  static Result<std::unique_ptr<AuditLog>> open(AuditLogOptions options);
  // Writes what is queued, syncs and joins the writer thread.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  using ReservedCount = std::atomic<std::uint64_t>;

  // A place in the queue for one record to come, held by a request from its start until its
  // record is submitted (or the ticket is dropped: the place is given back). Movable; empty
  // when default-constructed or when reserve() said no. It shares the count of places with the
  // log, so a ticket that outlives its log (a request torn down after the log closed) gives its
  // place back harmlessly.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept
        : log_(std::exchange(other.log_, nullptr)), count_(std::move(other.count_)) {}
    Ticket& operator=(Ticket&& other) noexcept {
      if (this != &other) {
        release();
        log_ = std::exchange(other.log_, nullptr);
        count_ = std::move(other.count_);
      }
      return *this;
    }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }
    explicit operator bool() const { return count_ != nullptr; }

   private:
    friend class AuditLog;
    Ticket(const AuditLog* log, std::shared_ptr<ReservedCount> count)
        : log_(log), count_(std::move(count)) {}
    void release();
    const AuditLog* log_ = nullptr;  // which log it is for; compared, never dereferenced
    std::shared_ptr<ReservedCount> count_;
  };

  // Thread-safe, never blocks. A place for one record, or an empty ticket when the log cannot
  // take records now (the last write failed, or the queue is full with reservations): the
  // caller refuses the work instead of doing it unrecorded.
  Ticket reserve();
  // Whether reserve() would succeed now, and if not why ("audit log write failing: ...",
  // "audit queue full"), for readiness.
  bool accepting() const;
  std::string unavailable_reason() const;

  // Thread-safe, never blocks. Serializes on the caller's thread (about a microsecond) and
  // queues (see kMaxRecordBytes), into the place the ticket holds when one is given. Returns
  // false when the record had to be dropped (no ticket and the queue full, or the log is
  // shutting down): it is counted and a records_dropped line says so.
  bool submit(const AuditRecord& record, Ticket* ticket = nullptr);

  // Thread-safe and cheap: asks the writer to reopen the path before its next
  // write (call from the SIGUSR1 handler's loop callback after logrotate).
  void reopen();

  // Blocks until every record submitted before the call is written (and synced
  // when the policy syncs). For shutdown paths and tests.
  void flush();

  AuditStats stats() const;
  const std::string& path() const { return options_.path; }

 private:
  AuditLog(AuditLogOptions options, std::unique_ptr<AuditFile> file);
  void run();
  void note_drop(std::uint64_t n, const char* why);  // under mu_
  // Queued records that are written without waiting for batch_interval (a full batch, or a
  // full queue that submitters wait on).
  std::size_t full_batch() const { return std::min(kMaxBatch, options_.queue_capacity); }

  AuditLogOptions options_;
  std::unique_ptr<AuditFile> file_;  // only the writer thread touches it

  mutable std::mutex mu_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::condition_variable progressed_;
  std::deque<std::string> queue_;
  // Tickets outstanding (shared with them; changed under mu_ except by a ticket's release).
  std::shared_ptr<ReservedCount> reserved_ = std::make_shared<ReservedCount>(0);
  std::uint64_t submitted_ = 0;  // records ever accepted into the queue
  std::uint64_t done_ = 0;       // of those, written (or given up at shutdown)
  // Records lost since the last records_dropped line: how many, when the first and the last
  // were lost, and why (the first reason).
  std::uint64_t unreported_drops_ = 0;
  std::chrono::system_clock::time_point first_drop_{}, last_drop_{};
  std::string drop_reason_;
  // The last write failed (until one succeeds): what it said.
  bool failing_ = false;
  std::string failure_;
  bool reopen_ = false;
  bool stopping_ = false;
  bool writer_idle_ = false;         // the writer sleeps on an empty queue: a submit wakes it
  std::uint32_t flush_waiters_ = 0;  // a flush() wants the queue written now

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> last_seq_{0};
  std::thread thread_;
};

}  // namespace bordergate::audit
