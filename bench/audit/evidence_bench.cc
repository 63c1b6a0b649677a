// Evidence costs: submitting a decision to the audit writer (the data-path
// cost), sustained audit records/s through the writer thread per fsync
// policy, and the durable quarantine put (one fsynced WAL commit).
// Files go to $BG_BENCH_DIR (default /tmp): put it on the disk you deploy on.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gateway/audit/audit_log.h"
#include "gateway/quarantine/quarantine_store.h"

namespace {

using namespace bordergate;

std::string scratch(const std::string& name) {
  const char* dir = std::getenv("BG_BENCH_DIR");
  std::string path =
      std::string(dir ? dir : "/tmp") + "/bg-bench-" + std::to_string(getpid()) + "-" + name;
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".head");
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return path;
}

audit::AuditRecord typical() {
  audit::AuditRecord r;
  r.direction = "inbound";
  r.origin = "matrix.remote-agency.example";
  r.destination = "core.bund.example";
  r.remote_addr = "192.0.2.77";
  r.method = "PUT";
  r.endpoint = "send";
  r.txn_id = "1700000000123";
  r.event_ids = {"$Aa0bC1dE2fG3hI4jK5lM6nO7pQ8rS9tU0vW1xY2zA3b"};
  r.event_types = {"m.room.message"};
  r.edu_types = {"m.typing", "m.receipt"};
  r.action = "forward";
  r.rule_id = "federation.partners.allow";
  r.reason = "allowed";
  r.status = 200;
  r.request_bytes = 2310;
  r.latency_us = 870;
  return r;
}

// Records/s through the writer, end to end (submitted and written), for one
// fsync policy: arg 0 = every batch, 1 = every 100 ms, 2 = never.
void BM_AuditThroughput(benchmark::State& state) {
  audit::AuditLogOptions o;
  o.path = scratch("audit.log");
  o.fsync.kind = static_cast<audit::FsyncPolicy::Kind>(state.range(0));
  auto log = audit::AuditLog::open(o).value();
  const audit::AuditRecord r = typical();
  for (auto _ : state) {
    for (int i = 0; i < 1000; ++i) log->submit(r);
    log->flush();
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  log.reset();
  std::filesystem::remove(o.path);
  std::filesystem::remove(o.path + ".head");
}
BENCHMARK(BM_AuditThroughput)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a worker pays per decision (serialization + enqueue), writer running.
void BM_AuditSubmit(benchmark::State& state) {
  audit::AuditLogOptions o;
  o.path = scratch("audit-submit.log");
  auto log = audit::AuditLog::open(o).value();
  const audit::AuditRecord r = typical();
  for (auto _ : state) benchmark::DoNotOptimize(log->submit(r));
  log.reset();
  std::filesystem::remove(o.path);
  std::filesystem::remove(o.path + ".head");
}
BENCHMARK(BM_AuditSubmit);

// One durable quarantine put of a 2 KiB transaction (WAL + synchronous=FULL).
void BM_QuarantinePut(benchmark::State& state) {
  const std::string path = scratch("quarantine.db");
  auto store = quarantine::QuarantineStore::open(path).value();
  quarantine::HeldRequest r;
  r.origin = "matrix.remote-agency.example";
  r.method = "PUT";
  r.headers = {{"Host", "core.bund.example"},
               {"Authorization", std::string(180, 'a')},
               {"Content-Type", "application/json"},
               {"Content-Length", "2048"}};
  r.body.assign(2048, 'x');
  r.answer_body = "{\"pdus\":{\"$a\":{\"error\":\"held\"}}}";
  std::uint64_t n = 0;
  for (auto _ : state) {
    r.txn_id = std::to_string(n++);
    r.target = "/_matrix/federation/v1/send/" + r.txn_id;
    if (!store->put(r)) state.SkipWithError("put failed");
  }
  store.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
BENCHMARK(BM_QuarantinePut)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
