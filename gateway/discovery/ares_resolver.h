// Asynchronous DNS over c-ares on a libuv loop: A, AAAA and SRV queries with a hard per-query
// deadline, answers delivered as DnsAnswer values on the loop thread. A and AAAA consult the
// hosts file before DNS, as getaddrinfo does; SRV is DNS only. One resolver per worker loop; it
// is not thread-safe (like the loop itself).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/discovery/dns.h"

struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;
struct ares_channeldata;
struct ares_addrinfo;

namespace bordergate::discovery {

struct ResolverOptions {
  // "127.0.0.1:5353", "[::1]:53", "192.0.2.53" (port 53). Empty: the system's /etc/resolv.conf.
  std::vector<std::string> servers;
  int attempt_timeout_ms = 2000;  // c-ares per-try timeout
  int tries = 2;                  // c-ares tries per server
  int query_timeout_ms =
      5000;  // hard deadline: the answer is "timeout" after this, whatever c-ares does
};

class AresResolver {
 public:
  using Callback = std::function<void(DnsAnswer)>;
  using QueryId = std::uint64_t;

  // Error codes: "invalid_resolver" (bad server list), "dns_init_failed".
  static Result<std::unique_ptr<AresResolver>> create(uv_loop_t* loop,
                                                      const ResolverOptions& options);
  // Outstanding queries are dropped without calling their callbacks. Must not run inside one of
  // this resolver's callbacks. The loop must run afterwards so the handles finish closing.
  ~AresResolver();
  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;

  // The callback runs exactly once on the loop thread (never inside query()), unless cancel()ed
  // or the resolver is destroyed first. Names are queried as given: no search domains, no
  // HOSTALIASES. A/AAAA: an entry of that family in the hosts file (/etc/hosts, or the file
  // named by c-ares' CARES_HOSTS) answers; otherwise DNS does.
  QueryId query(DnsQuestion question, Callback callback);
  void cancel(QueryId id);
  std::size_t pending() const;

 private:
  struct Query;
  struct SocketPoll;
  struct Timer;

  AresResolver(uv_loop_t* loop, const ResolverOptions& options);
  static void on_sock_state(void* data, int fd, int readable, int writable);
  static void on_ares_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void on_ares_addrinfo(void* arg, int status, int timeouts, ares_addrinfo* info);
  void on_socket_event(int fd, int status, int events);
  void on_timer();
  void reschedule();
  void expire_deadlines();
  void deliver_deferred();
  void finish(Query& query, DnsAnswer answer);

  uv_loop_t* loop_;
  ResolverOptions options_;
  ares_channeldata* channel_ = nullptr;
  Timer* timer_ = nullptr;            // freed by its close callback
  std::map<int, SocketPoll*> polls_;  // each freed by its close callback
  std::map<QueryId, std::unique_ptr<Query>> queries_;
  std::vector<QueryId> deferred_;  // answered inside ares_query(): delivered from the loop
  QueryId next_id_ = 1;
  bool inside_query_call_ = false;
  bool destroying_ = false;
};

}  // namespace bordergate::discovery
