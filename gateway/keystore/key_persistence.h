// The on-disk key cache (SQLite, WAL): verified raw key responses, so a restart does not refetch
// every key and a peer's key-server outage does not stop traffic whose keys are still valid.
// Writes go through a background thread; loading happens once at startup.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/common/result.h"

struct sqlite3;

namespace bordergate::keystore {

struct PersistedResponse {
  std::string server_name;
  std::string source;  // "direct" or the notary's server name
  std::int64_t fetched_at_ms = 0;
  std::int64_t valid_until_ts = 0;
  std::string raw_json;  // the signed object as received (re-verified on load)
};

class KeyPersistence {
 public:
  static constexpr int kSchemaVersion = 1;

  // Creates the file and schema when missing. Errors: "keystore_open_failed",
  // "keystore_schema_unsupported" (written by a newer bordergate), "keystore_sql_error".
  static Result<std::unique_ptr<KeyPersistence>> open(const std::string& path,
                                                      std::size_t keep_per_server = 4);
  ~KeyPersistence();  // writes what is queued, then stops the writer
  KeyPersistence(const KeyPersistence&) = delete;
  KeyPersistence& operator=(const KeyPersistence&) = delete;

  // Oldest first, so replaying them in order ends with the newest knowledge.
  Result<std::vector<PersistedResponse>> load_all();
  // Queues a write; never blocks on disk. Identical responses are stored once; per server only
  // the keep_per_server responses with the latest validity are kept.
  void save(PersistedResponse response);
  // Blocks until every queued write is on disk (shutdown, tests).
  void flush();

  std::uint64_t writes() const { return writes_.load(); }
  std::uint64_t write_errors() const { return write_errors_.load(); }

 private:
  KeyPersistence(sqlite3* db, std::size_t keep_per_server);
  void writer_loop();
  Status write(const PersistedResponse& response);

  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, DbCloser> db_;
  std::size_t keep_per_server_;
  std::mutex db_mutex_;  // the connection is used by the writer and by load_all

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::condition_variable idle_cv_;
  std::deque<PersistedResponse> queue_;
  bool writing_ = false;
  bool stopping_ = false;
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::thread writer_;
};

}  // namespace bordergate::keystore
