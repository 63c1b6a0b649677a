// The SQLite key cache: schema, dedup and pruning, re-verification on load, and the point of it
// all: a restarted gateway keeps verifying with persisted keys while the peer's key server is down.
#include "gateway/keystore/key_persistence.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <uv.h>

#include <filesystem>

#include "gateway/keystore/server_key_store.h"
#include "tests/unit/keystore/fake_fetcher.h"
#include "tests/unit/keystore/test_keys.h"

namespace bordergate::keystore {
namespace {

using testing::kDay;
using testing::kNow;

class KeyPersistenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bg-keystore-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "keys.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void sql(const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  std::filesystem::path dir_;
  std::string path_;
  matrix::SigningKey key_ = matrix::SigningKey::generate("k1");
};

PersistedResponse row(const std::string& server, std::int64_t fetched, std::int64_t valid_until,
                      std::string raw) {
  return PersistedResponse{server, "direct", fetched, valid_until, std::move(raw)};
}

TEST_F(KeyPersistenceTest, RoundTripsInWalMode) {
  {
    auto db = KeyPersistence::open(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    (*db)->save(row("a.example", 1, 10, "{\"x\":1}"));
    (*db)->save(row("a.example", 2, 10, "{\"x\":1}"));  // identical body: stored once
    (*db)->save(row("b.example", 3, 20, "{\"y\":2}"));
    (*db)->flush();
    EXPECT_EQ((*db)->writes(), 3u);
    EXPECT_EQ((*db)->write_errors(), 0u);
  }
  auto db = KeyPersistence::open(path_);
  ASSERT_TRUE(db.ok());
  auto rows = (*db)->load_all();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].server_name, "a.example");
  EXPECT_EQ((*rows)[0].fetched_at_ms, 2);
  EXPECT_EQ((*rows)[1].raw_json, "{\"y\":2}");
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
}

TEST_F(KeyPersistenceTest, KeepsOnlyTheLatestResponsesPerServer) {
  auto db = KeyPersistence::open(path_, 2);
  ASSERT_TRUE(db.ok());
  for (int i = 0; i < 6; ++i) (*db)->save(row("a.example", i, 100 + i, "{\"v\":" + std::to_string(i) + "}"));
  (*db)->save(row("b.example", 0, 1, "{}"));
  (*db)->flush();
  auto rows = (*db)->load_all();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].server_name, "b.example");
  EXPECT_EQ((*rows)[1].valid_until_ts, 104);
  EXPECT_EQ((*rows)[2].valid_until_ts, 105);
}

TEST_F(KeyPersistenceTest, RefusesNewerSchema) {
  { ASSERT_TRUE(KeyPersistence::open(path_).ok()); }
  sql("PRAGMA user_version = 99;");
  auto db = KeyPersistence::open(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "keystore_schema_unsupported");
}

TEST_F(KeyPersistenceTest, UnwritableLocationFails) {
  auto db = KeyPersistence::open((dir_ / "missing" / "keys.sqlite").string());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "keystore_open_failed");
}

// Run 1 fetches and persists; run 2 (a restart) loads the file while the key server is down.
TEST_F(KeyPersistenceTest, WarmCacheSurvivesKeyServerOutage) {
  std::atomic<std::int64_t> now{kNow};
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    auto queue = std::make_unique<WorkerQueue>(&loop);
    auto get = [&](ServerKeyStore& store, const std::string& key_id, std::int64_t at) {
      std::optional<Result<matrix::VerifyKey>> answer;
      store.get_key("s.example", key_id, at, queue->mailbox(),
                    [&](Result<matrix::VerifyKey> r) { answer = std::move(r); });
      while (!answer) uv_run(&loop, UV_RUN_ONCE);
      return std::move(*answer);
    };
    {
      auto db = KeyPersistence::open(path_);
      ASSERT_TRUE(db.ok());
      testing::FakeFetcher up;
      up.direct.emplace("s.example",
                        testing::body(testing::key_object("s.example", {&key_}, kNow + 2 * kDay)));
      ServerKeyStore store({}, up, [&] { return now.load(); }, db->get());
      ASSERT_TRUE(get(store, "ed25519:k1", kNow).ok());
      (*db)->flush();
    }
    now = kNow + kDay;  // restart a day later; the key server is now down
    auto db = KeyPersistence::open(path_);
    ASSERT_TRUE(db.ok());
    testing::FakeFetcher down;
    ServerKeyStore store({}, down, [&] { return now.load(); }, db->get());
    auto loaded = store.load_persisted();
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(*loaded, 1u);
    auto answer = get(store, "ed25519:k1", now);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(*answer, key_.verify_key());
    EXPECT_EQ(down.direct_calls.load(), 0);
    EXPECT_EQ(store.metrics().cache_hits.load(), 1u);
    // Past the persisted validity the outage shows: the key is expired for "now"...
    now = kNow + 3 * kDay;
    auto late = get(store, "ed25519:k1", now);
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(down.direct_calls.load(), 1);
    // ...but events from inside the window remain checkable.
    EXPECT_TRUE(store.find_cached("s.example", "ed25519:k1", kNow + kDay).ok());
    queue.reset();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST_F(KeyPersistenceTest, TamperedRowsAreRejectedOnLoad) {
  {
    auto db = KeyPersistence::open(path_);
    ASSERT_TRUE(db.ok());
    (*db)->save(row("s.example", kNow, kNow + kDay,
                    testing::body(testing::key_object("s.example", {&key_}, kNow + kDay))));
    (*db)->save(row("evil.example", kNow, kNow + kDay,
                    testing::body(testing::key_object("s.example", {&key_}, kNow + kDay))));
    (*db)->flush();
  }
  sql("UPDATE server_key_responses SET raw_json = replace(raw_json, '" +
      std::to_string(kNow + kDay) + "', '" + std::to_string(kNow + 300 * kDay) +
      "') WHERE server_name = 's.example';");
  auto db = KeyPersistence::open(path_);
  ASSERT_TRUE(db.ok());
  testing::FakeFetcher fetcher;
  ServerKeyStore store({}, fetcher, [] { return kNow; }, db->get());
  auto loaded = store.load_persisted();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, 0u);
  EXPECT_EQ(store.metrics().persisted_rejected.load(), 2u);  // bad signature; wrong server
}

}  // namespace
}  // namespace bordergate::keystore
