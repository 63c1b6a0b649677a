// Plain counters of the key store, readable from any thread; the admin component exports them
// (bordergate_key_lookups_total{result=...}, bordergate_key_fetches_total{result=...}).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace bordergate::keystore {

struct KeyStoreMetrics {
  // Lookups by how they were answered.
  std::atomic<std::uint64_t> pinned_hits{0};
  std::atomic<std::uint64_t> cache_hits{0};
  std::atomic<std::uint64_t> cache_misses{0};          // led to a fetch or a wait on one
  std::atomic<std::uint64_t> single_flight_joins{0};   // waited on a fetch already running
  std::atomic<std::uint64_t> backoff_rejections{0};    // server in negative cache: no fetch
  std::atomic<std::uint64_t> refetch_suppressed{0};    // fetched too recently to ask again
  // Fetches by result.
  std::atomic<std::uint64_t> fetches_started{0};
  std::atomic<std::uint64_t> fetch_ok_direct{0};
  std::atomic<std::uint64_t> fetch_ok_notary{0};
  std::atomic<std::uint64_t> fetch_transport_errors{0};    // per attempt (direct or one notary)
  std::atomic<std::uint64_t> fetch_verification_errors{0}; // bad JSON, bad signature, wrong server
  std::atomic<std::uint64_t> fetch_failed{0};              // every source failed
  // Persistence.
  std::atomic<std::uint64_t> persisted_loaded{0};
  std::atomic<std::uint64_t> persisted_rejected{0};        // failed re-verification on load

  // Calls fn(name, value) for each counter, names in Prometheus style without prefix.
  template <class Fn>
  void for_each(Fn&& fn) const {
    fn("pinned_hits", pinned_hits.load());
    fn("cache_hits", cache_hits.load());
    fn("cache_misses", cache_misses.load());
    fn("single_flight_joins", single_flight_joins.load());
    fn("backoff_rejections", backoff_rejections.load());
    fn("refetch_suppressed", refetch_suppressed.load());
    fn("fetches_started", fetches_started.load());
    fn("fetch_ok_direct", fetch_ok_direct.load());
    fn("fetch_ok_notary", fetch_ok_notary.load());
    fn("fetch_transport_errors", fetch_transport_errors.load());
    fn("fetch_verification_errors", fetch_verification_errors.load());
    fn("fetch_failed", fetch_failed.load());
    fn("persisted_loaded", persisted_loaded.load());
    fn("persisted_rejected", persisted_rejected.load());
  }
};

}  // namespace bordergate::keystore
