// Test helper: a dnsmasq child serving fixed records on a free loopback port, plus a libuv loop
// runner. Tests using it query nothing but 127.0.0.1.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bordergate::discovery::testing {

class Dnsmasq {
 public:
  // Records are dnsmasq options ("--host-record=a.bg.test,127.0.0.1", "--srv-host=...").
  // Everything under bg.test is answered locally (NXDOMAIN when unknown); nothing is forwarded.
  // Returns nullptr when /usr/sbin/dnsmasq is missing or does not come up.
  static std::unique_ptr<Dnsmasq> start(const std::vector<std::string>& records);
  ~Dnsmasq();
  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  static bool available();

 private:
  Dnsmasq() = default;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs the loop until done() or the timeout (generous: asan builds are slow). Returns done().
bool run_until(uv_loop_t* loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Closes every handle still open and the loop itself; returns uv_loop_close's result.
int drain_and_close(uv_loop_t* loop);

// A UDP socket on 127.0.0.1 that never answers (for timeout tests). Returns fd and port.
struct SilentUdp {
  SilentUdp();
  ~SilentUdp();
  int fd = -1;
  int port = 0;
};

}  // namespace bordergate::discovery::testing
