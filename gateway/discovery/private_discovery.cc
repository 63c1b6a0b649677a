#include "gateway/discovery/private_discovery.h"

#include <chrono>

#include "gateway/discovery/discovery_setup.h"

namespace bordergate::discovery {
namespace {

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

PrivateDiscovery::PrivateDiscovery() { uv_loop_init(&loop_); }

PrivateDiscovery::~PrivateDiscovery() {
  resolver_.reset();
  client_.reset();
  dns_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

Status PrivateDiscovery::configure(const DiscoveryConfig& config) {
  auto opts = resolution_options_from(config);
  if (!opts) return opts.error();
  options_ = std::move(*opts);
  return {};
}

Status PrivateDiscovery::start(const DiscoveryConfig& config) {
  auto dns = AresResolver::create(&loop_, resolver_options_from(config));
  if (!dns) return dns.error();
  dns_ = std::move(*dns);
  auto tls = FederationTls::build(config.ca_file);
  if (!tls) return tls.error();
  client_ = std::make_unique<HttpsClient>(&loop_, std::move(*tls));
  resolver_ = std::make_unique<ServerResolver>(*dns_, well_known_fetch_over(*client_, config),
                                               options_, cache_, wall_ms);
  return {};
}

bool PrivateDiscovery::run_until(const bool& done) {
  while (!done) {
    if (uv_run(&loop_, UV_RUN_ONCE) == 0 && !done) return false;
  }
  return true;
}

}  // namespace bordergate::discovery
