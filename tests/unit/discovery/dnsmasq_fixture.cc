#include "tests/unit/discovery/dnsmasq_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "gateway/discovery/ares_resolver.h"

extern char** environ;

namespace bordergate::discovery::testing {
namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

// A port free for both UDP and TCP on 127.0.0.1 right now (dnsmasq binds both).
int free_port() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(udp);
      continue;
    }
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    const int ok = bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    close(tcp);
    close(udp);
    if (ok == 0) return ntohs(addr.sin_port);
  }
  return 0;
}

// Asks dnsmasq for the readiness record through the resolver under test.
bool answers(int port) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  bool ok = false;
  {
    ResolverOptions options;
    options.servers = {"127.0.0.1:" + std::to_string(port)};
    options.attempt_timeout_ms = 200;
    options.tries = 1;
    options.query_timeout_ms = 500;
    auto resolver = AresResolver::create(&loop, options);
    if (resolver.ok()) {
      bool done = false;
      (*resolver)->query({"ready.bg.test", DnsType::kA}, [&](DnsAnswer answer) {
        ok = !answer.error;
        done = true;
      });
      run_until(&loop, [&] { return done; }, std::chrono::seconds(5));
    }
  }
  drain_and_close(&loop);
  return ok;
}

}  // namespace

bool Dnsmasq::available() { return access(kDnsmasq, X_OK) == 0; }

std::unique_ptr<Dnsmasq> Dnsmasq::start(const std::vector<std::string>& records) {
  if (!available()) return nullptr;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = free_port();
    if (port == 0) continue;
    std::vector<std::string> args = {
        kDnsmasq, "--keep-in-foreground", "--port=" + std::to_string(port),
        "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
        "--conf-file=/dev/null", "--pid-file=", "--local=/bg.test/", "--no-negcache",
        "--cache-size=0", "--log-facility=/dev/null", "--host-record=ready.bg.test,127.0.0.1"};
    args.insert(args.end(), records.begin(), records.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, kDnsmasq, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return nullptr;

    std::unique_ptr<Dnsmasq> server(new Dnsmasq);
    server->pid_ = pid;
    server->port_ = port;
    for (int i = 0; i < 50; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {  // exited: port taken in between, retry
        server->pid_ = -1;
        break;
      }
      if (answers(port)) return server;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return nullptr;
}

Dnsmasq::~Dnsmasq() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool run_until(uv_loop_t* loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (uv_run(loop, UV_RUN_ONCE) == 0 && !done()) {
      // Nothing keeps the loop alive: waiting longer cannot help.
      break;
    }
  }
  return done();
}

int drain_and_close(uv_loop_t* loop) {
  uv_walk(
      loop,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop);
}

SilentUdp::SilentUdp() {
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
}

SilentUdp::~SilentUdp() {
  if (fd >= 0) close(fd);
}

}  // namespace bordergate::discovery::testing
