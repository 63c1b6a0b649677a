// The writer thread: concurrent producers, resume after restart, rotation
// (with and without the SIGUSR1 reopen), a second process appending to the
// same chain; failing closed: reservations refused while the queue is full or writes fail
// (disk full, simulated with RLIMIT_FSIZE), recovery, and every lost record accounted for, a
// writer killed with records in memory included.
#include "gateway/audit/audit_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "gateway/audit/audit_metrics.h"
#include "gateway/audit/audit_verify.h"
#include "tests/unit/audit/test_files.h"

namespace bordergate::audit {
namespace {

using testing::read_lines;
using testing::ScratchDir;

AuditRecord decision(int i) {
  AuditRecord r;
  r.direction = "inbound";
  r.origin = "peer" + std::to_string(i % 7) + ".example";
  r.endpoint = "send";
  r.txn_id = std::to_string(i);
  r.action = "forward";
  r.rule_id = "allow.peers";
  r.reason = "allowed";
  return r;
}

std::unique_ptr<AuditLog> open_log(const std::string& path, std::size_t capacity = 65536) {
  AuditLogOptions o;
  o.path = path;
  o.fsync.kind = FsyncPolicy::Kind::interval;
  o.fsync.interval = std::chrono::milliseconds(5);
  o.queue_capacity = capacity;
  o.retry_delay = std::chrono::milliseconds(10);
  o.shutdown_retry = std::chrono::milliseconds(200);
  Result<std::unique_ptr<AuditLog>> log = AuditLog::open(o);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return log.ok() ? std::move(*log) : nullptr;
}

size_t count_type(const std::vector<std::string>& lines, const std::string& type) {
  size_t n = 0;
  for (const std::string& l : lines) n += l.find("\"type\":\"" + type + "\"") != std::string::npos;
  return n;
}

TEST(AuditLog, ConcurrentProducersMakeOneIntactChain) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;
  {
    std::unique_ptr<AuditLog> log = open_log(path, 256);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        // As the gateway does: a place first (refused while the queue is full: a peer would
        // get 503 and retry), then the record into it.
        for (int i = 0; i < kPerThread; ++i) {
          AuditLog::Ticket ticket;
          while (!(ticket = log->reserve())) std::this_thread::yield();
          ASSERT_TRUE(log->submit(decision(t * kPerThread + i), &ticket));
        }
      });
    }
    for (auto& th : threads) th.join();
    log->flush();
    AuditStats s = log->stats();
    EXPECT_EQ(s.records_written, 1u + kThreads * kPerThread);  // + chain_start
    EXPECT_EQ(s.records_dropped, 0u);
    EXPECT_EQ(s.queue_depth, 0u);
    EXPECT_EQ(s.last_seq, static_cast<std::uint64_t>(kThreads * kPerThread));
  }
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.records, 1u + kThreads * kPerThread);
  std::set<std::string> txns;
  for (const std::string& l : read_lines(path)) {
    size_t p = l.find("\"txn_id\":\"");
    if (p != std::string::npos) txns.insert(l.substr(p + 10, l.find('"', p + 10) - p - 10));
  }
  EXPECT_EQ(txns.size(), static_cast<size_t>(kThreads * kPerThread));  // none lost or doubled
}

// Records are gathered for batch_interval while they keep coming; the first one after a quiet
// spell is written at once, and flush() never waits for the interval (here an hour).
TEST(AuditLog, GathersBatchesButNeverMakesFlushWait) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  AuditLogOptions o;
  o.path = path;
  o.batch_interval = std::chrono::hours(1);
  Result<std::unique_ptr<AuditLog>> opened = AuditLog::open(o);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  AuditLog& log = **opened;
  // Opening wrote chain_start; the writer is idle, so the first record goes out without a flush.
  ASSERT_TRUE(log.submit(decision(1)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (log.stats().records_written < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(log.stats().records_written, 2u);
  for (int i = 2; i <= 4; ++i) ASSERT_TRUE(log.submit(decision(i)));
  const auto started = std::chrono::steady_clock::now();
  log.flush();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::minutes(1));
  EXPECT_EQ(log.stats().records_written, 5u);
  EXPECT_EQ(log.stats().queue_depth, 0u);
  EXPECT_EQ(read_lines(path).size(), 5u);
}

TEST(AuditLog, ResumesTheChainAfterRestart) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  for (int run = 0; run < 3; ++run) {
    std::unique_ptr<AuditLog> log = open_log(path);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->submit(decision(i)));
  }
  const std::vector<std::string> lines = read_lines(path);
  EXPECT_EQ(count_type(lines, "chain_start"), 1u);
  EXPECT_EQ(count_type(lines, "writer_opened"), 2u);
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.last_seq, 32u);
}

// A pid no process has: a child that has exited and been waited for.
long gone_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(AuditLog, AWriterThatDidNotCloseTheLogIsAPossibleGapInTheChain) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  const std::string marker = path + ".writer";
  {
    std::unique_ptr<AuditLog> log = open_log(path);
    ASSERT_TRUE(log->submit(decision(1)));
    // While it runs, the log names its writer.
    std::ifstream in(marker);
    long pid = 0;
    ASSERT_TRUE(in >> pid);
    EXPECT_EQ(pid, static_cast<long>(::getpid()));
  }
  EXPECT_FALSE(std::ifstream(marker).good());  // closed cleanly: nothing left to report

  // A marker naming a process that is gone: killed with records still in memory.
  const long dead = gone_pid();
  write_text(marker, std::to_string(dead) + "\n");
  { std::unique_ptr<AuditLog> log = open_log(path); }
  // A marker naming a live process (another writer) or this one says nothing.
  write_text(marker, std::to_string(::getppid()) + "\n");
  { std::unique_ptr<AuditLog> log = open_log(path); }
  write_text(marker, "not a pid\n");
  { std::unique_ptr<AuditLog> log = open_log(path); }

  const std::vector<std::string> lines = read_lines(path);
  EXPECT_EQ(count_type(lines, "unclean_shutdown"), 1u);
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("a possible gap"), std::string::npos) << r.notes[0];
  EXPECT_NE(r.notes[0].find("pid " + std::to_string(dead)), std::string::npos) << r.notes[0];
}

TEST(AuditLog, ResumesAfterALastLineLongerThanTheTailBlock) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  {
    std::unique_ptr<AuditLog> log = open_log(path);
    AuditRecord big = decision(1);
    big.note = std::string(200 * 1024, 'n');  // the tail reader starts with 64 KiB blocks
    ASSERT_TRUE(log->submit(big));
    AuditRecord huge = decision(2);
    huge.event_ids.assign(20000, std::string(40, 'e'));  // too large: lists left out
    ASSERT_TRUE(log->submit(huge));
  }
  { std::unique_ptr<AuditLog> log = open_log(path); }
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.last_seq, 3u);
  const std::vector<std::string> lines = read_lines(path);
  EXPECT_GT(lines[1].size(), 200u * 1024);
  EXPECT_LT(lines[2].size(), 1024u);
  EXPECT_NE(lines[2].find("record too large"), std::string::npos);
  EXPECT_NE(lines[2].find("\"txn_id\":\"2\""), std::string::npos);
}

TEST(AuditLog, RotationContinuesTheChainAcrossFiles) {
  struct Case {
    const char* name;
    bool signal_reopen;
  };
  for (const Case c : {Case{"rename + SIGUSR1 reopen", true}, Case{"rename only", false}}) {
    ScratchDir dir;
    const std::string path = dir.file("audit.log");
    std::unique_ptr<AuditLog> log = open_log(path);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->submit(decision(i)));
    log->flush();
    ASSERT_EQ(std::rename(path.c_str(), dir.file("audit.log.1").c_str()), 0);
    if (c.signal_reopen) {
      log->reopen();
      log->flush();
    }
    for (int i = 5; i < 10; ++i) ASSERT_TRUE(log->submit(decision(i)));
    log->flush();
    log.reset();

    const std::vector<std::string> old_lines = read_lines(dir.file("audit.log.1"));
    const std::vector<std::string> new_lines = read_lines(path);
    ASSERT_EQ(old_lines.size(), 6u) << c.name;
    ASSERT_EQ(new_lines.size(), 6u) << c.name;  // file_opened + 5
    EXPECT_NE(new_lines[0].find("\"type\":\"file_opened\""), std::string::npos) << c.name;
    EXPECT_NE(new_lines[0].find("\"prev\":\"" + sha256_hex(old_lines.back()) + "\""),
              std::string::npos)
        << c.name;
    VerifyReport r = verify_files({dir.file("audit.log.1"), path}, {true, {}, {}});
    EXPECT_TRUE(r.intact) << c.name << ": " << r.problem << " " << r.detail;
    EXPECT_EQ(r.last_seq, 11u) << c.name;
    EXPECT_TRUE(verify_files({path}, {false, {}, {}}).intact) << c.name;
  }
}

TEST(AuditLog, AnotherProcessAppendsToTheSameChain) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  std::unique_ptr<AuditLog> log = open_log(path);
  Result<std::unique_ptr<AuditFile>> cli = AuditFile::open(path);  // what the CLI does
  ASSERT_TRUE(cli.ok());
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(log->submit(decision(round)));
    if (round % 3 == 0) {
      AuditRecord r;
      r.type = "quarantine_drop";
      r.quarantine_id = "q-" + std::to_string(round);
      std::string m;
      append_record_members(m, r);
      ASSERT_TRUE((*cli)->append({m}, true).ok());
    }
    if (round % 5 == 0) log->flush();
  }
  log->flush();
  log.reset();
  const std::vector<std::string> lines = read_lines(path);
  EXPECT_EQ(count_type(lines, "quarantine_drop"), 7u);
  EXPECT_EQ(count_type(lines, "decision"), 20u);
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
}

// A full disk for this process while it lives: files may not grow past `bytes` (RLIMIT_FSIZE;
// writes beyond fail with EFBIG, SIGXFSZ ignored), restored afterwards.
class FullDisk {
 public:
  explicit FullDisk(std::size_t bytes) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ok_ = sigaction(SIGXFSZ, &ignore, &old_action_) == 0 && getrlimit(RLIMIT_FSIZE, &old_) == 0;
    struct rlimit full = old_;
    full.rlim_cur = static_cast<rlim_t>(bytes);
    ok_ = ok_ && setrlimit(RLIMIT_FSIZE, &full) == 0;
  }
  ~FullDisk() { free(); }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;
  bool ok() const { return ok_; }
  // The disk takes writes again.
  void free() {
    if (freed_) return;
    freed_ = true;
    setrlimit(RLIMIT_FSIZE, &old_);
    sigaction(SIGXFSZ, &old_action_, nullptr);
  }

 private:
  struct sigaction old_action_ {};
  struct rlimit old_ {};
  bool ok_ = false;
  bool freed_ = false;
};

// A full queue never blocks a submitter: reservations are refused (the gateway answers 503),
// and a record submitted without one is counted and announced by a records_dropped line that
// says how many, after which seq, when and why.
TEST(AuditLog, FullQueueRefusesReservationsAndAccountsForEveryDrop) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  std::unique_ptr<AuditLog> log = open_log(path, 4);
  // Hold the chain lock as another process would: the writer thread stalls.
  int lock_fd = ::open((path + ".head").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lock_fd, 0);
  ASSERT_EQ(flock(lock_fd, LOCK_EX), 0);
  std::vector<AuditLog::Ticket> tickets;
  for (int i = 0; i < 1100; ++i) {
    AuditLog::Ticket t = log->reserve();
    if (!t) break;
    tickets.push_back(std::move(t));
  }
  // Four places, plus at most one batch the writer took before it stalled on the lock.
  EXPECT_GE(tickets.size(), 4u);
  EXPECT_FALSE(log->accepting());
  EXPECT_EQ(log->unavailable_reason(), "audit queue full");
  EXPECT_FALSE(log->reserve());
  // A reserved record always finds its place; an unreserved one is dropped, without waiting.
  const auto started = std::chrono::steady_clock::now();
  int accepted = 0;
  for (std::size_t i = 0; i < tickets.size(); ++i) {
    accepted += log->submit(decision(static_cast<int>(i)), &tickets[i]) ? 1 : 0;
  }
  EXPECT_EQ(accepted, static_cast<int>(tickets.size()));
  // (The writer may have taken a batch off the queue before it stalled: unreserved records
  // fill what it left, then the next two are dropped.)
  int dropped = 0;
  for (int i = 0; i < 2100 && dropped < 2; ++i) {
    if (log->submit(decision(1000 + i))) {
      ++accepted;
    } else {
      ++dropped;
    }
  }
  EXPECT_EQ(dropped, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  AuditStats s = log->stats();
  EXPECT_EQ(s.records_dropped, 2u);
  EXPECT_GE(s.reservations_refused, 1u);
  EXPECT_FALSE(s.accepting);

  std::vector<prometheus::MetricFamily> families;
  append_audit_metrics(s, families);
  ASSERT_EQ(families.size(), 9u);
  EXPECT_EQ(families[1].name, "bordergate_audit_records_dropped_total");
  EXPECT_EQ(families[1].metric[0].counter.value, 2.0);
  EXPECT_EQ(families[3].name, "bordergate_audit_refused_total");
  EXPECT_EQ(families[4].name, "bordergate_audit_accepting");
  EXPECT_EQ(families[4].metric[0].gauge.value, 0.0);

  flock(lock_fd, LOCK_UN);
  ::close(lock_fd);
  log->flush();
  EXPECT_TRUE(log->accepting());
  log.reset();
  const std::vector<std::string> lines = read_lines(path);
  EXPECT_EQ(count_type(lines, "decision"), static_cast<size_t>(accepted));
  // Every lost record is in a gap line (one, or two when the writer noted them in two
  // batches), which `audit verify` reports with how many, when, after which seq and why.
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.notes.size(), count_type(lines, "records_dropped"));
  std::uint64_t lost = 0;
  const std::regex gap(
      R"(a gap: (\d+) records? (?:were|was) lost between \S+Z and \S+Z after seq \d+: the audit queue was full)");
  for (const std::string& note : r.notes) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(note, m, gap)) << note;
    lost += std::stoull(m[1]);
  }
  EXPECT_EQ(lost, 2u);
}

// The file cannot grow (a full disk, here RLIMIT_FSIZE): the write fails part-way, the file is
// cut back to its last whole record, reservations are refused and the reason is given; when
// the disk takes writes again the queued records go out once each, in order, and the log
// accepts again by itself. The chain verifies, with no gap and no duplicate.
TEST(AuditLog, AFullDiskFailsClosedAndRecoversByItself) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  std::unique_ptr<AuditLog> log = open_log(path, 64);
  log->flush();
  const off_t start = static_cast<off_t>(testing::read_all(path).size());
  FullDisk disk(static_cast<std::size_t>(start) + 100);  // room for less than one record batch
  ASSERT_TRUE(disk.ok());

  std::vector<AuditLog::Ticket> tickets;
  for (int i = 0; i < 5; ++i) tickets.push_back(log->reserve());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->submit(decision(i), &tickets[i]));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (log->accepting() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_FALSE(log->accepting());
  EXPECT_NE(log->unavailable_reason().find("audit log write failing"), std::string::npos)
      << log->unavailable_reason();
  EXPECT_FALSE(log->reserve());
  EXPECT_GE(log->stats().write_errors, 1u);
  // Nothing of the failed batch stays on disk: the file ends with its last whole record.
  EXPECT_EQ(static_cast<off_t>(testing::read_all(path).size()), start);

  disk.free();
  while (!log->accepting() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(log->accepting());
  log->flush();
  EXPECT_EQ(log->stats().records_dropped, 0u);
  log.reset();
  const std::vector<std::string> lines = read_lines(path);
  EXPECT_EQ(count_type(lines, "decision"), 5u);
  EXPECT_EQ(count_type(lines, "records_dropped"), 0u);
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  std::set<std::string> txns;
  for (const std::string& l : lines) {
    size_t p = l.find("\"txn_id\":\"");
    if (p != std::string::npos) txns.insert(l.substr(p + 10, l.find('"', p + 10) - p - 10));
  }
  EXPECT_EQ(txns.size(), 5u);
}

// At shutdown a disk that stays full gets bounded retries; what it does not take is counted
// (and logged as audit_records_lost), and the file ends with the last record the head names.
TEST(AuditLog, ShutdownOnAFullDiskLosesNothingSilently) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  std::unique_ptr<AuditLog> log = open_log(path, 64);
  log->flush();
  const std::string before = testing::read_all(path);
  FullDisk disk(before.size() + 50);
  ASSERT_TRUE(disk.ok());
  for (int i = 0; i < 3; ++i) {
    AuditLog::Ticket t = log->reserve();
    ASSERT_TRUE(log->submit(decision(i), &t));
  }
  const auto started = std::chrono::steady_clock::now();
  log.reset();  // shutdown with the disk still full
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  disk.free();
  EXPECT_EQ(testing::read_all(path), before);  // no torn line, the head is the last record
  VerifyReport r = verify_files({path}, {true, {}, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
}

TEST(AuditLog, RefusesToStartOnACorruptTail) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  testing::write_all(path, "this is not an audit log\n");
  AuditLogOptions o;
  o.path = path;
  Result<std::unique_ptr<AuditLog>> log = AuditLog::open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, "audit_tail_corrupt");
  EXPECT_EQ(testing::read_all(path), "this is not an audit log\n");  // evidence untouched
}

}  // namespace
}  // namespace bordergate::audit
