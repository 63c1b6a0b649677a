// ServerKeyStore with a scripted fetcher: cache hits, expired keys, bad signatures, notaries,
// pinned keys, backoff, refetch suppression, and single-flight under 100 concurrent requests from
// four worker loops.
#include "gateway/keystore/server_key_store.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <thread>

#include "gateway/matrix/signed_json.h"
#include "tests/unit/keystore/fake_fetcher.h"
#include "tests/unit/keystore/test_keys.h"

namespace bordergate::keystore {
namespace {

using testing::kDay;
using testing::kNow;

class ServerKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    queue_ = std::make_unique<WorkerQueue>(&loop_);
    config_.backoff = {1000, 8000, 100};
    config_.min_refetch_interval_ms = 60 * 1000;
  }
  void TearDown() override {
    store_.reset();
    queue_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  ServerKeyStore& store() {
    if (!store_)
      store_ = std::make_unique<ServerKeyStore>(config_, fetcher_, [this] { return now_.load(); });
    return *store_;
  }

  Result<matrix::VerifyKey> get(const std::string& server, const std::string& key_id,
                                std::int64_t valid_at) {
    std::optional<Result<matrix::VerifyKey>> answer;
    store().get_key(server, key_id, valid_at, queue_->mailbox(),
                    [&](Result<matrix::VerifyKey> r) { answer = std::move(r); });
    EXPECT_FALSE(answer.has_value()) << "answered synchronously";
    while (!answer) uv_run(&loop_, UV_RUN_ONCE);
    return std::move(*answer);
  }

  std::string good_body(std::int64_t valid_until = kNow + kDay) {
    return testing::body(testing::key_object("s.example", {&key_}, valid_until));
  }

  uv_loop_t loop_{};
  std::unique_ptr<WorkerQueue> queue_;
  testing::FakeFetcher fetcher_;
  KeyStoreConfig config_;
  std::atomic<std::int64_t> now_{kNow};
  std::unique_ptr<ServerKeyStore> store_;
  matrix::SigningKey key_ = matrix::SigningKey::generate("k1");
  matrix::SigningKey impostor_ = matrix::SigningKey::generate("k1");
  matrix::SigningKey notary_key_ = matrix::SigningKey::generate("n");
};

TEST_F(ServerKeyStoreTest, FetchesOnceThenServesFromCache) {
  fetcher_.direct.emplace("s.example", good_body());
  auto first = get("s.example", "ed25519:k1", kNow);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, key_.verify_key());
  auto second = get("s.example", "ed25519:k1", kNow);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
  EXPECT_EQ(store().metrics().cache_hits.load(), 1u);
  EXPECT_EQ(store().metrics().fetch_ok_direct.load(), 1u);
  EXPECT_TRUE(store().find_cached("s.example", "ed25519:k1", kNow).ok());
  EXPECT_EQ(store().cached_lookup()("s.example", "ed25519:k1", kNow).value(), key_.verify_key());
}

TEST_F(ServerKeyStoreTest, ExpiredKeysAreRefusedForNowButServeThePast) {
  fetcher_.direct.emplace("s.example", good_body(kNow - 1000));
  auto now = get("s.example", "ed25519:k1", kNow);
  ASSERT_FALSE(now.ok());
  EXPECT_EQ(now.error().code, "key_expired");
  auto past = get("s.example", "ed25519:k1", kNow - 2000);  // an old event's origin_server_ts
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);  // the second lookup was a cache hit
}

TEST_F(ServerKeyStoreTest, WrongSelfSignatureIsUnavailableAndBacksOff) {
  fetcher_.direct.emplace("s.example", testing::body(testing::key_object(
                                           "s.example", {&key_}, kNow + kDay, {}, {&impostor_})));
  auto answer = get("s.example", "ed25519:k1", kNow);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, "key_unavailable");
  EXPECT_NE(answer.error().message.find("bad_signature"), std::string::npos);
  EXPECT_EQ(store().metrics().fetch_verification_errors.load(), 1u);
  EXPECT_EQ(store().metrics().fetch_failed.load(), 1u);
  EXPECT_FALSE(store().find_cached("s.example", "ed25519:k1", kNow).ok());

  // Within the backoff nothing is fetched, however often peers ask.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(get("s.example", "ed25519:k1", kNow).ok());
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
  EXPECT_EQ(store().metrics().backoff_rejections.load(), 20u);

  now_ += 1000;  // first backoff (1 s) over: one more attempt, then 2 s
  EXPECT_FALSE(get("s.example", "ed25519:k1", now_).ok());
  EXPECT_EQ(fetcher_.direct_calls.load(), 2);
  now_ += 1999;
  EXPECT_FALSE(get("s.example", "ed25519:k1", now_).ok());
  EXPECT_EQ(fetcher_.direct_calls.load(), 2);
  now_ += 1;
  fetcher_.direct.insert_or_assign("s.example", good_body(now_ + kDay));
  EXPECT_TRUE(get("s.example", "ed25519:k1", now_).ok());
  EXPECT_EQ(fetcher_.direct_calls.load(), 3);
}

TEST_F(ServerKeyStoreTest, DirectFailureFallsBackToNotary) {
  config_.notaries = {{"notary.example", {{notary_key_.key_id(), notary_key_.verify_key()}}}};
  fetcher_.notary.emplace(
      "notary.example",
      testing::notary_body({testing::key_object("s.example", {&key_}, kNow + kDay)},
                           "notary.example", notary_key_));
  auto answer = get("s.example", "ed25519:k1", kNow - 5);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
  EXPECT_EQ(fetcher_.notary_calls.load(), 1);
  EXPECT_EQ(store().metrics().fetch_transport_errors.load(), 1u);
  EXPECT_EQ(store().metrics().fetch_ok_notary.load(), 1u);
  ASSERT_EQ(fetcher_.notary_queries.size(), 1u);
  EXPECT_EQ(fetcher_.notary_queries[0].server_name, "s.example");
  EXPECT_EQ(fetcher_.notary_queries[0].key_ids, std::vector<std::string>{"ed25519:k1"});
  EXPECT_EQ(fetcher_.notary_queries[0].minimum_valid_until_ts, kNow);  // never before now
}

TEST_F(ServerKeyStoreTest, NotaryWithBadSignatureIsNotTrusted) {
  config_.mode = FetchMode::kNotariesOnly;
  matrix::SigningKey fake_notary = matrix::SigningKey::generate("n");
  config_.notaries = {{"bad-notary.example", {{notary_key_.key_id(), notary_key_.verify_key()}}},
                      {"good-notary.example", {{notary_key_.key_id(), notary_key_.verify_key()}}}};
  fetcher_.notary.emplace(
      "bad-notary.example",
      testing::notary_body({testing::key_object("s.example", {&impostor_}, kNow + kDay)},
                           "bad-notary.example", fake_notary));
  auto answer = get("s.example", "ed25519:k1", kNow);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, "key_unavailable");
  EXPECT_EQ(fetcher_.direct_calls.load(), 0);
  EXPECT_EQ(fetcher_.notary_calls.load(), 2);  // the good notary was unreachable
  EXPECT_EQ(store().metrics().fetch_verification_errors.load(), 1u);

  now_ += 1000;
  fetcher_.notary.emplace(
      "good-notary.example",
      testing::notary_body({testing::key_object("s.example", {&key_}, kNow + kDay)},
                           "good-notary.example", notary_key_));
  answer = get("s.example", "ed25519:k1", now_);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(*answer, key_.verify_key());  // never the impostor's key
}

TEST_F(ServerKeyStoreTest, PinnedServersAreNeverFetched) {
  config_.pinned.keys["closed.example"] = {{"ed25519:p", key_.verify_key()}};
  auto answer = get("closed.example", "ed25519:p", kNow + 1000 * kDay);
  ASSERT_TRUE(answer.ok());
  auto unknown = get("closed.example", "ed25519:other", kNow);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "unknown_key");
  EXPECT_EQ(fetcher_.direct_calls.load() + fetcher_.notary_calls.load(), 0);
  EXPECT_EQ(store().metrics().pinned_hits.load(), 2u);
}

// A pinned key with an end of validity (pinned-keys file valid_until_ts): valid up to and at
// that time, expired after it, and time-free lookups (rooms v1-v4) still get it.
TEST_F(ServerKeyStoreTest, PinnedKeysMayExpire) {
  config_.pinned.keys["closed.example"] = {{"ed25519:p", key_.verify_key()}};
  config_.pinned.valid_until["closed.example"]["ed25519:p"] = kNow;
  EXPECT_TRUE(get("closed.example", "ed25519:p", kNow).ok());
  auto late = get("closed.example", "ed25519:p", kNow + 1);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "key_expired");
  EXPECT_TRUE(store().find_cached("closed.example", "ed25519:p", matrix::kAnyTime).ok());
  // Not "at hand" past its end either, so no caller skips the lookup that reports the expiry.
  EXPECT_EQ(store().get_key_now("closed.example", "ed25519:p", kNow), key_.verify_key());
  EXPECT_FALSE(store().get_key_now("closed.example", "ed25519:p", kNow + 1));
  EXPECT_EQ(fetcher_.direct_calls.load() + fetcher_.notary_calls.load(), 0);
}

// A reload swaps the pinned set whole: a rotated key verifies and the old one no longer does; a
// server taken off the list is fetched like any other from then on, one added never is.
TEST_F(ServerKeyStoreTest, ReplacingPinnedKeysRotatesThemAtOnce) {
  config_.pinned.keys["closed.example"] = {{"ed25519:old", key_.verify_key()}};
  config_.pinned.keys["was-closed.example"] = {{"ed25519:p", key_.verify_key()}};
  ASSERT_TRUE(get("closed.example", "ed25519:old", kNow).ok());
  EXPECT_EQ(store().pinned_servers(), 2u);

  PinnedKeys next;
  next.keys["closed.example"] = {{"ed25519:new", key_.verify_key()}};
  next.valid_until["closed.example"]["ed25519:new"] = kNow;
  next.keys["s.example"] = {{"ed25519:k1", key_.verify_key()}};
  store().replace_pinned(std::move(next));
  EXPECT_EQ(store().pinned_servers(), 2u);

  auto old_key = get("closed.example", "ed25519:old", kNow);
  ASSERT_FALSE(old_key.ok());
  EXPECT_EQ(old_key.error().code, "unknown_key");
  EXPECT_TRUE(get("closed.example", "ed25519:new", kNow).ok());
  EXPECT_EQ(get("closed.example", "ed25519:new", kNow + 1).error().code, "key_expired");
  EXPECT_TRUE(get("s.example", "ed25519:k1", kNow).ok());  // newly pinned: answered, not fetched
  EXPECT_EQ(fetcher_.direct_calls.load() + fetcher_.notary_calls.load(), 0);

  fetcher_.direct.emplace("was-closed.example", good_body());
  (void)get("was-closed.example", "ed25519:p", kNow);  // no longer pinned: now it is fetched
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
}

// get_key_now: the keys get_key would deliver at once, and nothing else (no fetch, no error).
TEST_F(ServerKeyStoreTest, KeysAtHandAreAnsweredNowAndNothingElseIs) {
  config_.pinned.keys["closed.example"] = {{"ed25519:p", key_.verify_key()}};
  EXPECT_EQ(store().get_key_now("closed.example", "ed25519:p", kNow), key_.verify_key());
  EXPECT_FALSE(store().get_key_now("closed.example", "ed25519:other", kNow));
  EXPECT_EQ(store().metrics().pinned_hits.load(), 1u);

  // Not cached yet: no answer now, and asking started no fetch.
  EXPECT_FALSE(store().get_key_now("s.example", "ed25519:k1", kNow));
  EXPECT_EQ(fetcher_.direct_calls.load(), 0);
  fetcher_.direct.emplace("s.example", good_body(kNow + 1000));
  ASSERT_TRUE(get("s.example", "ed25519:k1", kNow).ok());
  EXPECT_EQ(store().get_key_now("s.example", "ed25519:k1", kNow), key_.verify_key());
  EXPECT_EQ(store().metrics().cache_hits.load(), 1u);
  // Past its validity, or a key id the server does not have: only get_key answers (an error).
  EXPECT_FALSE(store().get_key_now("s.example", "ed25519:k1", kNow + 2000));
  EXPECT_FALSE(store().get_key_now("s.example", "ed25519:nope", kNow));
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
}

TEST_F(ServerKeyStoreTest, MadeUpKeyIdsDoNotTriggerRefetches) {
  fetcher_.direct.emplace("s.example", good_body());
  ASSERT_TRUE(get("s.example", "ed25519:k1", kNow).ok());
  for (int i = 0; i < 10; ++i) {
    auto answer = get("s.example", "ed25519:random" + std::to_string(i), kNow);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, "unknown_key");
  }
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
  EXPECT_EQ(store().metrics().refetch_suppressed.load(), 10u);
  now_ += 60 * 1000;  // after the interval a missing key may be looked up again
  EXPECT_FALSE(get("s.example", "ed25519:new", now_).ok());
  EXPECT_EQ(fetcher_.direct_calls.load(), 2);
}

TEST_F(ServerKeyStoreTest, WrongServerNameInAnswerIsRejected) {
  fetcher_.direct.emplace(
      "s.example", testing::body(testing::key_object("other.example", {&key_}, kNow + kDay)));
  auto answer = get("s.example", "ed25519:k1", kNow);
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("wrong_server"), std::string::npos);
}

// 100 requests for one unknown server from four worker threads, each with its own loop: exactly
// one fetch, every request answered with the key on its own loop thread.
TEST_F(ServerKeyStoreTest, SingleFlightUnderOneHundredConcurrentRequests) {
  fetcher_.direct.emplace("s.example", good_body());
  fetcher_.hold = true;
  ServerKeyStore& shared = store();

  constexpr int kWorkers = 4;
  constexpr int kPerWorker = 25;
  std::atomic<int> answered_ok{0};
  std::atomic<int> wrong_thread{0};
  std::atomic<int> registered{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      uv_loop_t loop;
      uv_loop_init(&loop);
      {
        WorkerQueue queue(&loop);
        const auto self = std::this_thread::get_id();
        int mine = 0;
        for (int i = 0; i < kPerWorker; ++i) {
          shared.get_key("s.example", "ed25519:k1", kNow, queue.mailbox(),
                         [&](Result<matrix::VerifyKey> r) {
                           if (std::this_thread::get_id() != self) wrong_thread.fetch_add(1);
                           if (r.ok() && *r == key_.verify_key()) answered_ok.fetch_add(1);
                           ++mine;
                         });
          registered.fetch_add(1);
        }
        // A timer keeps the loop turning so the thread notices `stop` even without tasks.
        uv_timer_t tick;
        uv_timer_init(&loop, &tick);
        uv_timer_start(
            &tick, [](uv_timer_t*) {}, 5, 5);
        while (mine < kPerWorker && !stop.load()) uv_run(&loop, UV_RUN_ONCE);
        uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
      }
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_loop_close(&loop);
    });
  }
  while (registered.load() < kWorkers * kPerWorker) std::this_thread::yield();
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
  EXPECT_EQ(shared.fetches_in_flight(), 1u);
  EXPECT_EQ(fetcher_.held_count(), 1u);
  fetcher_.release();  // completes on this thread; answers must still reach each worker's loop

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (answered_ok.load() < kWorkers * kPerWorker &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (auto& t : workers) t.join();
  EXPECT_EQ(answered_ok.load(), kWorkers * kPerWorker);
  EXPECT_EQ(wrong_thread.load(), 0);
  EXPECT_EQ(fetcher_.direct_calls.load(), 1);
  EXPECT_EQ(shared.metrics().fetches_started.load(), 1u);
  EXPECT_EQ(shared.metrics().single_flight_joins.load(), 99u);
  EXPECT_EQ(shared.fetches_in_flight(), 0u);
}

TEST_F(ServerKeyStoreTest, AnswersArriveOnlyThroughTheLoop) {
  fetcher_.direct.emplace("s.example", good_body());
  ASSERT_TRUE(get("s.example", "ed25519:k1", kNow).ok());
  bool called = false;
  store().get_key("s.example", "ed25519:k1", kNow, queue_->mailbox(),
                  [&](Result<matrix::VerifyKey>) { called = true; });
  EXPECT_FALSE(called);  // a cache hit too is delivered on the next loop turn
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_TRUE(called);
}

TEST_F(ServerKeyStoreTest, ClosedWorkerQueueDropsLateAnswers) {
  fetcher_.direct.emplace("s.example", good_body());
  fetcher_.hold = true;
  bool called = false;
  {
    uv_loop_t other;
    uv_loop_init(&other);
    {
      WorkerQueue gone(&other);
      store().get_key("s.example", "ed25519:k1", kNow, gone.mailbox(),
                      [&](Result<matrix::VerifyKey>) { called = true; });
    }
    uv_run(&other, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&other), 0);
  }
  fetcher_.release();  // posts to a closed mailbox: dropped, no crash
  EXPECT_FALSE(called);
  EXPECT_EQ(store().fetches_in_flight(), 0u);
}

}  // namespace
}  // namespace bordergate::keystore
