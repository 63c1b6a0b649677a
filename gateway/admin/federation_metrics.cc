#include "gateway/admin/federation_metrics.h"

#include <map>
#include <string>

namespace bordergate {
namespace {

prometheus::MetricFamily counter_family(std::string name, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Counter;
  return f;
}

void add(prometheus::MetricFamily& f, const char* label, std::string value, std::uint64_t n) {
  prometheus::ClientMetric m;
  m.label.push_back({label, std::move(value)});
  m.counter.value = static_cast<double>(n);
  f.metric.push_back(std::move(m));
}

}  // namespace

void append_key_store_families(const keystore::KeyStoreMetrics& k,
                               std::vector<prometheus::MetricFamily>& out) {
  auto lookups = counter_family("bordergate_key_lookups_total",
                                "Server key lookups by how they were answered");
  add(lookups, "result", "pinned", k.pinned_hits.load());
  add(lookups, "result", "cache_hit", k.cache_hits.load());
  add(lookups, "result", "cache_miss", k.cache_misses.load());
  add(lookups, "result", "single_flight_join", k.single_flight_joins.load());
  add(lookups, "result", "backoff_rejected", k.backoff_rejections.load());
  add(lookups, "result", "refetch_suppressed", k.refetch_suppressed.load());
  auto fetches = counter_family("bordergate_key_fetches_total",
                                "Server key fetches (started) and their outcomes per attempt");
  add(fetches, "result", "started", k.fetches_started.load());
  add(fetches, "result", "ok_direct", k.fetch_ok_direct.load());
  add(fetches, "result", "ok_notary", k.fetch_ok_notary.load());
  add(fetches, "result", "transport_error", k.fetch_transport_errors.load());
  add(fetches, "result", "verification_error", k.fetch_verification_errors.load());
  add(fetches, "result", "failed", k.fetch_failed.load());
  auto persisted = counter_family("bordergate_key_persisted_responses_total",
                                  "Persisted key responses replayed at start");
  add(persisted, "result", "loaded", k.persisted_loaded.load());
  add(persisted, "result", "rejected", k.persisted_rejected.load());
  out.push_back(std::move(lookups));
  out.push_back(std::move(fetches));
  out.push_back(std::move(persisted));
}

void append_discovery_families(const std::vector<const discovery::DiscoveryMetrics*>& workers,
                               std::vector<prometheus::MetricFamily>& out) {
  std::map<std::string, std::uint64_t> results;
  std::uint64_t fetched = 0;
  std::uint64_t cached = 0;
  std::uint64_t latency_ms = 0;
  std::uint64_t count = 0;
  for (const auto* w : workers) {
    w->for_each([&](std::string_view kind, std::string_view label, std::uint64_t value) {
      if (kind == "resolved" || kind == "failed") {
        results[std::string(label)] += value;
      } else if (kind == "well_known_fetched") {
        fetched += value;
      } else if (kind == "well_known_cache_hits") {
        cached += value;
      } else if (kind == "latency_ms_sum") {
        latency_ms += value;
      } else if (kind == "latency_count") {
        count += value;
      }
    });
  }
  auto res = counter_family("bordergate_discovery_results_total",
                            "Server discoveries by route taken or error");
  for (const auto& [label, value] : results) add(res, "result", label, value);
  auto wk = counter_family("bordergate_discovery_well_known_total",
                           "Well-known lookups answered by a fetch or by the cache");
  add(wk, "source", "fetched", fetched);
  add(wk, "source", "cache", cached);
  prometheus::MetricFamily duration;
  duration.name = "bordergate_discovery_duration_seconds";
  duration.help = "Time from the start of a discovery to its result";
  duration.type = prometheus::MetricType::Summary;
  prometheus::ClientMetric m;
  m.summary.sample_count = count;
  m.summary.sample_sum = static_cast<double>(latency_ms) / 1000.0;
  duration.metric.push_back(std::move(m));
  out.push_back(std::move(res));
  out.push_back(std::move(wk));
  out.push_back(std::move(duration));
}

}  // namespace bordergate
