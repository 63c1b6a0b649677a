#include "gateway/discovery/resolution.h"

#include <algorithm>

namespace bordergate::discovery {
namespace {

constexpr std::uint16_t kDefaultFederationPort = 8448;

std::string join_addresses(const std::vector<IpAddress>& addresses) {
  std::string out;
  for (const auto& a : addresses) {
    if (!out.empty()) out += ", ";
    out += a.to_string();
  }
  return out.empty() ? "(none)" : out;
}

std::vector<ConnectTarget> with_port(const std::vector<IpAddress>& addresses, std::uint16_t port) {
  std::vector<ConnectTarget> out;
  out.reserve(addresses.size());
  for (const auto& a : addresses) out.push_back({a, port});
  return out;
}

}  // namespace

std::string_view dns_type_name(DnsType type) {
  switch (type) {
    case DnsType::kA:
      return "A";
    case DnsType::kAaaa:
      return "AAAA";
    case DnsType::kSrv:
      return "SRV";
  }
  return "?";
}

std::string_view route_name(Route route) {
  switch (route) {
    case Route::kStaticOverride:
      return "static_override";
    case Route::kIpLiteral:
      return "ip_literal";
    case Route::kExplicitPort:
      return "explicit_port";
    case Route::kDelegatedIp:
      return "delegated_ip";
    case Route::kDelegatedExplicitPort:
      return "delegated_explicit_port";
    case Route::kDelegatedSrv:
      return "delegated_srv";
    case Route::kDelegatedLegacySrv:
      return "delegated_legacy_srv";
    case Route::kDelegatedDefaultPort:
      return "delegated_default_port";
    case Route::kSrv:
      return "srv";
    case Route::kLegacySrv:
      return "legacy_srv";
    case Route::kDefaultPort:
      return "default_port";
  }
  return "unknown";
}

Resolution::Resolution(std::string_view server_name, const ResolutionOptions& options,
                       std::int64_t now_ms, std::uint64_t random_seed,
                       std::optional<WellKnownCacheEntry> cached_well_known)
    : options_(options),
      now_ms_(now_ms),
      random_(random_seed),
      cached_well_known_(std::move(cached_well_known)),
      result_(make_error("not_finished", "resolution has not finished")) {
  start(server_name);
}

void Resolution::start(std::string_view server_name) {
  auto parsed = parse_server_name(server_name);
  if (!parsed) {
    note("server name '" + std::string(server_name) + "' is invalid: " + parsed.error().message);
    fail(parsed.error());
    return;
  }
  name_ = std::move(*parsed);

  if (auto it = options_.overrides.find(name_.text); it != options_.overrides.end()) {
    const StaticOverride& route = it->second;
    fixed_port_ = route.target.port.value_or(kDefaultFederationPort);
    override_tls_name_ = route.tls_name.value_or(name_.host);
    note("static override: " + name_.text + " -> " + route.target.authority() +
         " (discovery skipped)");
    if (route.target.ip) {
      succeed(Route::kStaticOverride, {{route.target.ip->unmapped(), fixed_port_}},
              *override_tls_name_, std::nullopt, name_.text, {{route.target.host, fixed_port_}});
      return;
    }
    ask_addresses(Phase::kOverrideAddresses, route.target.host);
    return;
  }

  if (name_.ip) {  // step 1
    const IpAddress ip = name_.ip->unmapped();
    note("step 1: " + name_.host + " is an IP literal");
    if (auto admitted = options_.guard.admit(ip); !admitted) {
      note(admitted.error().message);
      fail(admitted.error());
      return;
    }
    const std::uint16_t port = name_.port.value_or(kDefaultFederationPort);
    succeed(Route::kIpLiteral, {{ip, port}}, "", ip, name_.text, {{name_.host, port}});
    return;
  }
  if (name_.port) {  // step 2
    note("step 2: explicit port " + std::to_string(*name_.port) + ", resolving " + name_.host);
    fixed_port_ = *name_.port;
    ask_addresses(Phase::kExplicitPortAddresses, name_.host);
    return;
  }
  // Step 3: well-known, from the cache while fresh.
  if (cached_well_known_ && cached_well_known_->fresh(now_ms_)) {
    const auto& entry = *cached_well_known_;
    note("step 3: well-known cached (" +
         (entry.delegated ? "m.server = " + entry.delegated->text : "failed: " + entry.error_code) +
         ", " + std::to_string((entry.expires_at_ms - now_ms_) / 1000) + " s left)");
    used_cached_well_known_ = true;
    after_well_known(entry.delegated);
    return;
  }
  const WellKnownUrl url = well_known_url_for(name_);
  redirects_.emplace(options_.well_known.max_redirects);
  (void)redirects_->start(url);
  fetch_well_known(url);
}

void Resolution::fetch_well_known(const WellKnownUrl& url) {
  well_known_url_ = url;
  note("step 3: fetching " + url.to_string());
  if (url.authority.ip) {
    const IpAddress ip = url.authority.ip->unmapped();
    if (auto admitted = options_.guard.admit(ip); !admitted) {
      note(admitted.error().message);
      finish_well_known(std::nullopt, admitted.error(), {});
      return;
    }
    HttpsRequest request{{{ip, url.port()}},        "",       ip,
                         url.authority.authority(), url.path, options_.well_known.max_body_bytes};
    phase_ = Phase::kWellKnownFetch;
    step_ = NeedHttps{std::move(request)};
    return;
  }
  ask_addresses(Phase::kWellKnownAddresses, url.authority.host);
}

void Resolution::finish_well_known(const std::optional<ServerName>& delegated,
                                   const std::optional<Error>& error, const HttpHeaders& headers) {
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  well_known_update_ = next_cache_entry(cached_well_known_, delegated, error, headers, now_ms_,
                                        jitter, options_.well_known);
  const auto ttl_s = (well_known_update_->expires_at_ms - now_ms_) / 1000;
  if (delegated && !error) {
    note("well-known: m.server = " + delegated->text + " (cached " + std::to_string(ttl_s) + " s)");
  } else if (well_known_update_->delegated) {
    note("well-known failed: " + (error ? error->message : std::string("unknown")) +
         "; reusing the last good m.server = " + well_known_update_->delegated->text + " for " +
         std::to_string(ttl_s) + " s");
    after_well_known(well_known_update_->delegated);
    return;
  } else {
    note("well-known failed: " + (error ? error->message : std::string("unknown")) + " (cached " +
         std::to_string(ttl_s) + " s)");
  }
  after_well_known(error ? std::nullopt : delegated);
}

void Resolution::after_well_known(const std::optional<ServerName>& delegated) {
  if (!delegated) {
    note("step 4: falling back to SRV for " + name_.host);
    ask_srv(false);
    return;
  }
  delegated_ = delegated;
  const ServerName& d = *delegated_;
  if (d.ip) {  // 3.1
    const IpAddress ip = d.ip->unmapped();
    note("step 3.1: delegated to IP literal " + d.host);
    if (auto admitted = options_.guard.admit(ip); !admitted) {
      note(admitted.error().message);
      fail(admitted.error());
      return;
    }
    const std::uint16_t port = d.port.value_or(kDefaultFederationPort);
    succeed(Route::kDelegatedIp, {{ip, port}}, "", ip, d.authority(), {{d.host, port}});
    return;
  }
  if (d.port) {  // 3.2
    note("step 3.2: delegated to " + d.authority() + ", resolving " + d.host);
    fixed_port_ = *d.port;
    ask_addresses(Phase::kDelegatedAddresses, d.host);
    return;
  }
  note("step 3.3: delegated to " + d.host + " without port, looking up SRV");
  ask_srv(false);
}

void Resolution::ask_addresses(Phase phase, const std::string& host) {
  phase_ = phase;
  step_ = NeedDns{{{host, DnsType::kAaaa}, {host, DnsType::kA}}};
}

void Resolution::ask_srv(bool legacy) {
  legacy_srv_ = legacy;
  const std::string& host = delegated_ ? delegated_->host : name_.host;
  phase_ = Phase::kSrv;
  step_ = NeedDns{{{(legacy ? "_matrix._tcp." : "_matrix-fed._tcp.") + host, DnsType::kSrv}}};
}

void Resolution::on_dns(std::vector<DnsAnswer> answers) {
  const auto* asked = std::get_if<NeedDns>(&step_);
  if (asked == nullptr || answers.size() != asked->questions.size()) {
    fail(make_error("internal_error", "DNS answers do not match the questions asked"));
    return;
  }
  const std::string host = asked->questions.front().name;
  switch (phase_) {
    case Phase::kSrv:
      on_srv_answer(std::move(answers.front()));
      return;
    case Phase::kSrvTargets:
      on_srv_targets(std::move(answers));
      return;
    case Phase::kWellKnownAddresses: {
      auto addresses = admitted_addresses(std::move(answers), host);
      if (!addresses) {
        finish_well_known(std::nullopt, addresses.error(), {});
        return;
      }
      HttpsRequest request{with_port(*addresses, well_known_url_->port()),
                           well_known_url_->authority.host,
                           std::nullopt,
                           well_known_url_->authority.authority(),
                           well_known_url_->path,
                           options_.well_known.max_body_bytes};
      phase_ = Phase::kWellKnownFetch;
      step_ = NeedHttps{std::move(request)};
      return;
    }
    default:
      break;
  }
  auto addresses = admitted_addresses(std::move(answers), host);
  if (!addresses) {
    fail(addresses.error());
    return;
  }
  switch (phase_) {
    case Phase::kOverrideAddresses:
      succeed(Route::kStaticOverride, with_port(*addresses, fixed_port_), *override_tls_name_,
              std::nullopt, name_.text, {{host, fixed_port_}});
      return;
    case Phase::kExplicitPortAddresses:
      succeed(Route::kExplicitPort, with_port(*addresses, fixed_port_), name_.host, std::nullopt,
              name_.text, {{name_.host, fixed_port_}});
      return;
    case Phase::kDelegatedAddresses:
      succeed(Route::kDelegatedExplicitPort, with_port(*addresses, fixed_port_), delegated_->host,
              std::nullopt, delegated_->authority(), {{delegated_->host, fixed_port_}});
      return;
    case Phase::kDefaultPortAddresses: {
      const std::string& tls = delegated_ ? delegated_->host : name_.host;
      succeed(delegated_ ? Route::kDelegatedDefaultPort : Route::kDefaultPort,
              with_port(*addresses, kDefaultFederationPort), tls, std::nullopt, tls,
              {{tls, kDefaultFederationPort}});
      return;
    }
    default:
      fail(make_error("internal_error", "unexpected DNS answer"));
  }
}

void Resolution::on_https(HttpsReply reply) {
  if (phase_ != Phase::kWellKnownFetch || !std::holds_alternative<NeedHttps>(step_)) {
    fail(make_error("internal_error", "unexpected HTTPS reply"));
    return;
  }
  if (reply.transport_error) {
    note("well-known fetch failed: " + reply.transport_error->message);
    finish_well_known(std::nullopt, reply.transport_error, {});
    return;
  }
  WellKnownVerdict verdict = judge_well_known_response(
      *well_known_url_, reply.status, reply.headers, reply.body, options_.well_known);
  note("well-known: HTTP " + std::to_string(reply.status) + " from " +
       well_known_url_->to_string());
  if (verdict.redirect) {
    if (auto followed = redirects_->follow(*verdict.redirect); !followed) {
      finish_well_known(std::nullopt, followed.error(), reply.headers);
      return;
    }
    note("well-known: redirected to " + verdict.redirect->to_string());
    fetch_well_known(*verdict.redirect);
    return;
  }
  finish_well_known(verdict.delegated, verdict.error, reply.headers);
}

void Resolution::on_srv_answer(DnsAnswer answer) {
  const std::string host = delegated_ ? delegated_->host : name_.host;
  const std::string qname = (legacy_srv_ ? "_matrix._tcp." : "_matrix-fed._tcp.") + host;
  if (answer.error && !answer.no_record()) {
    note("SRV " + qname + ": " + answer.error->message);
    fail(make_error("dns_error", "SRV lookup for " + qname + " failed: " + answer.error->code));
    return;
  }
  if (answer.no_record() || answer.srv.empty()) {
    note("SRV " + qname + ": no records");
    if (!legacy_srv_) {
      ask_srv(true);
      return;
    }
    note(std::string(delegated_ ? "step 3.5" : "step 6") + ": no SRV, using " + host + ":8448");
    ask_addresses(Phase::kDefaultPortAddresses, host);
    return;
  }
  if (answer.srv.size() == 1 &&
      (answer.srv.front().target.empty() || answer.srv.front().target == ".")) {
    note("SRV " + qname + ": target '.' (service explicitly not available)");
    fail(make_error("srv_service_unavailable", qname + " says the service is not available"));
    return;
  }
  std::vector<SrvRecord> usable;
  for (auto& record : answer.srv) {
    auto target = parse_host(record.target);
    if (!target || target->kind != HostKind::kDnsName || record.port == 0) {
      note("SRV " + qname + ": skipping unusable record " + record.target + ":" +
           std::to_string(record.port));
      continue;
    }
    usable.push_back(std::move(record));
  }
  srv_records_ = order_srv_records(std::move(usable), random_);
  if (srv_records_.size() > options_.max_srv_records) srv_records_.resize(options_.max_srv_records);
  if (srv_records_.empty()) {
    fail(make_error("no_address", qname + " has no usable records"));
    return;
  }
  std::string listing;
  NeedDns questions;
  for (const auto& r : srv_records_) {
    listing += " " + r.target + ":" + std::to_string(r.port) + " (prio " +
               std::to_string(r.priority) + ", weight " + std::to_string(r.weight) + ")";
    questions.questions.push_back({r.target, DnsType::kAaaa});
    questions.questions.push_back({r.target, DnsType::kA});
  }
  note("SRV " + qname + ":" + listing);
  phase_ = Phase::kSrvTargets;
  step_ = std::move(questions);
}

void Resolution::on_srv_targets(std::vector<DnsAnswer> answers) {
  std::vector<ConnectTarget> targets;
  std::vector<NamedTarget> names;
  std::optional<Error> last_error;
  for (std::size_t i = 0; i < srv_records_.size(); ++i) {
    std::vector<DnsAnswer> pair;
    pair.push_back(std::move(answers[2 * i]));
    pair.push_back(std::move(answers[2 * i + 1]));
    auto addresses = admitted_addresses(std::move(pair), srv_records_[i].target);
    if (!addresses) {
      last_error = addresses.error();
      continue;
    }
    const NamedTarget named{srv_records_[i].target, srv_records_[i].port};
    if (std::find(names.begin(), names.end(), named) == names.end()) names.push_back(named);
    for (const auto& a : *addresses) {
      const ConnectTarget target{a, srv_records_[i].port};
      if (std::find(targets.begin(), targets.end(), target) == targets.end()) {
        targets.push_back(target);
      }
    }
  }
  if (targets.empty()) {
    fail(last_error.value_or(make_error("no_address", "no SRV target resolved")));
    return;
  }
  const std::string& tls = delegated_ ? delegated_->host : name_.host;
  Route route;
  if (delegated_) {
    route = legacy_srv_ ? Route::kDelegatedLegacySrv : Route::kDelegatedSrv;
  } else {
    route = legacy_srv_ ? Route::kLegacySrv : Route::kSrv;
  }
  succeed(route, std::move(targets), tls, std::nullopt, tls, std::move(names));
}

Result<std::vector<IpAddress>> Resolution::admitted_addresses(std::vector<DnsAnswer> answers,
                                                              std::string_view name) {
  std::vector<IpAddress> found;
  std::optional<Error> hard_error;
  for (auto& answer : answers) {
    if (answer.error) {
      if (!answer.no_record()) hard_error = answer.error;
      continue;
    }
    for (const auto& a : answer.addresses) {
      const IpAddress address = a.unmapped();
      if (std::find(found.begin(), found.end(), address) == found.end()) found.push_back(address);
    }
  }
  std::vector<IpAddress> admitted;
  std::size_t refused = 0;
  for (const auto& address : found) {
    if (auto ok = options_.guard.admit(address); !ok) {
      note(ok.error().message + " (answer for " + std::string(name) + ")");
      ++refused;
      continue;
    }
    admitted.push_back(address);
  }
  note("A/AAAA " + std::string(name) + ": " + join_addresses(admitted) +
       (refused ? " (" + std::to_string(refused) + " refused by the address guard)" : ""));
  if (!admitted.empty()) return interleave_families(std::move(admitted), options_.address_order);
  if (refused > 0) {
    return make_error("ssrf_refused", "every address of " + std::string(name) +
                                          " is in a range the address guard refuses");
  }
  if (hard_error) {
    return make_error("dns_error",
                      "address lookup for " + std::string(name) + " failed: " + hard_error->code);
  }
  return make_error("no_address", std::string(name) + " has no A or AAAA record");
}

void Resolution::succeed(Route route, std::vector<ConnectTarget> targets, std::string tls_name,
                         std::optional<IpAddress> tls_ip, std::string host_header,
                         std::vector<NamedTarget> target_names) {
  ResolvedServer resolved;
  resolved.server_name = name_.text;
  resolved.route = route;
  resolved.targets = std::move(targets);
  resolved.target_names = std::move(target_names);
  resolved.tls_name = std::move(tls_name);
  resolved.tls_ip = tls_ip;
  resolved.host_header = std::move(host_header);
  std::string listing;
  for (const auto& t : resolved.targets) {
    if (!listing.empty()) listing += ", ";
    listing += (t.address.is_v6() ? "[" + t.address.to_string() + "]" : t.address.to_string()) +
               ":" + std::to_string(t.port);
  }
  note("result (" + std::string(route_name(route)) + "): connect " + listing + "; TLS name " +
       (resolved.tls_ip ? resolved.tls_ip->to_string() + " (IP, no SNI)" : resolved.tls_name) +
       "; Host " + resolved.host_header);
  result_ = std::move(resolved);
  phase_ = Phase::kFinished;
  step_ = Done{};
}

void Resolution::fail(Error error) {
  note("failed: " + error.code + ": " + error.message);
  result_ = std::move(error);
  phase_ = Phase::kFinished;
  step_ = Done{};
}

}  // namespace bordergate::discovery
