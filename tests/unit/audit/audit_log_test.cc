// The writer thread: concurrent producers, resume after restart, rotation
// (with and without the SIGUSR1 reopen), a second process appending to the
// same chain, and backpressure then counted drops when the queue stays full.
#include "gateway/audit/audit_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
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

std::unique_ptr<AuditLog> open_log(const std::string& path, std::size_t capacity = 65536,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  AuditLogOptions o;
  o.path = path;
  o.fsync.kind = FsyncPolicy::Kind::interval;
  o.fsync.interval = std::chrono::milliseconds(5);
  o.queue_capacity = capacity;
  o.enqueue_timeout = timeout;
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
        for (int i = 0; i < kPerThread; ++i) ASSERT_TRUE(log->submit(decision(t * kPerThread + i)));
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
  VerifyReport r = verify_files({path}, {true, {}});
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
  VerifyReport r = verify_files({path}, {true, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.last_seq, 32u);
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
  VerifyReport r = verify_files({path}, {true, {}});
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
    VerifyReport r = verify_files({dir.file("audit.log.1"), path}, {true, {}});
    EXPECT_TRUE(r.intact) << c.name << ": " << r.problem << " " << r.detail;
    EXPECT_EQ(r.last_seq, 11u) << c.name;
    EXPECT_TRUE(verify_files({path}, {false, {}}).intact) << c.name;
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
  VerifyReport r = verify_files({path}, {true, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
}

TEST(AuditLog, FullQueueBlocksThenCountsAndRecordsTheDrop) {
  ScratchDir dir;
  const std::string path = dir.file("audit.log");
  std::unique_ptr<AuditLog> log = open_log(path, 4, std::chrono::milliseconds(30));
  // Hold the chain lock as another process would: the writer thread stalls.
  int lock_fd = ::open((path + ".head").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lock_fd, 0);
  ASSERT_EQ(flock(lock_fd, LOCK_EX), 0);
  int accepted = 0;
  for (int i = 0; i < 12; ++i) accepted += log->submit(decision(i)) ? 1 : 0;
  AuditStats s = log->stats();
  EXPECT_GE(s.submit_blocked, 1u);
  EXPECT_EQ(s.records_dropped, static_cast<std::uint64_t>(12 - accepted));
  EXPECT_GE(s.records_dropped, 1u);
  EXPECT_LE(accepted, 4 + 1024);  // at most one batch in the writer plus a full queue

  std::vector<prometheus::MetricFamily> families;
  append_audit_metrics(s, families);
  ASSERT_EQ(families.size(), 7u);
  EXPECT_EQ(families[1].name, "bordergate_audit_records_dropped_total");
  EXPECT_EQ(families[1].metric[0].counter.value, static_cast<double>(s.records_dropped));

  flock(lock_fd, LOCK_UN);
  ::close(lock_fd);
  log->flush();
  log.reset();
  const std::vector<std::string> lines = read_lines(path);
  EXPECT_EQ(count_type(lines, "decision"), static_cast<size_t>(accepted));
  ASSERT_EQ(count_type(lines, "records_dropped"), 1u);
  VerifyReport r = verify_files({path}, {true, {}});
  EXPECT_TRUE(r.intact) << r.problem << ": " << r.detail;
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("dropped"), std::string::npos);
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
