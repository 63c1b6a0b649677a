#include "gateway/keystore/server_key_store.h"

#include <algorithm>

#include "gateway/matrix/json.h"
#include "gateway/matrix/signed_json.h"

namespace bordergate::keystore {

ServerKeyStore::ServerKeyStore(KeyStoreConfig config, KeyFetcher& fetcher,
                               std::function<std::int64_t()> now_ms, KeyPersistence* persistence)
    : config_(std::move(config)),
      pinned_(std::make_shared<const PinnedKeys>(std::move(config_.pinned))),
      fetcher_(fetcher),
      now_ms_(std::move(now_ms)),
      persistence_(persistence),
      cache_(config_.max_servers),
      backoff_(config_.backoff) {
  for (const auto& notary : config_.notaries) {
    auto& ring = notary_rings_[notary.server_name];
    for (const auto& [key_id, key] : notary.verify_keys)
      (void)ring.add(notary.server_name, key_id, key);
  }
}

ServerKeyStore::~ServerKeyStore() = default;

void ServerKeyStore::replace_pinned(PinnedKeys pinned) {
  pinned_.store(std::make_shared<const PinnedKeys>(std::move(pinned)));
}

std::optional<Result<matrix::VerifyKey>> ServerKeyStore::pinned_answer(
    std::string_view server, std::string_view key_id, std::int64_t valid_at_ms) const {
  const std::shared_ptr<const PinnedKeys> pinned = pinned_.load();
  auto keys = pinned->keys.find(server);
  if (keys == pinned->keys.end()) return std::nullopt;
  auto key = keys->second.find(key_id);
  if (key == keys->second.end()) {
    return make_error("unknown_key",
                      std::string(key_id) + " is not a pinned key of " + std::string(server));
  }
  if (valid_at_ms != matrix::kAnyTime) {
    if (auto until = pinned->valid_until.find(server); until != pinned->valid_until.end()) {
      if (auto ts = until->second.find(key_id);
          ts != until->second.end() && valid_at_ms > ts->second) {
        return make_error("key_expired", "pinned key " + std::string(key_id) + " of " +
                                             std::string(server) + " was valid until " +
                                             std::to_string(ts->second));
      }
    }
  }
  return key->second;
}

Result<std::size_t> ServerKeyStore::load_persisted() {
  if (persistence_ == nullptr) return std::size_t{0};
  auto rows = persistence_->load_all();
  if (!rows) return rows.error();
  std::size_t accepted = 0;
  for (const auto& row : *rows) {
    auto keys = verify_server_response(row.raw_json, row.server_name, config_.limits);
    if (!keys) {
      metrics_.persisted_rejected.fetch_add(1);
      continue;
    }
    cache_.merge(row.server_name, *keys, row.fetched_at_ms);
    ++accepted;
  }
  metrics_.persisted_loaded.fetch_add(accepted);
  return accepted;
}

Result<matrix::VerifyKey> ServerKeyStore::find_cached(std::string_view server,
                                                      std::string_view key_id,
                                                      std::int64_t valid_at_ms) {
  if (auto pinned = pinned_answer(server, key_id, valid_at_ms)) return std::move(*pinned);
  if (auto cached = cache_.find(server, key_id, valid_at_ms)) return cached->key;
  return make_error("key_unavailable", "no keys of " + std::string(server) + " are cached");
}

matrix::KeyLookup ServerKeyStore::cached_lookup() {
  return [this](std::string_view server, std::string_view key_id, std::int64_t valid_at_ms) {
    return find_cached(server, key_id, valid_at_ms);
  };
}

std::size_t ServerKeyStore::fetches_in_flight() const {
  std::lock_guard lock(mutex_);
  return flights_.size();
}

void ServerKeyStore::reply(const std::shared_ptr<Mailbox>& to, Callback done,
                           Result<matrix::VerifyKey> answer) {
  if (!to) {
    done(std::move(answer));
    return;
  }
  to->post(
      [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
}

std::optional<matrix::VerifyKey> ServerKeyStore::get_key_now(std::string_view server,
                                                             std::string_view key_id,
                                                             std::int64_t valid_at_ms) {
  // The same answers as get_key's first two branches, for keys only.
  if (auto pinned = pinned_answer(server, key_id, valid_at_ms)) {
    // An expired pinned key (valid_until_ts) is no key at hand.
    if (!*pinned) return std::nullopt;
    metrics_.pinned_hits.fetch_add(1);
    return **pinned;
  }
  auto cached = cache_.find(server, key_id, valid_at_ms);
  if (!cached || !cached->key.ok()) return std::nullopt;
  metrics_.cache_hits.fetch_add(1);
  return *cached->key;
}

void ServerKeyStore::get_key(std::string_view server, std::string_view key_id,
                             std::int64_t valid_at_ms, std::shared_ptr<Mailbox> reply_to,
                             Callback done) {
  if (auto pinned = pinned_answer(server, key_id, valid_at_ms)) {
    metrics_.pinned_hits.fetch_add(1);
    reply(reply_to, std::move(done), std::move(*pinned));
    return;
  }
  const std::int64_t now = now_ms_();
  auto cached = cache_.find(server, key_id, valid_at_ms);
  if (cached && cached->key.ok()) {
    metrics_.cache_hits.fetch_add(1);
    reply(reply_to, std::move(done), cached->key);
    return;
  }
  if (cached && now - cached->fetched_at_ms < config_.min_refetch_interval_ms) {
    metrics_.refetch_suppressed.fetch_add(1);
    reply(reply_to, std::move(done), cached->key);
    return;
  }

  std::unique_lock lock(mutex_);
  Waiter waiter{std::string(key_id), valid_at_ms, std::move(reply_to), std::move(done)};
  if (auto it = flights_.find(server); it != flights_.end()) {
    it->second->waiters.push_back(std::move(waiter));
    lock.unlock();
    metrics_.cache_misses.fetch_add(1);
    metrics_.single_flight_joins.fetch_add(1);
    return;
  }
  if (const std::int64_t until = backoff_.blocked_until(server, now); until != 0) {
    lock.unlock();
    metrics_.backoff_rejections.fetch_add(1);
    Result<matrix::VerifyKey> answer =
        cached ? cached->key
               : Result<matrix::VerifyKey>(
                     make_error("key_unavailable", "fetching keys of " + std::string(server) +
                                                       " failed recently; next attempt after " +
                                                       std::to_string(until)));
    reply(waiter.reply_to, std::move(waiter.done), std::move(answer));
    return;
  }
  auto flight = std::make_unique<Flight>();
  flight->server = std::string(server);
  flight->query =
      NotaryQuery{std::string(server), {std::string(key_id)}, std::max(valid_at_ms, now)};
  flight->waiters.push_back(std::move(waiter));
  Flight& started = *flight;
  flights_.emplace(std::string(server), std::move(flight));
  lock.unlock();
  metrics_.cache_misses.fetch_add(1);
  metrics_.fetches_started.fetch_add(1);
  start_next_attempt(started);
}

void ServerKeyStore::start_next_attempt(Flight& flight) {
  // Only the fetch chain touches these fields, one step at a time, so no lock is needed; the
  // fetcher may call back synchronously, so nothing may be held across its calls.
  const std::string server = flight.server;
  if (!flight.tried_direct && config_.mode != FetchMode::kNotariesOnly) {
    flight.tried_direct = true;
    fetcher_.fetch_server_keys(server, [this, server](Result<std::string> body) {
      on_body(server, "direct", std::move(body));
    });
    return;
  }
  if (config_.mode != FetchMode::kDirectOnly && flight.next_notary < config_.notaries.size()) {
    const std::string notary = config_.notaries[flight.next_notary++].server_name;
    const NotaryQuery query = flight.query;
    fetcher_.query_notary(notary, query, [this, server, notary](Result<std::string> body) {
      on_body(server, notary, std::move(body));
    });
    return;
  }
  finish(server, false);
}

void ServerKeyStore::on_body(const std::string& server, const std::string& source,
                             Result<std::string> body) {
  Flight* flight = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = flights_.find(server);
    if (it == flights_.end()) return;  // cannot happen: only the chain ends a flight
    flight = it->second.get();
  }
  if (!body) {
    metrics_.fetch_transport_errors.fetch_add(1);
    flight->last_error = make_error(body.error().code, source + ": " + body.error().message);
    start_next_attempt(*flight);
    return;
  }
  const std::int64_t now = now_ms_();
  Result<std::vector<matrix::ServerKeys>> verified = make_error("internal_error", "unset");
  if (source == "direct") {
    auto keys = verify_server_response(*body, server, config_.limits);
    verified = keys ? Result<std::vector<matrix::ServerKeys>>(
                          std::vector<matrix::ServerKeys>{std::move(*keys)})
                    : Result<std::vector<matrix::ServerKeys>>(keys.error());
  } else {
    verified = verify_notary_response(*body, source, notary_rings_.at(source).lookup(), server, now,
                                      config_.limits);
  }
  if (!verified) {
    metrics_.fetch_verification_errors.fetch_add(1);
    flight->last_error =
        make_error(verified.error().code, source + ": " + verified.error().message);
    start_next_attempt(*flight);
    return;
  }
  for (const auto& keys : *verified) {
    cache_.merge(server, keys, now);
    if (persistence_ != nullptr) {
      persistence_->save(PersistedResponse{server, source, now, keys.valid_until_ts,
                                           matrix::compact_json(matrix::Json(keys.raw))});
    }
  }
  (source == "direct" ? metrics_.fetch_ok_direct : metrics_.fetch_ok_notary).fetch_add(1);
  finish(server, true);
}

void ServerKeyStore::finish(const std::string& server, bool success) {
  std::unique_ptr<Flight> flight;
  {
    std::lock_guard lock(mutex_);
    auto it = flights_.find(server);
    if (it == flights_.end()) return;
    flight = std::move(it->second);
    flights_.erase(it);
    if (success) {
      backoff_.record_success(server);
    } else {
      backoff_.record_failure(server, now_ms_());
    }
  }
  if (!success) metrics_.fetch_failed.fetch_add(1);
  for (auto& waiter : flight->waiters) {
    auto answer = answer_for(server, waiter, success, flight->last_error);
    reply(waiter.reply_to, std::move(waiter.done), std::move(answer));
  }
}

Result<matrix::VerifyKey> ServerKeyStore::answer_for(const std::string& server,
                                                     const Waiter& waiter, bool fetched,
                                                     const std::optional<Error>& fetch_error) {
  auto cached = cache_.find(server, waiter.key_id, waiter.valid_at_ms);
  if (cached && cached->key.ok()) return cached->key;
  if (fetched && cached) return cached->key;  // a verified list says unknown / expired
  std::string message = "no verified keys of " + server + " could be obtained";
  if (fetch_error) message += " (" + fetch_error->code + ": " + fetch_error->message + ")";
  return make_error("key_unavailable", std::move(message));
}

}  // namespace bordergate::keystore
