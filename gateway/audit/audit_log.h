// The gateway's audit log writer. Workers on any thread submit records; one
// dedicated thread seals them into the hash chain and does all file I/O, so an
// event loop never waits for the disk. The queue is bounded: when it is full a
// submitter blocks (backpressure) for at most enqueue_timeout, and only then
// is the record dropped, counted, and announced by a records_dropped line in
// the chain itself, so a loss is never silent.
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
  std::size_t queue_capacity = 65536;  // records
  std::chrono::milliseconds enqueue_timeout{1000};
  std::chrono::milliseconds retry_delay{200};  // after a failed write
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
  std::uint64_t submit_blocked = 0;  // submits that had to wait for room
  std::uint64_t queue_depth = 0;
  std::uint64_t queue_capacity = 0;
  std::uint64_t last_seq = 0;
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

  // Thread-safe. Serializes on the caller's thread (about a microsecond) and
  // queues (see kMaxRecordBytes). Returns false when the record had to be dropped (queue full for
  // enqueue_timeout, or the log is shutting down).
  bool submit(const AuditRecord& record);

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
  std::uint64_t submitted_ = 0;  // records ever accepted into the queue
  std::uint64_t done_ = 0;       // of those, written (or given up at shutdown)
  std::uint64_t unreported_drops_ = 0;
  bool reopen_ = false;
  bool stopping_ = false;
  bool writer_idle_ = false;         // the writer sleeps on an empty queue: a submit wakes it
  std::uint32_t flush_waiters_ = 0;  // a flush() wants the queue written now

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> blocked_{0};
  std::atomic<std::uint64_t> last_seq_{0};
  std::thread thread_;
};

}  // namespace bordergate::audit
