// Test driver for the single-flight integration test
// (tests/integration/test_keys_single_flight.py): builds the gateway's real Federation from a
// config file, runs W worker loops with their WorkerFederation, and fires N concurrent
// ServerKeyStore::get_key calls for one server spread over the workers. Prints one JSON line with
// the outcome and the store's counters. Not part of the production binary.
#include <uv.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/config/config_loader.h"
#include "gateway/proxy/federation.h"

using namespace bordergate;

namespace {

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: flight_probe CONFIG SERVER KEY_ID REQUESTS WORKERS\n");
    return 2;
  }
  auto loaded = load_config_file(argv[1]);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  const std::string server = argv[2];
  const std::string key_id = argv[3];
  const int requests = std::atoi(argv[4]);
  const int workers = std::atoi(argv[5]);
  auto federation = Federation::create(*loaded.config);
  if (!federation) {
    std::fprintf(stderr, "%s\n", federation.error().message.c_str());
    return 2;
  }

  std::mutex mutex;
  std::map<std::string, int> outcomes;
  std::atomic<int> answered{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      uv_loop_t loop;
      uv_loop_init(&loop);
      {
        auto wf = WorkerFederation::create(**federation, &loop);
        if (!wf) {
          std::fprintf(stderr, "%s\n", wf.error().message.c_str());
          std::exit(2);
        }
        const int mine = requests / workers + (w < requests % workers ? 1 : 0);
        int done_here = 0;
        ++ready;
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < mine; ++i) {
          (*wf)->key_store().get_key(server, key_id, wall_ms(), (*wf)->mailbox(),
                                     [&](Result<matrix::VerifyKey> key) {
                                       std::lock_guard<std::mutex> lock(mutex);
                                       ++outcomes[key ? "ok" : key.error().code];
                                       ++done_here;
                                       ++answered;
                                     });
        }
        while (done_here < mine) uv_run(&loop, UV_RUN_ONCE);
      }
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_loop_close(&loop);
    });
  }
  while (ready.load() < workers) std::this_thread::yield();
  go = true;
  for (auto& t : threads) t.join();
  const auto& m = (*federation)->key_store().metrics();
  std::string out = "{\"answered\":" + std::to_string(answered.load()) + ",\"outcomes\":{";
  bool first = true;
  for (const auto& [k, v] : outcomes) {
    out += (first ? "\"" : ",\"") + k + "\":" + std::to_string(v);
    first = false;
  }
  out += "},\"fetches_started\":" + std::to_string(m.fetches_started.load()) +
         ",\"single_flight_joins\":" + std::to_string(m.single_flight_joins.load()) + "}";
  std::printf("%s\n", out.c_str());
  return 0;
}
