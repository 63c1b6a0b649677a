#include "gateway/proxy/federation.h"

#include <chrono>
#include <filesystem>
#include <system_error>

#include "gateway/admin/federation_metrics.h"
#include "gateway/enforcement/pinned_keys_file.h"

namespace bordergate {
namespace {

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The fetcher of the worker running on this thread (null on other threads).
thread_local keystore::FederationKeyFetcher* t_fetcher = nullptr;

}  // namespace

void Federation::ThreadFetcher::fetch_server_keys(const std::string& server_name, Done done) {
  if (t_fetcher == nullptr) {
    return done(make_error("no_worker", "key fetch requested outside a worker loop"));
  }
  t_fetcher->fetch_server_keys(server_name, std::move(done));
}

void Federation::ThreadFetcher::query_notary(const std::string& notary_name,
                                             const keystore::NotaryQuery& query, Done done) {
  if (t_fetcher == nullptr) {
    return done(make_error("no_worker", "key fetch requested outside a worker loop"));
  }
  t_fetcher->query_notary(notary_name, query, std::move(done));
}

Result<std::unique_ptr<Federation>> Federation::create(const Config& config) {
  std::unique_ptr<Federation> f(new Federation);
  f->discovery_config_ = config.discovery;
  f->key_fetch_config_ = config.key_fetch;
  auto options = discovery::resolution_options_from(config.discovery);
  if (!options) return options.error();
  f->resolution_options_ = std::move(*options);
  f->resolver_options_ = discovery::resolver_options_from(config.discovery);
  f->well_known_cache_ =
      std::make_unique<discovery::WellKnownCache>(config.discovery.well_known_cache_entries);
  f->fetch_timeout_ = config.key_fetch.fetch_timeout;
  auto tls = discovery::FederationTls::build(config.discovery.ca_file);
  if (!tls) return tls.error();
  f->tls_ = std::move(*tls);

  keystore::KeyStoreConfig store_config;
  // Pinned servers are answered from their pinned keys only: a fetched response never adds to
  // or overrides them (closed federations trust the operator's keys, not the network).
  auto pinned = enforcement::load_pinned_keys(config.keys);
  if (!pinned) return pinned.error();
  store_config.pinned = std::move(*pinned);
  auto notaries = keystore::notaries_from(config.key_fetch);
  if (!notaries) return notaries.error();
  store_config.notaries = std::move(*notaries);
  const std::string& mode = config.key_fetch.fetch_mode;
  store_config.mode = mode == "direct"   ? keystore::FetchMode::kDirectOnly
                      : mode == "notary" ? keystore::FetchMode::kNotariesOnly
                                         : keystore::FetchMode::kDirectThenNotaries;
  if (!config.key_fetch.cache_file.empty()) {
    // state_dir normally exists (systemd's StateDirectory=); a fresh one is created owner-only.
    std::error_code ec;
    const auto dir = std::filesystem::path(config.key_fetch.cache_file).parent_path();
    if (!std::filesystem::exists(dir, ec) && std::filesystem::create_directories(dir, ec)) {
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    }
    auto persistence = keystore::KeyPersistence::open(config.key_fetch.cache_file);
    if (!persistence) return persistence.error();
    f->persistence_ = std::move(*persistence);
  }
  f->store_ = std::make_unique<keystore::ServerKeyStore>(std::move(store_config), f->fetcher_,
                                                         wall_ms, f->persistence_.get());
  if (f->persistence_) {
    auto loaded = f->store_->load_persisted();
    if (!loaded) return loaded.error();
    f->persisted_loaded_ = *loaded;
  }
  return f;
}

Result<keystore::PinnedKeys> Federation::prepare_reload(const Config& config) const {
  if (!(config.discovery == discovery_config_)) {
    return make_error("restart_required", "discovery settings only change on restart");
  }
  if (!(config.key_fetch == key_fetch_config_)) {
    return make_error("restart_required",
                      "key fetch settings (keys: notary_servers, fetch_mode, fetch_timeout, "
                      "cache_file) only change on restart");
  }
  return enforcement::load_pinned_keys(config.keys);
}

Federation::~Federation() {
  store_.reset();
  if (persistence_) persistence_->flush();
}

void Federation::attach(const discovery::DiscoveryMetrics* metrics) {
  std::lock_guard<std::mutex> lock(mutex_);
  workers_.push_back(metrics);
}

void Federation::detach(const discovery::DiscoveryMetrics* metrics) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::erase(workers_, metrics);
}

void Federation::collect(std::vector<prometheus::MetricFamily>& out) const {
  append_key_store_families(store_->metrics(), out);
  std::lock_guard<std::mutex> lock(mutex_);
  append_discovery_families(workers_, out);
}

Result<std::unique_ptr<WorkerFederation>> WorkerFederation::create(Federation& federation,
                                                                   uv_loop_t* loop) {
  std::unique_ptr<WorkerFederation> w(new WorkerFederation(federation));
  auto dns = discovery::AresResolver::create(loop, federation.resolver_options_);
  if (!dns) return dns.error();
  w->dns_ = std::move(*dns);
  w->queue_ = std::make_unique<keystore::WorkerQueue>(loop);
  w->client_ = std::make_unique<discovery::HttpsClient>(loop, federation.tls_);
  w->resolver_ = std::make_unique<discovery::ServerResolver>(
      *w->dns_, discovery::well_known_fetch_over(*w->client_, federation.discovery_config_),
      federation.resolution_options_, *federation.well_known_cache_, wall_ms);
  w->fetcher_ = std::make_unique<keystore::FederationKeyFetcher>(
      *w->resolver_, *w->client_, federation.discovery_config_, federation.fetch_timeout_);
  t_fetcher = w->fetcher_.get();
  federation.attach(&w->resolver_->metrics());
  return w;
}

WorkerFederation::~WorkerFederation() {
  federation_.detach(&resolver_->metrics());
  if (t_fetcher == fetcher_.get()) t_fetcher = nullptr;
  fetcher_.reset();
  resolver_.reset();
  client_.reset();
  dns_.reset();
  queue_.reset();
}

}  // namespace bordergate
