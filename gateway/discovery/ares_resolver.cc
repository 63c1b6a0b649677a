#include "gateway/discovery/ares_resolver.h"

#include <ares.h>
#include <netinet/in.h>
#include <uv.h>

#include <algorithm>
#include <mutex>

namespace bordergate::discovery {
namespace {

constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypeAaaa = 28;
constexpr int kTypeSrv = 33;
constexpr int kMaxAddresses = 64;

int wire_type(DnsType type) {
  switch (type) {
    case DnsType::kA:
      return kTypeA;
    case DnsType::kAaaa:
      return kTypeAaaa;
    case DnsType::kSrv:
      return kTypeSrv;
  }
  return kTypeA;
}

Error status_error(int status, const std::string& name) {
  std::string code;
  switch (status) {
    case ARES_ENOTFOUND:
      code = "nxdomain";
      break;
    case ARES_ENODATA:
      code = "no_data";
      break;
    case ARES_ETIMEOUT:
      code = "timeout";
      break;
    case ARES_ESERVFAIL:
      code = "servfail";
      break;
    case ARES_EREFUSED:
      code = "refused";
      break;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      code = "cancelled";
      break;
    default:
      code = "dns_error";
      break;
  }
  return make_error(std::move(code), name + ": " + ares_strerror(status));
}

DnsAnswer parse_answer(DnsType type, const std::string& name, const unsigned char* abuf, int alen) {
  DnsAnswer answer;
  int status = ARES_SUCCESS;
  if (type == DnsType::kA) {
    ares_addrttl ttls[kMaxAddresses];
    int count = kMaxAddresses;
    status = ares_parse_a_reply(abuf, alen, nullptr, ttls, &count);
    for (int i = 0; status == ARES_SUCCESS && i < count; ++i) {
      answer.addresses.push_back(
          IpAddress::v4_from_bytes(reinterpret_cast<const std::uint8_t*>(&ttls[i].ipaddr)));
    }
  } else if (type == DnsType::kAaaa) {
    ares_addr6ttl ttls[kMaxAddresses];
    int count = kMaxAddresses;
    status = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls, &count);
    for (int i = 0; status == ARES_SUCCESS && i < count; ++i) {
      answer.addresses.push_back(
          IpAddress::v6_from_bytes(reinterpret_cast<const std::uint8_t*>(&ttls[i].ip6addr)));
    }
  } else {
    ares_srv_reply* records = nullptr;
    status = ares_parse_srv_reply(abuf, alen, &records);
    for (auto* r = records; status == ARES_SUCCESS && r != nullptr; r = r->next) {
      std::string target = r->host != nullptr ? r->host : "";
      if (!target.empty() && target.back() == '.') target.pop_back();
      answer.srv.push_back({r->priority, r->weight, r->port, target.empty() ? "." : target});
    }
    if (records != nullptr) ares_free_data(records);
  }
  if (status != ARES_SUCCESS) {
    answer.addresses.clear();
    answer.srv.clear();
    answer.error = status_error(status, name);
  } else if (answer.addresses.empty() && answer.srv.empty()) {
    answer.error = status_error(ARES_ENODATA, name);
  }
  return answer;
}

// An A or AAAA answer of ares_getaddrinfo (hosts file or DNS), capped like parse_answer's.
DnsAnswer addrinfo_answer(const std::string& name, const ares_addrinfo* info) {
  DnsAnswer answer;
  for (const ares_addrinfo_node* n = info != nullptr ? info->nodes : nullptr;
       n != nullptr && answer.addresses.size() < kMaxAddresses; n = n->ai_next) {
    if (n->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
      answer.addresses.push_back(
          IpAddress::v4_from_bytes(reinterpret_cast<const std::uint8_t*>(&in->sin_addr)));
    } else if (n->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
      answer.addresses.push_back(
          IpAddress::v6_from_bytes(reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr)));
    }
  }
  if (answer.addresses.empty()) answer.error = status_error(ARES_ENODATA, name);
  return answer;
}

std::once_flag library_init;

}  // namespace

// A query is owned by queries_ until c-ares has called back (c-ares keeps the raw pointer), even
// when the caller already got "timeout" or cancelled it.
struct AresResolver::Query {
  AresResolver* owner = nullptr;
  QueryId id = 0;
  DnsQuestion question;
  Callback callback;
  std::uint64_t deadline_ms = 0;
  bool answered = false;   // the caller has its answer (or cancelled): ignore c-ares
  bool ares_done = false;  // c-ares has released its pointer
  std::optional<DnsAnswer> deferred;
};

// uv handles wrapped so that their memory lives until libuv's close callback.
struct AresResolver::SocketPoll {
  uv_poll_t handle{};
  AresResolver* owner = nullptr;
  int fd = -1;
  bool closing = false;
  void close() {
    if (closing) return;
    closing = true;
    owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle),
             [](uv_handle_t* h) { delete static_cast<SocketPoll*>(h->data); });
  }
};

struct AresResolver::Timer {
  uv_timer_t handle{};
  AresResolver* owner = nullptr;
  void close() {
    owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle),
             [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
  }
};

AresResolver::AresResolver(uv_loop_t* loop, const ResolverOptions& options)
    : loop_(loop), options_(options) {}

Result<std::unique_ptr<AresResolver>> AresResolver::create(uv_loop_t* loop,
                                                           const ResolverOptions& options) {
  std::call_once(library_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  std::unique_ptr<AresResolver> resolver(new AresResolver(loop, options));

  ares_options opts{};
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  opts.timeout = std::max(1, options.attempt_timeout_ms);
  opts.tries = std::max(1, options.tries);
  opts.sock_state_cb = &AresResolver::on_sock_state;
  opts.sock_state_cb_data = resolver.get();
  // Addresses as getaddrinfo finds them: the hosts file first, then DNS ("fb"), whatever
  // /etc/host.conf or /etc/nsswitch.conf say. No search domains at all, so that a name is looked
  // up exactly as given on either path.
  char lookups[] = "fb";
  opts.lookups = lookups;
  opts.domains = nullptr;
  opts.ndomains = 0;
  const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
                   ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS;
  if (int rc = ares_init_options(&resolver->channel_, &opts, mask); rc != ARES_SUCCESS) {
    resolver->channel_ = nullptr;
    return make_error("dns_init_failed", std::string("c-ares init failed: ") + ares_strerror(rc));
  }
  if (!options.servers.empty()) {
    std::string csv;
    for (const auto& server : options.servers) {
      if (server.find(',') != std::string::npos) {
        return make_error("invalid_resolver", "resolver address contains ',': " + server);
      }
      csv += (csv.empty() ? "" : ",") + server;
    }
    if (int rc = ares_set_servers_ports_csv(resolver->channel_, csv.c_str()); rc != ARES_SUCCESS) {
      return make_error("invalid_resolver",
                        "bad resolver list '" + csv + "': " + ares_strerror(rc));
    }
  }
  auto* timer = new Timer;
  timer->owner = resolver.get();
  timer->handle.data = timer;
  uv_timer_init(loop, &timer->handle);
  resolver->timer_ = timer;
  return resolver;
}

AresResolver::~AresResolver() {
  destroying_ = true;
  if (channel_ != nullptr) ares_destroy(channel_);  // answers every query with ARES_EDESTRUCTION
  for (auto& [fd, poll] : polls_) poll->close();
  polls_.clear();
  if (timer_ != nullptr) timer_->close();
}

AresResolver::QueryId AresResolver::query(DnsQuestion question, Callback callback) {
  auto query = std::make_unique<Query>();
  Query* raw = query.get();
  raw->owner = this;
  raw->id = next_id_++;
  raw->question = std::move(question);
  raw->callback = std::move(callback);
  raw->deadline_ms =
      uv_now(loop_) + static_cast<std::uint64_t>(std::max(1, options_.query_timeout_ms));
  queries_.emplace(raw->id, std::move(query));
  const QueryId id = raw->id;
  inside_query_call_ = true;
  if (raw->question.type == DnsType::kSrv) {
    ares_query(channel_, raw->question.name.c_str(), kClassIn, wire_type(raw->question.type),
               &AresResolver::on_ares_answer, raw);
  } else {
    // The hosts file answers synchronously (finish() defers that); only its own family counts,
    // so a name with just an IPv4 entry still asks DNS for AAAA. ENVHOSTS: CARES_HOSTS replaces
    // /etc/hosts (the tests' hosts files). NOSORT: no probe connects to rank the addresses.
    ares_addrinfo_hints hints{};
    hints.ai_family = raw->question.type == DnsType::kA ? AF_INET : AF_INET6;
    hints.ai_flags = ARES_AI_NOSORT | ARES_AI_ENVHOSTS;
    ares_getaddrinfo(channel_, raw->question.name.c_str(), nullptr, &hints,
                     &AresResolver::on_ares_addrinfo, raw);
  }
  inside_query_call_ = false;
  reschedule();
  return id;
}

void AresResolver::cancel(QueryId id) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return;
  it->second->answered = true;
  it->second->callback = nullptr;
  it->second->deferred.reset();
  if (it->second->ares_done) queries_.erase(it);
}

std::size_t AresResolver::pending() const {
  return static_cast<std::size_t>(std::count_if(queries_.begin(), queries_.end(),
                                                [](const auto& q) { return !q.second->answered; }));
}

void AresResolver::on_ares_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                                  int alen) {
  auto* query = static_cast<Query*>(arg);
  AresResolver* self = query->owner;
  query->ares_done = true;
  if (self->destroying_ || query->answered) {
    if (!self->destroying_) self->queries_.erase(query->id);
    return;  // during destruction queries_ is torn down by the destructor
  }
  DnsAnswer answer = status == ARES_SUCCESS
                         ? parse_answer(query->question.type, query->question.name, abuf, alen)
                         : DnsAnswer{{}, {}, status_error(status, query->question.name)};
  self->finish(*query, std::move(answer));
}

void AresResolver::on_ares_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
  auto* query = static_cast<Query*>(arg);
  AresResolver* self = query->owner;
  query->ares_done = true;
  if (self->destroying_ || query->answered) {
    if (info != nullptr) ares_freeaddrinfo(info);
    if (!self->destroying_) self->queries_.erase(query->id);
    return;
  }
  DnsAnswer answer = status == ARES_SUCCESS
                         ? addrinfo_answer(query->question.name, info)
                         : DnsAnswer{{}, {}, status_error(status, query->question.name)};
  if (info != nullptr) ares_freeaddrinfo(info);
  self->finish(*query, std::move(answer));
}

void AresResolver::finish(Query& query, DnsAnswer answer) {
  if (inside_query_call_) {
    // c-ares answered synchronously (e.g. a malformed name): keep the "never inside query()"
    // promise by delivering from the timer on the next loop iteration.
    query.deferred = std::move(answer);
    deferred_.push_back(query.id);
    return;
  }
  query.answered = true;
  Callback callback = std::move(query.callback);
  const QueryId id = query.id;
  if (query.ares_done) queries_.erase(id);  // `query` is gone from here on
  if (callback) callback(std::move(answer));
}

void AresResolver::deliver_deferred() {
  std::vector<QueryId> ready;
  ready.swap(deferred_);
  for (QueryId id : ready) {
    auto it = queries_.find(id);
    if (it == queries_.end() || it->second->answered || !it->second->deferred) continue;
    DnsAnswer answer = std::move(*it->second->deferred);
    it->second->deferred.reset();
    finish(*it->second, std::move(answer));
  }
}

void AresResolver::on_sock_state(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<AresResolver*>(data);
  auto it = self->polls_.find(fd);
  if (!readable && !writable) {
    if (it != self->polls_.end()) {
      it->second->close();
      self->polls_.erase(it);
    }
    return;
  }
  if (self->destroying_) return;
  SocketPoll* poll = nullptr;
  if (it == self->polls_.end()) {
    poll = new SocketPoll;
    poll->owner = self;
    poll->fd = fd;
    poll->handle.data = poll;
    if (uv_poll_init_socket(self->loop_, &poll->handle, fd) != 0) {
      delete poll;  // never initialised: nothing for libuv to close
      return;       // c-ares will time the query out
    }
    self->polls_.emplace(fd, poll);
  } else {
    poll = it->second;
  }
  const int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(&poll->handle, events, [](uv_poll_t* handle, int status, int ev) {
    auto* p = static_cast<SocketPoll*>(handle->data);
    if (p->owner != nullptr) p->owner->on_socket_event(p->fd, status, ev);
  });
}

void AresResolver::on_socket_event(int fd, int status, int events) {
  // On a poll error let c-ares try both directions: it notices the failure and retries elsewhere.
  const bool read = status < 0 || (events & UV_READABLE);
  const bool write = status < 0 || (events & UV_WRITABLE);
  ares_process_fd(channel_, read ? fd : ARES_SOCKET_BAD, write ? fd : ARES_SOCKET_BAD);
  expire_deadlines();
  reschedule();
}

void AresResolver::on_timer() {
  deliver_deferred();
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // c-ares retries and timeouts
  expire_deadlines();
  reschedule();
}

void AresResolver::expire_deadlines() {
  const std::uint64_t now = uv_now(loop_);
  std::vector<QueryId> expired;
  for (const auto& [id, query] : queries_) {
    if (!query->answered && !query->deferred && query->deadline_ms <= now) expired.push_back(id);
  }
  for (QueryId id : expired) {
    auto it = queries_.find(id);
    if (it == queries_.end() || it->second->answered) continue;
    DnsAnswer answer;
    answer.error = make_error("timeout", it->second->question.name + ": no answer within " +
                                             std::to_string(options_.query_timeout_ms) + " ms");
    finish(*it->second, std::move(answer));
  }
}

void AresResolver::reschedule() {
  if (timer_ == nullptr || destroying_) return;
  std::uint64_t wait_ms = UINT64_MAX;
  if (!deferred_.empty()) wait_ms = 0;
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) != nullptr) {
    wait_ms = std::min<std::uint64_t>(wait_ms, static_cast<std::uint64_t>(tv.tv_sec) * 1000 +
                                                   static_cast<std::uint64_t>(tv.tv_usec) / 1000);
  }
  const std::uint64_t now = uv_now(loop_);
  for (const auto& [id, query] : queries_) {
    if (query->answered) continue;
    wait_ms = std::min(wait_ms, query->deadline_ms > now ? query->deadline_ms - now : 0);
  }
  if (wait_ms == UINT64_MAX) {
    uv_timer_stop(&timer_->handle);
    return;
  }
  uv_timer_start(
      &timer_->handle,
      [](uv_timer_t* handle) {
        auto* t = static_cast<Timer*>(handle->data);
        if (t->owner != nullptr) t->owner->on_timer();
      },
      wait_ms, 0);
}

}  // namespace bordergate::discovery
