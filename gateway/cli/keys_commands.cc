// `bordergate discover SERVER` (the §1.3 resolution steps and the result, like a federation
// tester) and `bordergate keys fetch SERVER` (discovery, fetch, verification of every key,
// validity). The same discovery, HTTPS client, fetcher and key store the gateway runs.
#include <uv.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "gateway/cli/cli_support.h"
#include "gateway/cli/commands.h"
#include "gateway/config/config_loader.h"
#include "gateway/discovery/private_discovery.h"
#include "gateway/enforcement/pinned_keys_file.h"
#include "gateway/keystore/federation_key_fetcher.h"
#include "gateway/keystore/key_persistence.h"
#include "gateway/keystore/key_responses.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/keystore/worker_queue.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/server_keys.h"

namespace bordergate::cli {
namespace {

namespace d = bordergate::discovery;
namespace k = bordergate::keystore;
namespace m = bordergate::matrix;

constexpr int kFailed = kCheckFailed;

struct NetOptions {
  std::string config_file;
  std::vector<std::string> resolvers;
  std::vector<std::string> allow_ranges;
  std::string ca_file;
  bool json = false;
  // keys fetch
  std::string notary;                    // added in front of the configured notaries
  std::vector<std::string> notary_keys;  // "ed25519:ID:B64", keys of --notary
  std::string mode;
  std::string key_id;
  bool no_cache = false;
};

std::string target_text(const d::ConnectTarget& t) {
  return t.address.is_v6() ? "[" + t.address.to_string() + "]:" + std::to_string(t.port)
                           : t.address.to_string() + ":" + std::to_string(t.port);
}

// The settings a command runs with: the config file's sections (if any), then the flags.
struct Settings {
  DiscoveryConfig discovery;
  KeyFetchConfig keys;
  KeysConfig pinned;  // `keys.pinned` and `keys.pinned_file`, which --key-id answers first
};

Result<Settings> settings_from(const NetOptions& o) {
  Settings s;
  if (!o.config_file.empty()) {
    ConfigLoadResult loaded = load_config_file(o.config_file);
    if (!loaded.config) {
      std::string text;
      for (const auto& e : loaded.errors) text += (text.empty() ? "" : "; ") + e.to_string();
      return make_error("invalid_config", text);
    }
    s.discovery = loaded.config->discovery;
    s.keys = loaded.config->key_fetch;
    s.pinned = loaded.config->keys;
  }
  for (const auto& r : o.resolvers) s.discovery.resolvers.push_back(r);
  for (const auto& r : o.allow_ranges) s.discovery.allowed_ranges.push_back(r);
  if (!o.ca_file.empty()) s.discovery.ca_file = o.ca_file;
  if (!o.mode.empty()) s.keys.fetch_mode = o.mode;
  if (o.no_cache) s.keys.cache_file.clear();
  if (!o.notary.empty()) {
    NotaryServerConfig notary{o.notary, {}};
    for (const auto& nk : o.notary_keys) {
      const auto colon = nk.find(':', nk.find(':') + 1);  // the one after "ed25519:ID"
      if (colon == std::string::npos) {
        return make_error("invalid_notary_key", "--notary-key wants ed25519:ID:BASE64");
      }
      notary.keys.emplace_back(nk.substr(0, colon), nk.substr(colon + 1));
    }
    if (notary.keys.empty()) {
      return make_error("invalid_notary_key", "--notary needs at least one --notary-key");
    }
    s.keys.notary_servers.insert(s.keys.notary_servers.begin(), std::move(notary));
  } else if (!o.notary_keys.empty()) {
    return make_error("invalid_notary_key", "--notary-key needs --notary");
  }
  return s;
}

// Everything one network command needs on one loop (the gateway's own discovery stack);
// every setup error is reported with its own code.
struct NetStack : d::PrivateDiscovery {
  Status build(const DiscoveryConfig& config) {
    if (Status s = configure(config); !s) return s;
    return start(config);
  }
};

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void print_discovery(const std::string& server, const d::Discovery& found, bool json) {
  if (json) {
    std::string out = "{\"server_name\":" + json_string(server) + ",\"steps\":[";
    for (std::size_t i = 0; i < found.log.size(); ++i) {
      out += (i ? "," : "") + json_string(found.log[i]);
    }
    out += "],\"elapsed_ms\":" + std::to_string(found.elapsed_ms);
    if (found.result) {
      const auto& r = *found.result;
      out += ",\"ok\":true,\"route\":" + json_string(d::route_name(r.route)) + ",\"targets\":[";
      for (std::size_t i = 0; i < r.targets.size(); ++i) {
        out += (i ? "," : "") + json_string(target_text(r.targets[i]));
      }
      out += "],\"tls_name\":" + json_string(r.tls_name) +
             ",\"tls_ip\":" + (r.tls_ip ? json_string(r.tls_ip->to_string()) : "null") +
             ",\"host_header\":" + json_string(r.host_header) + "}";
    } else {
      out += ",\"ok\":false,\"error\":" + json_string(found.result.error().code) +
             ",\"message\":" + json_string(found.result.error().message) + "}";
    }
    std::printf("%s\n", out.c_str());
    return;
  }
  std::printf("discovery of %s\n", server.c_str());
  for (const auto& line : found.log) std::printf("  step: %s\n", line.c_str());
  if (!found.result) {
    std::printf("  result: FAILED %s: %s\n", found.result.error().code.c_str(),
                found.result.error().message.c_str());
    return;
  }
  const auto& r = *found.result;
  std::printf("  route: %s\n", std::string(d::route_name(r.route)).c_str());
  for (const auto& t : r.targets) std::printf("  connect: %s\n", target_text(t).c_str());
  if (r.tls_ip) {
    std::printf("  certificate: IP %s (no SNI)\n", r.tls_ip->to_string().c_str());
  } else {
    std::printf("  certificate/SNI: %s\n", r.tls_name.c_str());
  }
  std::printf("  host header: %s\n", r.host_header.c_str());
  std::printf("  elapsed: %llu ms\n", static_cast<unsigned long long>(found.elapsed_ms));
}

// Several names share one well-known cache, as the gateway's workers do: a repeated name shows
// the cached delegation being used instead of a second fetch.
void discover(const std::vector<std::string>& servers, const NetOptions& o) {
  auto settings = settings_from(o);
  if (!settings) return void(fail("discover", settings.error(), kBadInput));
  NetStack net;
  if (Status s = net.build(settings->discovery); !s)
    return void(fail("discover", s.error(), kBadInput));
  for (const auto& server : servers) {
    bool done = false;
    d::Discovery found{make_error("cancelled", "not run"), {}, 0};
    net.resolver().resolve(server, [&](d::Discovery result) {
      found = std::move(result);
      done = true;
    });
    net.run_until(done);
    print_discovery(server, found, o.json);
    std::fflush(stdout);
    if (!found.result) exit_status() = kFailed;
  }
}

// Prints every key of one response with its self-signature and validity; false if any fails.
bool print_keys(const m::Json& object, std::int64_t now) {
  auto keys = m::parse_server_keys_unverified(object);
  if (!keys) {
    std::printf("  keys: unusable: %s: %s\n", keys.error().code.c_str(),
                keys.error().message.c_str());
    return false;
  }
  bool ok = !keys->verify_keys.empty();
  std::printf("  server_name: %s\n", keys->server_name.c_str());
  for (const auto& check : m::check_self_signatures(*keys)) {
    std::printf(
        "  verify_key %s %s: self-signature %s\n", check.key_id.c_str(),
        m::to_base64(keys->verify_keys.at(check.key_id)).c_str(),
        check.status
            ? "ok"
            : (check.status.error().code + " (" + check.status.error().message + ")").c_str());
    ok = ok && check.status.ok();
  }
  for (const auto& [id, old] : keys->old_verify_keys) {
    std::printf("  old_verify_key %s expired_ts %s\n", id.c_str(), utc(old.expired_ts).c_str());
  }
  const bool expired = keys->valid_until_ts < now;
  std::printf("  valid_until_ts: %s%s\n", utc(keys->valid_until_ts).c_str(),
              expired ? " EXPIRED" : "");
  return ok && !expired;
}

void fetch_all_keys(const std::string& server, const Settings& s) {
  NetStack net;
  if (Status st = net.build(s.discovery); !st)
    return void(fail("keys fetch", st.error(), kBadInput));
  auto notaries = k::notaries_from(s.keys);
  if (!notaries) return void(fail("keys fetch", notaries.error(), kBadInput));
  k::FederationKeyFetcher fetcher(net.resolver(), net.client(), s.discovery, s.keys.fetch_timeout);
  fetcher.set_observer([&](const std::string& name, const d::Discovery& found) {
    print_discovery(name, found, false);
  });
  const bool use_notary = s.keys.fetch_mode == "notary";
  if (use_notary && notaries->empty()) {
    return void(
        fail("keys fetch", make_error("no_notary", "fetch_mode notary needs --notary"), kBadInput));
  }
  bool done = false;
  Result<std::string> body = make_error("cancelled", "not run");
  auto on_body = [&](Result<std::string> b) {
    body = std::move(b);
    done = true;
  };
  const std::int64_t now = now_ms();
  if (use_notary) {
    fetcher.query_notary(notaries->front().server_name, {server, {}, now}, on_body);
  } else {
    fetcher.fetch_server_keys(server, on_body);
  }
  net.run_until(done);
  std::printf("fetch from %s: %s\n",
              use_notary ? ("notary " + notaries->front().server_name).c_str() : "server",
              body ? ("HTTP 200, " + std::to_string(body->size()) + " bytes").c_str()
                   : (body.error().code + ": " + body.error().message).c_str());
  if (!body) return void(fail("keys fetch", body.error(), kFailed));

  auto doc = m::parse_json(*body);
  bool ok = doc.ok();
  if (doc) {
    if (const m::Json* list = doc->find("server_keys"); use_notary && list && list->array_if()) {
      for (const m::Json& entry : *list->array_if()) ok = print_keys(entry, now) && ok;
    } else {
      ok = print_keys(*doc, now);
    }
  }
  // The verdict comes from the same verification the store applies.
  Status verdict;
  if (use_notary) {
    m::StaticKeyRing ring;
    for (const auto& [id, key] : notaries->front().verify_keys) {
      (void)ring.add(notaries->front().server_name, id, key);
    }
    auto v =
        k::verify_notary_response(*body, notaries->front().server_name, ring.lookup(), server, now);
    if (!v) verdict = v.error();
  } else {
    auto v = k::verify_server_response(*body, server);
    if (!v) verdict = v.error();
  }
  std::printf("verification: %s\n",
              verdict ? "ok" : (verdict.error().code + ": " + verdict.error().message).c_str());
  std::fflush(stdout);
  if (!verdict) return void(fail("keys fetch", verdict.error(), kFailed));
  if (!ok) {
    fail("keys fetch", make_error("keys_invalid", "a key is expired or not self-signed"), kFailed);
  }
}

// One key through the gateway's ServerKeyStore: pinned, persisted cache, then the network.
void fetch_one_key(const std::string& server, const Settings& s, const NetOptions& o) {
  NetStack net;
  if (Status st = net.build(s.discovery); !st)
    return void(fail("keys fetch", st.error(), kBadInput));
  auto notaries = k::notaries_from(s.keys);
  if (!notaries) return void(fail("keys fetch", notaries.error(), kBadInput));
  k::FederationKeyFetcher fetcher(net.resolver(), net.client(), s.discovery, s.keys.fetch_timeout);
  fetcher.set_observer([&](const std::string& name, const d::Discovery& found) {
    print_discovery(name, found, false);
  });
  std::unique_ptr<k::KeyPersistence> persistence;
  if (!s.keys.cache_file.empty()) {
    auto opened = k::KeyPersistence::open(s.keys.cache_file);
    if (!opened) return void(fail("keys fetch", opened.error(), kBadInput));
    persistence = std::move(*opened);
  }
  auto pinned = enforcement::load_pinned_keys(s.pinned);
  if (!pinned) return void(fail("keys fetch", pinned.error(), kBadInput));
  k::KeyStoreConfig config;
  config.pinned = std::move(*pinned);
  config.notaries = std::move(*notaries);
  config.mode = s.keys.fetch_mode == "direct"   ? k::FetchMode::kDirectOnly
                : s.keys.fetch_mode == "notary" ? k::FetchMode::kNotariesOnly
                                                : k::FetchMode::kDirectThenNotaries;
  auto queue = std::make_unique<k::WorkerQueue>(net.loop());
  {
    k::ServerKeyStore store(config, fetcher, now_ms, persistence.get());
    if (persistence) {
      auto loaded = store.load_persisted();
      std::printf("persistent cache %s: %zu responses loaded\n", s.keys.cache_file.c_str(),
                  loaded ? *loaded : 0);
    }
    bool done = false;
    Result<m::VerifyKey> key = make_error("cancelled", "not run");
    store.get_key(server, o.key_id, now_ms(), queue->mailbox(), [&](Result<m::VerifyKey> r) {
      key = std::move(r);
      done = true;
    });
    net.run_until(done);
    const auto& metrics = store.metrics();
    std::printf(
        "key %s of %s: %s (%s)\n", o.key_id.c_str(), server.c_str(),
        key ? m::to_base64(*key).c_str() : (key.error().code + ": " + key.error().message).c_str(),
        metrics.pinned_hits.load() > 0   ? "pinned"
        : metrics.cache_hits.load() > 0  ? "from cache"
        : metrics.fetch_ok_direct.load() ? "fetched directly"
        : metrics.fetch_ok_notary.load() ? "fetched through a notary"
                                         : "no verified answer");
    std::fflush(stdout);
    if (persistence) persistence->flush();
    if (!key) fail("keys fetch", key.error(), kFailed);
  }
  queue.reset();
}

void add_net_options(CLI::App* cmd, NetOptions& o) {
  cmd->add_option("--config", o.config_file, "Take discovery:/keys: settings from this file");
  cmd->add_option("--resolver", o.resolvers, "DNS server ADDR[:PORT] (repeatable)");
  cmd->add_option("--allow-range", o.allow_ranges, "CIDR the SSRF guard lets through (repeatable)");
  cmd->add_option("--ca-file", o.ca_file, "CA bundle for peer certificates (default: system)");
}

}  // namespace

void register_keys_commands(CLI::App& app) {
  auto disc_opts = std::make_shared<NetOptions>();
  auto disc_servers = std::make_shared<std::vector<std::string>>();
  auto* disc = app.add_subcommand(
      "discover", "Resolve a Matrix server name (federation-notes §1.3), printing each step");
  disc->add_option("SERVER", *disc_servers,
                   "Server names, e.g. example.org or example.org:8448 (they share one "
                   "well-known cache)")
      ->required();
  add_net_options(disc, *disc_opts);
  disc->add_flag("--json", disc_opts->json, "One JSON object per server (one per line)");
  disc->callback([=] { discover(*disc_servers, *disc_opts); });

  CLI::App* keys = nullptr;
  try {
    keys = app.get_subcommand("keys");
  } catch (const CLI::OptionNotFound&) {
    keys = app.add_subcommand("keys", "Server signing keys");
    keys->require_subcommand(1);
  }
  auto fetch_opts = std::make_shared<NetOptions>();
  auto fetch_server = std::make_shared<std::string>();
  auto* fetch = keys->add_subcommand(
      "fetch", "Discover SERVER, fetch its signing keys (directly or via a notary), verify them");
  fetch->add_option("SERVER", *fetch_server, "Server name")->required();
  add_net_options(fetch, *fetch_opts);
  fetch->add_option("--notary", fetch_opts->notary,
                    "Notary server name (asked before the configured notaries)");
  fetch->add_option("--notary-key", fetch_opts->notary_keys,
                    "Trusted key of --notary: ed25519:ID:BASE64 (repeatable)");
  fetch->add_option("--mode", fetch_opts->mode, "direct | notary | direct_then_notary")
      ->check(CLI::IsMember({"direct", "notary", "direct_then_notary"}));
  fetch->add_option("--key-id", fetch_opts->key_id,
                    "Look up one key through the key store (pinned, persistent cache, fetch)");
  fetch->add_flag("--no-cache", fetch_opts->no_cache, "Do not use the persistent key cache");
  fetch->callback([=] {
    auto settings = settings_from(*fetch_opts);
    if (!settings) return void(fail("keys fetch", settings.error(), kBadInput));
    if (fetch_opts->key_id.empty()) return fetch_all_keys(*fetch_server, *settings);
    fetch_one_key(*fetch_server, *settings, *fetch_opts);
  });
}

}  // namespace bordergate::cli
